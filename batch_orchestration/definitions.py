"""The Dagster code location: assets, checks, jobs, schedule, sensors and resources."""

from __future__ import annotations

import dagster as dg

from batch_orchestration.orchestration.assets import build_entity_assets, build_entity_checks
from batch_orchestration.orchestration.jobs import MIGRATION_JOB, jobs_and_schedule
from batch_orchestration.orchestration.partitions import daily_partitions
from batch_orchestration.orchestration.resources import (
    BigLedgerResource,
    LandingZoneResource,
    PipelineSettingsResource,
    WarehouseResource,
)
from batch_orchestration.orchestration.sensors import build_landing_sensor
from batch_orchestration.orchestration.settings import Settings

BIGLEDGER_KEY_VARIABLE = "BIGLEDGER_API_KEY"  # read by EnvVar, and named (never its value) in errors


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(url=settings.warehouse_url),
        "landing": LandingZoneResource(
            kind=settings.landing_kind,
            root=settings.landing_root,
            s3_bucket=settings.s3_bucket,
            s3_prefix=settings.s3_prefix,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
        ),
        "target": BigLedgerResource(
            base_url=settings.target_base_url,
            company_id=settings.target_company_id,
            api_key=dg.EnvVar(BIGLEDGER_KEY_VARIABLE),
            api_key_variable=BIGLEDGER_KEY_VARIABLE,
            rate_window_seconds=settings.rate_window_seconds,
            rate_state_path=str(settings.home / "rate_limits.sqlite"),
        ),
        "settings": PipelineSettingsResource(max_reject_rate=settings.max_reject_rate),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = daily_partitions(settings.start_date, settings.timezone)
    pipeline = dg.Definitions(
        assets=build_entity_assets(partitions),
        asset_checks=build_entity_checks(partitions),
        sensors=[
            build_landing_sensor("local_landing_sensor", "local", MIGRATION_JOB, partitions),
            build_landing_sensor("s3_landing_sensor", "s3", MIGRATION_JOB, partitions),
        ],
        resources=build_resources(settings),
    )
    return dg.Definitions.merge(pipeline, jobs_and_schedule(partitions))


defs = build_definitions(Settings.from_env())

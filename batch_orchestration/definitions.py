"""The Dagster code location: assets, checks, jobs, schedule, sensors and resources."""

from __future__ import annotations

import dagster as dg

from batch_orchestration.orchestration.assets import build_entity_assets, build_entity_checks
from batch_orchestration.orchestration.executors import executor_for
from batch_orchestration.orchestration.failure_sensor import run_failure_alert
from batch_orchestration.orchestration.jobs import MIGRATION_JOB, jobs_and_schedule
from batch_orchestration.orchestration.partitions import daily_partitions
from batch_orchestration.orchestration.plan_job import build_plan_job
from batch_orchestration.orchestration.resources import (
    LandingZoneResource,
    PipelineSettingsResource,
    WarehouseResource,
)
from batch_orchestration.orchestration.sensors import build_landing_sensor
from batch_orchestration.orchestration.settings import Settings
from batch_orchestration.targets.routing import Routing
from batch_orchestration.targets.systems import SYSTEMS, SharedState
from batch_orchestration.validate.changes import check_sync_modes


def build_resources(settings: Settings, routing: Routing) -> dict[str, dg.ConfigurableResource]:
    """Each setting read from a variable is passed on as that variable (``Settings.for_resource``)."""
    warehouse_url = settings.for_resource("warehouse_url")
    state = SharedState.of(settings.home, settings.warehouse_url, configured_as=warehouse_url)
    targets = {route.resource_key: SYSTEMS[route.config.system].resource(route, state) for route in routing.routes()}
    return {
        "warehouse": WarehouseResource(url=warehouse_url, deployment=settings.deployment_name),
        "landing": LandingZoneResource(
            kind=settings.for_resource("landing_kind"),
            root=settings.for_resource("landing_root"),
            s3_bucket=settings.for_resource("s3_bucket"),
            s3_prefix=settings.for_resource("s3_prefix"),
            s3_endpoint_url=settings.for_resource("s3_endpoint_url"),
            s3_region=settings.for_resource("s3_region"),
        ),
        **targets,
        "settings": PipelineSettingsResource(max_reject_rate=settings.max_reject_rate,
                                             max_delete_share=settings.max_delete_share),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    check_sync_modes()
    partitions = daily_partitions(settings.start_date, settings.timezone, settings.last_day)
    routing = settings.routing()
    pipeline = dg.Definitions(
        assets=build_entity_assets(partitions, routing),
        asset_checks=build_entity_checks(partitions, routing),
        sensors=[
            build_landing_sensor("local_landing_sensor", "local", MIGRATION_JOB, partitions),
            build_landing_sensor("s3_landing_sensor", "s3", MIGRATION_JOB, partitions),
            run_failure_alert,
        ],
        resources=build_resources(settings, routing),
        executor=executor_for(settings.executor),
        jobs=[build_plan_job(partitions, routing),
              *(job for route in routing.routes() for job in SYSTEMS[route.config.system].operator_jobs(route))],
    )
    return dg.Definitions.merge(pipeline, jobs_and_schedule(partitions))


def definitions_from_environment() -> dg.Definitions:
    """The definitions as the environment configures them (what a child process of a run builds again)."""
    return build_definitions(Settings.from_env())


defs = definitions_from_environment()

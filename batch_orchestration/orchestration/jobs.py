"""Jobs and the nightly schedule."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

PIPELINE_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.groups("landing_zone")


def migration_job(partitions: dg.PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "migration_job",
        selection=PIPELINE_ASSETS,
        partitions_def=partitions,
        description="Stage, validate and load every entity for one day; backfill it over the export's dates.",
    )


def daily_sync_job(partitions: dg.PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "daily_sync_job",
        selection=PIPELINE_ASSETS,
        partitions_def=partitions,
        # Run-level retries (dagster.yaml enables run_retries) for a run that dies outright.
        tags={"dagster/max_retries": "2", "dagster/retry_strategy": "FROM_FAILURE"},
        description="The nightly sync: yesterday's exports, applied after everything before them.",
    )


def nightly_schedule(job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    # At 02:00 (in the partitions' timezone) the schedule runs the partition of the day that just ended.
    return dg.build_schedule_from_partitioned_job(
        job, name="nightly_sync", hour_of_day=2, minute_of_hour=0,
        description="Daily sync of yesterday's exports at 02:00.",
    )

"""Jobs and the nightly schedule.

They are handed over as a ``Definitions`` to merge, and referred to elsewhere by name: the class of
an asset job is not part of Dagster's public API, so nothing outside this module needs to name it.
"""

from __future__ import annotations

import dagster as dg

PIPELINE_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.groups("landing_zone")
MIGRATION_JOB = "migration_job"
DAILY_SYNC_JOB = "daily_sync_job"


def jobs_and_schedule(partitions: dg.PartitionsDefinition) -> dg.Definitions:
    """``migration_job``, ``daily_sync_job`` and the ``nightly_sync`` schedule of the latter."""
    migration = dg.define_asset_job(
        MIGRATION_JOB,
        selection=PIPELINE_ASSETS,
        partitions_def=partitions,
        description="Stage, validate and load every entity for one day; backfill it over the export's dates.",
    )
    sync = dg.define_asset_job(
        DAILY_SYNC_JOB,
        selection=PIPELINE_ASSETS,
        partitions_def=partitions,
        # Run-level retries (dagster.yaml enables run_retries) for a run that dies outright.
        tags={"dagster/max_retries": "2", "dagster/retry_strategy": "FROM_FAILURE"},
        description="The nightly sync: yesterday's exports, applied after everything before them.",
    )
    # At 02:00 (in the partitions' timezone) the schedule runs the partition of the day that just ended.
    nightly = dg.build_schedule_from_partitioned_job(
        sync, name="nightly_sync", hour_of_day=2, minute_of_hour=0,
        description="Daily sync of yesterday's exports at 02:00.",
    )
    return dg.Definitions(jobs=[migration, sync], schedules=[nightly])

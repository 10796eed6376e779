"""Jobs and the nightly schedule.

They are handed over as a ``Definitions`` to merge, and referred to elsewhere by name: the class of
an asset job is not part of Dagster's public API, so nothing outside this module needs to name it.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from batch_orchestration.orchestration.day_order import DAY_ORDER_TAG

PIPELINE_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.groups("landing_zone")
MIGRATION_JOB = "migration_job"
DAILY_SYNC_JOB = "daily_sync_job"
NIGHTLY_SYNC_HOUR = 2  # in the partitions' timezone: the day that ended is complete by then
# What an operator may expect of the nightly sync: the loaded assets are fresh when a load ran between the
# sync's start and this many hours after it (the loaded assets' freshness policy says so in the UI).
SYNC_DONE_WITHIN_HOURS = 4
# The pipeline's runs queue one behind the other, oldest first (the instance's run_queue limits the tag to one
# run at a time): a job backfill's days, the sensor's and the schedule's runs apply in day order.
IN_DAY_ORDER = {DAY_ORDER_TAG: "pipeline"}


def nightly_freshness(timezone: str) -> dg.FreshnessPolicy:
    """Loaded by ``NIGHTLY_SYNC_HOUR + SYNC_DONE_WITHIN_HOURS`` each day, and not before the sync started."""
    return dg.FreshnessPolicy.cron(deadline_cron=f"0 {NIGHTLY_SYNC_HOUR + SYNC_DONE_WITHIN_HOURS} * * *",
                                   lower_bound_delta=timedelta(hours=SYNC_DONE_WITHIN_HOURS), timezone=timezone)


def jobs_and_schedule(partitions: dg.PartitionsDefinition) -> dg.Definitions:
    """``migration_job``, ``daily_sync_job`` and the ``nightly_sync`` schedule of the latter."""
    migration = dg.define_asset_job(
        MIGRATION_JOB,
        selection=PIPELINE_ASSETS,
        partitions_def=partitions,
        tags=IN_DAY_ORDER,
        description="Stage, validate and load every entity for one day; backfill it over the export's dates.",
    )
    sync = dg.define_asset_job(
        DAILY_SYNC_JOB,
        selection=PIPELINE_ASSETS,
        partitions_def=partitions,
        # Run-level retries (dagster.yaml enables run_retries) for a run that dies outright.
        tags={**IN_DAY_ORDER, "dagster/max_retries": "2", "dagster/retry_strategy": "FROM_FAILURE"},
        description="The nightly sync: yesterday's exports, applied after everything before them.",
    )
    # At 02:00 (in the partitions' timezone) the schedule runs the partition of the day that just ended.
    nightly = dg.build_schedule_from_partitioned_job(
        sync, name="nightly_sync", hour_of_day=NIGHTLY_SYNC_HOUR, minute_of_hour=0,
        description="Daily sync of yesterday's exports at 02:00.",
    )
    return dg.Definitions(jobs=[migration, sync], schedules=[nightly])

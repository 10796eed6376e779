"""Day order, whoever launched the run: a day's validation or load starts only once the day before is settled.

The partition mappings (``PREVIOUS_DAY``) order an asset backfill; the run queue's limit on
``DAY_ORDER_TAG`` (instance/dagster.yaml) runs a job backfill's days one at a time, oldest first. This
guard is what holds when neither applies (a day launched by hand while the day before is still running,
a job backfill whose day before failed): the step fails at once, before it reads or sends anything,
and says which run to look at. A day before that was never attempted does not hold a day back: a
migration may begin on any day of the partitions.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from batch_orchestration.orchestration.partitions import PARTITION_TAG

# Runs carrying this tag start one at a time, in the order they were queued (the instance's run queue).
DAY_ORDER_TAG = "batch_orchestration/day_order"


def previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


# A run in one of these states, planned to materialize the asset, has not settled it (yet, or ever).
UNSETTLED = {
    dg.DagsterRunStatus.QUEUED: "is still to run", dg.DagsterRunStatus.NOT_STARTED: "is still to run",
    dg.DagsterRunStatus.STARTING: "is still in progress", dg.DagsterRunStatus.STARTED: "is still in progress",
    dg.DagsterRunStatus.CANCELING: "is being canceled", dg.DagsterRunStatus.CANCELED: "was canceled",
    dg.DagsterRunStatus.FAILURE: "failed",
}


def _unsettled_attempt(instance: dg.DagsterInstance, key: dg.AssetKey, day: str) -> dg.DagsterRun | None:
    """The newest run created since ``key``'s latest materialization of ``day`` that was to materialize it
    and has not (queued, running, failed or canceled); None when the day is settled or was never attempted.

    One indexed query in the common case (no such run of that day), where Dagster's partition status would
    rebuild its cache (150 ms and more) and knows nothing of canceled runs."""
    attempts = instance.get_run_records(filters=dg.RunsFilter(statuses=list(UNSETTLED), tags={PARTITION_TAG: day}))
    if not attempts:
        return None
    latest = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1)
    since = latest.records[0].timestamp if latest.records else 0.0
    for record in attempts:  # newest first
        if record.create_timestamp.timestamp() <= since:
            break
        planned = instance.get_records_for_run(record.dagster_run.run_id,
                                               of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
        if any(event.asset_key == key for event in planned):
            return record.dagster_run
    return None


def require_previous_day_settled(context: dg.AssetExecutionContext, key: dg.AssetKey) -> None:
    """Fail this step (without retries) when a run that was to materialize ``key``'s previous day has not:
    it is queued or running, or it failed or was canceled, and nothing has materialized that day since."""
    partitions = context.assets_def.partitions_def
    before = previous_day(context.partition_key)
    if partitions is None or not partitions.has_partition_key(before):
        return
    attempt = _unsettled_attempt(context.instance, key, before)
    if attempt is None:
        return
    raise dg.Failure(
        description=(f"{key.to_user_string()} {context.partition_key} waits for its previous day: {before} "
                     f"{UNSETTLED[attempt.status]} in run {attempt.run_id} and has not been materialized since. "
                     f"Materialize {before} first, then this day."),
        allow_retries=False,
    )

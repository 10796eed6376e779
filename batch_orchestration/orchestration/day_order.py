"""Day order, whoever launched the run: a day's validation or load starts only once the day before is settled.

The partition mappings (``PREVIOUS_DAY``) order an asset backfill; the run queue's limit on
``DAY_ORDER_TAG`` (instance/dagster.yaml) runs a job backfill's days one at a time, oldest first. This
guard is what holds when neither applies (a day launched by hand while the day before is still running,
a job backfill whose day before failed): the step fails at once, before it reads or sends anything,
and says which run to look at. A day before that was never attempted does not hold a day back: a
migration may begin on any day of the partitions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from batch_orchestration.orchestration.partitions import PARTITION_TAG

# Runs carrying this tag start one at a time, in the order they were queued (the instance's run queue).
DAY_ORDER_TAG = "batch_orchestration/day_order"


def previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _canceled_since_materialized(instance: dg.DagsterInstance, key: dg.AssetKey, day: str) -> dg.DagsterRun | None:
    """The newest canceled run that was to materialize ``key`` for ``day`` after its latest materialization
    (the partition status knows failed runs only)."""
    latest = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1)
    since = datetime.fromtimestamp(latest.records[0].timestamp, UTC) if latest.records else None
    canceled = dg.RunsFilter(statuses=[dg.DagsterRunStatus.CANCELED], tags={PARTITION_TAG: day}, created_after=since)
    for record in instance.get_run_records(filters=canceled):
        planned = instance.get_records_for_run(record.dagster_run.run_id,
                                               of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
        if any(event.asset_key == key for event in planned):
            return record.dagster_run
    return None


def require_previous_day_settled(context: dg.AssetExecutionContext, key: dg.AssetKey) -> None:
    """Fail this step (without retries) when ``key``'s previous day is running, or its latest attempt failed
    or was canceled."""
    partitions = context.assets_def.partitions_def
    before = previous_day(context.partition_key)
    if partitions is None or not partitions.has_partition_key(before):
        return
    status = (context.instance.get_status_by_partition(key, [before], partitions) or {}).get(before)
    if status == dg.AssetPartitionStatus.IN_PROGRESS:
        reason = "is still in progress"
    elif status == dg.AssetPartitionStatus.FAILED:
        reason = "failed in its latest run and has not been materialized since"
    elif canceled := _canceled_since_materialized(context.instance, key, before):
        reason = f"was canceled in run {canceled.run_id} and has not been materialized since"
    else:
        return
    raise dg.Failure(
        description=(f"{key.to_user_string()} {context.partition_key} waits for its previous day: "
                     f"{before} {reason}. Materialize {before} first, then this day."),
        allow_retries=False,
    )

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

# Runs carrying this tag start one at a time, in the order they were queued (the instance's run queue).
DAY_ORDER_TAG = "batch_orchestration/day_order"


def previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def require_previous_day_settled(context: dg.AssetExecutionContext, key: dg.AssetKey) -> None:
    """Fail this step (without retries) when ``key``'s previous day is running or its latest attempt failed."""
    partitions = context.assets_def.partitions_def
    before = previous_day(context.partition_key)
    if partitions is None or not partitions.has_partition_key(before):
        return
    status = (context.instance.get_status_by_partition(key, [before], partitions) or {}).get(before)
    if status == dg.AssetPartitionStatus.IN_PROGRESS:
        reason = "is still in progress"
    elif status == dg.AssetPartitionStatus.FAILED:
        reason = "failed in its latest run and has not been materialized since"
    else:
        return
    raise dg.Failure(
        description=(f"{key.to_user_string()} {context.partition_key} waits for its previous day: "
                     f"{before} {reason}. Materialize {before} first, then this day."),
        allow_retries=False,
    )

"""Daily partitions: the date folder of the landing zone is the partition key."""

from __future__ import annotations

import dagster as dg

# Each day's load waits for the previous day's load of the same entity: a ledger needs order.
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


def daily_partitions(start_date: str, timezone: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start_date, timezone=timezone)

"""Daily partitions: the date folder of the landing zone is the partition key."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

# The tag of a run of one day: its partition key.
PARTITION_TAG = "dagster/partition"
# Each day's validation and load wait for the same entity's previous day: a ledger needs order.
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


def daily_partitions(start_date: str, timezone: str, last_day: str = "") -> dg.DailyPartitionsDefinition:
    """From the export's first day to ``last_day`` (inclusive), or to the day that ended when it is empty:
    an export that goes on (the nightly sync) has no last day, a finished one (the demo's) shows only its days."""
    end = (date.fromisoformat(last_day) + timedelta(days=1)).isoformat() if last_day else None
    return dg.DailyPartitionsDefinition(start_date=start_date, end_date=end, timezone=timezone)

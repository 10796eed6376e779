"""Rejected records: every record that is not loaded has a row here, with the stage, code and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import pandas as pd

REJECT_STAGES = ("staging", "validation", "set_rule", "load")

REJECTS_DDL = """
CREATE TABLE IF NOT EXISTS rejects (
    entity TEXT NOT NULL,
    partition_day TEXT NOT NULL,
    source_file TEXT,
    source_row BIGINT,
    source_key TEXT,
    stage TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    rejected_at TIMESTAMP NOT NULL
)
"""


@dataclass(frozen=True)
class RejectRecord:
    """One rejected record, or a whole rejected file (then ``source_row`` is None)."""

    entity: str
    partition_day: str
    source_file: str | None
    source_row: int | None
    source_key: str | None
    stage: str
    code: str
    message: str
    rejected_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    def __post_init__(self) -> None:
        if self.stage not in REJECT_STAGES:
            raise ValueError(f"unknown reject stage {self.stage!r}")


def rejects_frame(rejects: list[RejectRecord]) -> pd.DataFrame:
    columns = list(RejectRecord.__dataclass_fields__)
    return pd.DataFrame([asdict(r) for r in rejects], columns=columns)

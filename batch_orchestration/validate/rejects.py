"""Rejected records: every record that is not loaded has a row here, with the stage, code and why.

This module is the one owner of the ``rejects`` table's rows (its DDL is in ``warehouse/schema.py``):
each stage replaces its own rejects of an entity and day, so a re-run never doubles them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

import pandas as pd

from batch_orchestration.validate.codes import reject_code
from batch_orchestration.warehouse import Warehouse, WarehouseSession

REJECT_STAGES = ("staging", "validation", "set_rule", "load")


@dataclass(frozen=True)
class RejectRecord:
    """One rejected record, or a whole rejected file (then ``source_row`` is None).

    A load reject names the ``target`` that refused it (the same record may load into another);
    the rejects of the other stages are the source's and name none. A record the target itself
    refused keeps the ``payload_hash`` of what was sent, so the same payload is not sent again.
    """

    entity: str
    partition_day: str
    source_file: str | None
    source_row: int | None
    source_key: str | None
    stage: str
    code: str
    message: str
    target: str | None = None
    payload_hash: str | None = None
    rejected_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    def __post_init__(self) -> None:
        if self.stage not in REJECT_STAGES:
            raise ValueError(f"unknown reject stage {self.stage!r}")
        if (self.stage == "load") != (self.target is not None):
            raise ValueError(f"a {self.stage} reject {'needs' if self.stage == 'load' else 'names no'} target")
        if self.stage != "load":  # load rejects may carry the target's own codes
            reject_code(self.code)


_COLUMNS = [f.name for f in fields(RejectRecord)]


def _frame(rejects: list[RejectRecord]) -> pd.DataFrame:
    """Attribute by attribute: ``asdict`` deep-copies each record, which costs seconds on a day of many rejects."""
    return pd.DataFrame([[getattr(r, name) for name in _COLUMNS] for r in rejects], columns=_COLUMNS)


def _of_stages(stages: tuple[str, ...]) -> str:
    return f"entity = ? AND partition_day = ? AND stage IN ({', '.join('?' for _ in stages)})"


def replace_rejects(session: WarehouseSession, entity: str, day: str, stages: tuple[str, ...],
                    rejects: list[RejectRecord]) -> None:
    """The rejects of ``stages`` for the entity and day become exactly ``rejects``."""
    clear_rejects(session, entity, day, stages)
    append_rejects(session, rejects)


def clear_rejects(session: WarehouseSession, entity: str, day: str, stages: tuple[str, ...]) -> None:
    """Forget the rejects of ``stages`` for the entity and day, before a stage writes them anew as it goes."""
    session.execute(f"DELETE FROM rejects WHERE {_of_stages(stages)}", (entity, day, *stages))


def append_rejects(session: WarehouseSession, rejects: list[RejectRecord]) -> None:
    if rejects:
        session.append_df("rejects", _frame(rejects))


@dataclass(frozen=True)
class RejectTally:
    """Rejects counted by code; the records themselves are in the ``rejects`` table, written as they were found
    (a large day's would not fit in memory)."""

    by_code: dict[str, int]
    rows: int  # rows rejected, once each: a row may break several set rules

    @property
    def total(self) -> int:
        return sum(self.by_code.values())


def tally_rejects(session: WarehouseSession, entity: str, day: str, stages: tuple[str, ...]) -> RejectTally:
    """What ``stages`` rejected of the entity on ``day``."""
    where, params = _of_stages(stages), (entity, day, *stages)
    by_code = session.fetch_all(f"SELECT code, COUNT(*) FROM rejects WHERE {where} GROUP BY code ORDER BY code",
                                params)
    ((rows,),) = session.fetch_all(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT source_file, source_row FROM rejects WHERE {where}) AS r", params)
    return RejectTally({code: int(count) for code, count in by_code}, int(rows))


def clear_load_rejects(session: WarehouseSession, target: str, entity: str, day: str) -> None:
    """Forget what ``target`` refused of the entity on ``day``: a new load of the day states it anew."""
    session.execute("DELETE FROM rejects WHERE stage = 'load' AND target = ? AND entity = ? AND partition_day = ?",
                    (target, entity, day))


def load_reject_reasons(session: WarehouseSession, target: str, entity: str,
                        day: str | None = None) -> dict[str, str]:
    """``source_key -> "CODE: message"`` of what ``target`` refused of the entity: on ``day``, or the
    latest of any day."""
    on_day = " AND partition_day = ?" if day is not None else ""
    rows = session.fetch_all(
        "SELECT source_key, code || ': ' || message FROM rejects WHERE stage = 'load' AND target = ? "
        f"AND entity = ? AND source_key IS NOT NULL{on_day} ORDER BY partition_day, rejected_at",
        (target, entity, *([day] if day is not None else [])),
    )
    return dict(rows)


@dataclass(frozen=True)
class Refusal:
    payload_hash: str
    code: str
    message: str


def refused_payloads(session: WarehouseSession, target: str, entity: str) -> dict[str, Refusal]:
    """``source_key -> Refusal``: the latest payload ``target`` itself refused of each record of the entity."""
    rows = session.fetch_all(
        "SELECT source_key, payload_hash, code, message FROM rejects WHERE stage = 'load' AND target = ? "
        "AND entity = ? AND payload_hash IS NOT NULL ORDER BY partition_day, rejected_at", (target, entity))
    return {key: Refusal(payload, code, message) for key, payload, code, message in rows}


def reject_sample(warehouse: Warehouse, entity: str, day: str, limit: int = 10) -> pd.DataFrame:
    with warehouse.session() as session:
        return session.fetch_df(
            "SELECT source_file, source_row, source_key, stage, code, message FROM rejects "
            "WHERE entity = ? AND partition_day = ? ORDER BY stage, source_file, source_row LIMIT ?",
            (entity, day, limit),
        )

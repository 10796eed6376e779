"""A record's history (``batch-orchestration trace``): the source rows it came from, what validation and the
targets did with it, and each version a target took, from a source key or a target id.

It reads the validated rows (one per day the record was in an export), the rejects, the ID map (what
each target holds now) and ``load_history`` (every version a target took, never overwritten).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.warehouse import Warehouse
from batch_orchestration.warehouse.backend import quote_identifier
from batch_orchestration.warehouse.schema import validated_table

Row = dict[str, Any]


@dataclass
class Trace:
    entity: str
    source_keys: list[str]  # the keys the needle named: itself, or those a target id was given to
    rows: list[Row] = field(default_factory=list)  # validated rows: day, file, row, content hash
    rejects: list[Row] = field(default_factory=list)  # day, stage, target, code, message
    versions: list[Row] = field(default_factory=list)  # each version a target took, oldest first
    held: list[Row] = field(default_factory=list)  # the ID map now: target, target id, day

    @property
    def found(self) -> bool:
        return bool(self.rows or self.rejects or self.versions or self.held)


def _dicts(session: Any, sql: str, params: tuple[Any, ...], columns: list[str]) -> list[Row]:
    return [dict(zip(columns, values, strict=True)) for values in session.fetch_all(sql, params)]


def trace(warehouse: Warehouse, entity: EntitySpec, needle: str) -> Trace:
    """The history of ``entity`` ``needle``: a source key, or a target id (found in the ID map or history)."""
    with warehouse.session() as session:
        by_target_id = session.fetch_all(
            "SELECT DISTINCT source_key FROM load_history WHERE entity = ? AND target_id = ? UNION "
            "SELECT DISTINCT source_key FROM id_map WHERE entity = ? AND target_id = ?",
            (entity.name, needle, entity.name, needle))
        keys = sorted(key for (key,) in by_target_id) or [needle]
        found = Trace(entity.name, keys)
        for key in keys:
            if session.table_exists(validated_table(entity.name)):
                found.rows += _dicts(
                    session, f"SELECT partition_day, source_file, source_row, content_hash FROM "
                    f"{quote_identifier(validated_table(entity.name))} WHERE source_key = ? ORDER BY partition_day",
                    (key,), ["day", "source_file", "source_row", "content_hash"])
            found.rejects += _dicts(
                session, "SELECT partition_day, stage, target, code, message, source_file, source_row FROM rejects "
                "WHERE entity = ? AND source_key = ? ORDER BY partition_day, rejected_at", (entity.name, key),
                ["day", "stage", "target", "code", "message", "source_file", "source_row"])
            found.versions += _dicts(
                session, "SELECT recorded_at, target, operation, target_id, partition_day, source_file, source_row, "
                "content_hash, payload_hash FROM load_history WHERE entity = ? AND source_key = ? "
                "ORDER BY recorded_at", (entity.name, key),
                ["recorded_at", "target", "operation", "target_id", "day", "source_file", "source_row",
                 "content_hash", "payload_hash"])
            found.held += _dicts(
                session, "SELECT target, target_id, partition_day FROM id_map WHERE entity = ? AND source_key = ? "
                "ORDER BY target", (entity.name, key), ["target", "target_id", "day"])
    return found

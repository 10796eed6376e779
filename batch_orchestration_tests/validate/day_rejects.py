"""What validation rejected of an entity on a day, read back from the ``rejects`` table (where it writes them)."""

from __future__ import annotations

from batch_orchestration.validate.rejects import RejectRecord
from batch_orchestration.warehouse import Warehouse, WarehouseSession


def day_rejects(where: Warehouse | WarehouseSession, entity: str, day: str,
                stages: tuple[str, ...] = ("validation", "set_rule")) -> list[RejectRecord]:
    """In row order; ``where`` is a warehouse, or a session still open (whose writes are not committed)."""
    if isinstance(where, Warehouse):
        with where.session() as session:
            return day_rejects(session, entity, day, stages)
    marks = ", ".join("?" for _ in stages)
    rows = where.fetch_all(
        "SELECT source_file, source_row, source_key, stage, code, message FROM rejects WHERE entity = ? "
        f"AND partition_day = ? AND stage IN ({marks}) ORDER BY source_file, source_row, stage, code",
        (entity, day, *stages))
    return [RejectRecord(entity=entity, partition_day=day, source_file=file, source_row=row, source_key=key,
                         stage=stage, code=code, message=message)
            for file, row, key, stage, code, message in rows]

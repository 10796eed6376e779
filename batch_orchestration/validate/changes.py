"""A changes export (``sync: changes``): each row says what to do with its record, as seed 000's daily sync
loop sends them: ``create``, ``update`` or ``delete`` in the column mapped to ``operation``.

Creates and updates are records like any other: validated by their entity's model, then loaded as the ID
map decides (a ``create`` of a record the target holds is an update, an ``update`` of one it does not is a
create: a replayed day changes nothing). An empty operation is the same upsert. A delete names its record
by its key alone; the other fields may be empty and are not validated. Deletes are kept apart, in
``validated_deletes``, for the loader to send where the target takes them. The last row of a key in the
day wins (exports append corrections), whether it deletes the record or not; the earlier rows of that
key are ``DUPLICATE_KEY`` rejects. An operation that is none of the three is an ``UNKNOWN_OPERATION``
reject.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.ingest.mapping import OPERATION_FIELD, OPERATIONS, ColumnMapping, MappingError, load_mapping
from batch_orchestration.validate.codes import reject_code
from batch_orchestration.validate.rejects import RejectRecord
from batch_orchestration.warehouse import WarehouseSession
from batch_orchestration.warehouse.backend import nulls_as_none

DELETE_COLUMNS = ("entity", "partition_day", "source_key", "source_file", "source_row")


def sync_mode(root: EntitySpec) -> str:
    """How ``root``'s export reads (its mapping's ``sync``). The parts of an aggregate travel in their root's
    payload, so the root's mode is theirs; a part's mapping that declares another is refused."""
    if root.parts is not None:
        part = load_mapping(root.parts.entity)
        if part.sync != "upserts":
            raise MappingError(f"{root.parts.entity} is loaded inside {root.name}: its export cannot be a "
                               f"{part.sync!r} of its own; declare sync on {root.name}'s mapping (a line that "
                               "leaves its document changes the document)")
    return load_mapping(root.name).sync


def check_sync_modes() -> None:
    """Every unit's sync mode can be read (called when the definitions are built, so a bad one fails early)."""
    for entity in ENTITIES.values():
        if entity.parts is not None:
            sync_mode(entity)


@dataclass(frozen=True)
class Changes:
    """A changes export's staged day, sorted out: the rows to validate as records, the deletes (one per
    key, the last row), and the rows refused."""

    upserts: pd.DataFrame
    deletes: pd.DataFrame  # DELETE_COLUMNS
    rejects: list[RejectRecord]


def _key(entity: EntitySpec, row: dict[str, object]) -> str | None:
    values = {name: row.get(name) for name in entity.key_fields}
    return entity.source_key(values) if all(v is not None for v in values.values()) else None


def split_changes(entity: EntitySpec, staged: pd.DataFrame, mapping: ColumnMapping) -> Changes:
    """Sort a staged day of ``entity`` by operation (the module docstring). An export that is not a changes
    one is all upserts."""
    no_deletes = pd.DataFrame(columns=list(DELETE_COLUMNS))
    if mapping.sync != "changes" or OPERATION_FIELD not in staged.columns or staged.empty:
        return Changes(staged, no_deletes, [])
    rows = nulls_as_none(staged[["partition_day", "source_file", "source_row", OPERATION_FIELD,
                                 *entity.key_fields]]).to_dict(orient="records")
    rejects: list[RejectRecord] = []
    last: dict[str, tuple[tuple[str, int], str]] = {}  # key (as compared) -> its last row, operation
    standing: list[tuple[int, str | None, str]] = []  # (position, key, operation) of the rows not refused
    for position, row in enumerate(rows):
        operation = str(row[OPERATION_FIELD] or "").lower()
        key = _key(entity, row)
        if operation and operation not in OPERATIONS:
            rejects.append(_reject(entity, row, key, "validation", "UNKNOWN_OPERATION", reject_code(
                "UNKNOWN_OPERATION").message(operation=row[OPERATION_FIELD], allowed=", ".join(OPERATIONS))))
            continue
        if operation == "delete" and key is None:
            rejects.append(_reject(entity, row, None, "validation", "REQUIRED",
                                   f"a delete names its record by its key: {'/'.join(entity.key_fields)} is empty"))
            continue
        standing.append((position, key, operation))
        if key is not None:
            compared = entity.compared_key(key)
            last[compared] = max(last.get(compared, (_where(row), operation)), (_where(row), operation))
    kept, deletes = [], []
    for position, key, operation in standing:
        row = rows[position]
        final = None if key is None else last[entity.compared_key(key)]
        if final is None or final[0] == _where(row):  # the last row of its key: it stands
            if operation == "delete":
                deletes.append((entity.name, row["partition_day"], key, row["source_file"], row["source_row"]))
            else:
                kept.append(position)
        elif operation == "delete" or final[1] == "delete":  # superseded (upserts by upserts: the set rule's)
            rejects.append(_reject(entity, row, key, "set_rule", "DUPLICATE_KEY",
                                   f"source_key {key} appears again later in the day; the last row is kept"))
        else:
            kept.append(position)
    return Changes(staged.iloc[kept].reset_index(drop=True), pd.DataFrame(deletes, columns=list(DELETE_COLUMNS)),
                   rejects)


def _where(row: dict[str, object]) -> tuple[str, int]:
    return str(row["source_file"]), int(row["source_row"])  # type: ignore[call-overload]


def _reject(entity: EntitySpec, row: dict[str, object], key: str | None, stage: str, code: str,
            message: str) -> RejectRecord:
    return RejectRecord(entity=entity.name, partition_day=str(row["partition_day"]),
                        source_file=str(row["source_file"]), source_row=int(row["source_row"]),  # type: ignore[call-overload]
                        source_key=key, stage=stage, code=code, message=message)


def replace_deletes(session: WarehouseSession, entity: str, day: str, deletes: pd.DataFrame) -> None:
    """The day's validated deletes of ``entity`` become exactly ``deletes``."""
    session.execute("DELETE FROM validated_deletes WHERE entity = ? AND partition_day = ?", (entity, day))
    if not deletes.empty:
        session.append_df("validated_deletes", deletes.astype({"source_row": "int64"}))


def read_deletes(session: WarehouseSession, entity: str, day: str) -> dict[str, tuple[str, int]]:
    """source key -> (file, row) of the day's validated deletes of ``entity``."""
    return {key: (file, int(row)) for key, file, row in session.fetch_all(
        "SELECT source_key, source_file, source_row FROM validated_deletes WHERE entity = ? AND partition_day = ?",
        (entity, day))}

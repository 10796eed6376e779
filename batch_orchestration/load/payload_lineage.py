"""Which validated fields feed which fields of a target's payload: the load step's column lineage.

Payload builders are code (``targets/<system>/bindings.py``), so the lineage is not written down a second
time: it is observed. A sample record of the day (and its parts) is built into a payload, then each field
is changed in turn and the record built again; the payload fields whose values moved come from that field.
A field empty in the record is given a value another sampled record has for it, or, empty in all, one of
its column's type. Paths name nested fields
with dots and the lines of a list with ``[]`` (``items[].quantity``). A record the binding cannot build
(a parent not in the target, a value it cannot represent) is not sampled; with none left, nothing is said.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.targets.base import Binding, TargetIds
from batch_orchestration.warehouse import Warehouse
from batch_orchestration.warehouse.backend import nulls_as_none, quote_identifier
from batch_orchestration.warehouse.schema import validated_table

Record = dict[str, Any]
Lineage = dict[str, tuple[tuple[str, str], ...]]  # payload path -> the (entity, field) it comes from


def _flatten(value: Any, path: str = "") -> dict[str, set[str]]:
    """Payload path -> the values found there (several for the lines of a list)."""
    if isinstance(value, dict):
        found: dict[str, set[str]] = {}
        for key, inner in value.items():
            for name, values in _flatten(inner, f"{path}.{key}" if path else str(key)).items():
                found.setdefault(name, set()).update(values)
        return found
    if isinstance(value, list):
        found = {}
        for inner in value:
            for name, values in _flatten(inner, f"{path}[]").items():
                found.setdefault(name, set()).update(values)
        return found
    return {path: {repr(value)}}


def _changed(value: Any) -> Any:
    """Another value of the same kind (a date stays a date, an amount a valid amount)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | Decimal):
        return value + 1
    if isinstance(value, str):
        try:
            return (date.fromisoformat(value) - timedelta(days=1)).isoformat()
        except ValueError:
            return value + "x"
    return value


def _ids_for(entities: Sequence[EntitySpec], records: Sequence[Record]) -> TargetIds:
    """A stand-in id for every key the sampled records name (and for each one changed)."""
    ids: dict[str, dict[str, str]] = {}
    for entity in entities:
        for reference in entity.references:
            for record in records:
                key = record.get(reference.field)
                if key is not None:
                    for named in (key, _changed(key)):
                        ids.setdefault(reference.entity, {})[str(named)] = f"<{reference.entity} {named}>"
    folds = frozenset(name for name in ids if ENTITIES[name].key_folds_case)
    return TargetIds(ids, folds)


def _build(binding: Binding, record: Record, parts: Sequence[Record], ids: TargetIds) -> dict[str, set[str]] | None:
    """The flattened payload, or None where the builder refuses the (probed) record. A probe is a guess (an
    item type ``servicex``, a status ``x``), so whatever a builder raises for it says only that this value
    cannot be observed: lineage is reported, never in the way of the load."""
    try:
        return _flatten(binding.payload(record, parts, ids))
    except Exception:  # any refusal of a guessed value (see the docstring)
        return None


_OF_TYPE: dict[str, Any] = {"TEXT": "x", "BIGINT": 1, "DECIMAL(18,4)": Decimal("1.00")}


def _probe(entity: EntitySpec, rows: Sequence[Record], name: str, others: Sequence[Record]) -> list[Record]:
    """``rows`` with ``name`` of the first changed (or, empty there, given another record's value, or one of
    its column's type)."""
    own = rows[0].get(name)
    if own is not None:
        return [{**rows[0], name: _changed(own)}, *rows[1:]]
    known = next((row[name] for row in others if row.get(name) is not None), _OF_TYPE[entity.sql_type(name)])
    return [{**rows[0], name: known}, *rows[1:]]


def payload_lineage(binding: Binding, root: EntitySpec,
                    samples: Sequence[tuple[Record, Sequence[Record]]]) -> Lineage:
    """The lineage of ``binding``'s payload, observed on ``samples`` (records of ``root``, each with its parts)."""
    part = ENTITIES[root.parts.entity] if root.parts else None
    records = [record for record, _ in samples]
    all_parts = [row for _, parts in samples for row in parts]
    ids = _ids_for([root, *([part] if part else [])], records + all_parts)
    built = ((record, list(parts), _build(binding, record, parts, ids)) for record, parts in samples
             if part is None or parts)
    record, parts, before = next(((r, p, b) for r, p, b in built if b is not None), (None, [], None))
    if record is None or before is None:
        return {}
    found: dict[str, set[tuple[str, str]]] = {}

    def compare(after: dict[str, set[str]] | None, entity: EntitySpec, name: str) -> None:
        for path in {*before, *(after or {})} if after is not None else ():
            if before.get(path) != after.get(path):
                found.setdefault(path, set()).add((entity.name, name))

    for name in root.fields:
        compare(_build(binding, _probe(root, [record], name, records)[0], parts, ids), root, name)
    for name in part.fields if part is not None else ():
        compare(_build(binding, record, _probe(part, parts, name, all_parts), ids), part, name)
    return {path: tuple(sorted(sources)) for path, sources in sorted(found.items())}


SAMPLE_RECORDS = 20  # of the day's, in key order: enough for most optional fields to hold a value somewhere


def sampled_lineage(warehouse: Warehouse, binding: Binding, root: EntitySpec, day: str) -> Lineage:
    """:func:`payload_lineage` observed on the first records of ``root``'s validated day, with their parts."""
    table = quote_identifier(validated_table(root.name))
    order = ", ".join(quote_identifier(f) for f in root.key_fields)
    with warehouse.session() as session:
        frame = session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? ORDER BY {order} "
                                 f"LIMIT {SAMPLE_RECORDS}", (day,))
        records = nulls_as_none(frame).to_dict(orient="records")
        parts: dict[str, list[Record]] = {}
        if root.parts is not None and records:
            part = ENTITIES[root.parts.entity]
            keys = [record["source_key"] for record in records]
            marks = ", ".join("?" * len(keys))
            part_frame = session.fetch_df(
                f"SELECT * FROM {quote_identifier(validated_table(part.name))} WHERE partition_day = ? AND "
                f"{quote_identifier(root.parts.link)} IN ({marks}) ORDER BY "
                + ", ".join(quote_identifier(f) for f in part.key_fields), (day, *keys))
            for row in nulls_as_none(part_frame).to_dict(orient="records"):
                parts.setdefault(str(row[root.parts.link]), []).append(row)
    return payload_lineage(binding, root, [(record, parts.get(record["source_key"], [])) for record in records])

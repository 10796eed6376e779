"""The set rules every entity needs, generated from the registry; and the hand-written ones, run beside them.

A set rule looks at more than one row: duplicates within the day, references to other entities, the
parts of an aggregate. Each is a SELECT over the session's ``candidate_<entity>`` tables (the day's
rows that passed the row rules) giving ``source_file, source_row, source_key, code, message``:

- ``DUPLICATE_KEY``: a key twice in the day; the last row (by file, row) wins, as exports append corrections.
  Where keys fold case (item and account codes), a key that differs only in case from one validated
  earlier (an earlier row of the day, or an earlier day) is one too, and the first stands.
- ``PARENT_UNKNOWN``: a reference (``Reference`` in the registry) to a record neither validated up to
  this day nor in any target's ID map.
- ``LINE_REJECTED``: an aggregate root one of whose parts was rejected (an aggregate travels whole,
  so it is never loaded short of a line).
- ``NO_LINES``: an aggregate root with fewer valid parts than it needs (``Parts.minimum``).
- ``TOTAL_MISMATCH``: a root whose total differs from the exact sum of its parts by more than 0.01.
- ``HEADER_NOT_VALID``: a part whose root is not valid on the day (an aggregate travels whole).

Rules that belong to one entity only are SQL models, ``dbt_like_sql/validated/<entity>_set_rejects.sql``.
Identifiers come from the registry and are quoted; values are parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from batch_orchestration.entities.registry import EntitySpec, Reference
from batch_orchestration.warehouse.backend import quote_identifier as q
from batch_orchestration.warehouse.schema import staged_table, validated_table

REJECT_COLUMNS = ("source_file", "source_row", "source_key", "code", "message")
REFUSED_PARTS = "refused_parts"  # (source_file, source_row) of the unit's rejected parts, made by the caller


def candidate_table(entity: str) -> str:
    return f"candidate_{entity}"


@dataclass(frozen=True)
class SetRule:
    """One generated rule: its name (shown in the validated asset's metadata), what it reads, its SQL."""

    name: str
    reads: tuple[str, ...]
    sql: str
    params: tuple[str, ...] = ()


def duplicate_key(entity: EntitySpec) -> SetRule:
    table = candidate_table(entity.name)
    return SetRule(
        f"duplicate_key({entity.name})", (table,),
        "SELECT source_file, source_row, source_key, 'DUPLICATE_KEY' AS code, "
        "'source_key ' || source_key || ' appears again later in the day; the last row is kept' AS message "
        "FROM (SELECT source_file, source_row, source_key, ROW_NUMBER() OVER "
        "(PARTITION BY source_key ORDER BY source_file DESC, source_row DESC) AS key_rank "
        f"FROM {q(table)}) AS ranked WHERE key_rank > 1",
    )


def _key_in_other_case(entity: EntitySpec, day: str) -> SetRule:
    table, validated = candidate_table(entity.name), validated_table(entity.name)
    key = "/".join(entity.key_fields)
    return SetRule(
        f"key_in_other_case({entity.name})", (table, validated),
        f"SELECT c.source_file, c.source_row, c.source_key, 'DUPLICATE_KEY' AS code, "
        f"'{key} ' || c.source_key || ' differs only in case from ' || MIN(o.source_key) || ', which stands: "
        f"codes ignore case' AS message FROM {q(table)} AS c JOIN (SELECT source_key, source_file, source_row, "
        f"0 AS before_day FROM {q(table)} UNION ALL SELECT source_key, source_file, source_row, 1 AS before_day "
        f"FROM {q(validated)} WHERE partition_day < ?) AS o ON LOWER(o.source_key) = LOWER(c.source_key) "
        f"AND o.source_key <> c.source_key AND (o.before_day = 1 OR o.source_file < c.source_file "
        f"OR (o.source_file = c.source_file AND o.source_row < c.source_row)) "
        f"GROUP BY c.source_file, c.source_row, c.source_key",
        (day,),
    )


def _parent_unknown(entity: EntitySpec, reference: Reference, day: str) -> SetRule:
    table, parent = candidate_table(entity.name), validated_table(reference.entity)
    column = q(reference.field)
    return SetRule(
        f"parent_unknown({entity.name}.{reference.field})", (table, parent, "id_map"),
        f"SELECT c.source_file, c.source_row, c.source_key, 'PARENT_UNKNOWN' AS code, "
        f"'{reference.field} ' || c.{column} || ' names {reference.entity} that are neither validated up to "
        f"this day nor in the target' AS message FROM {q(table)} AS c WHERE c.{column} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {q(parent)} AS v WHERE v.source_key = c.{column} AND v.partition_day <= ?) "
        f"AND NOT EXISTS (SELECT 1 FROM id_map AS m WHERE m.entity = ? AND m.source_key = c.{column})",
        (day, reference.entity),
    )


def _too_few_parts(root: EntitySpec) -> SetRule:
    assert root.parts is not None
    parts, table = root.parts, candidate_table(root.name)
    part_table = candidate_table(parts.entity)
    return SetRule(
        f"too_few_parts({root.name})", (table, part_table),
        f"SELECT r.source_file, r.source_row, r.source_key, 'NO_LINES' AS code, "
        f"'has ' || CAST(COALESCE(p.part_count, 0) AS TEXT) || ' valid {parts.entity} on its day; it needs at "
        f"least {parts.minimum}' AS message FROM {q(table)} AS r LEFT JOIN (SELECT {q(parts.link)} AS root_key, "
        f"COUNT(*) AS part_count FROM {q(part_table)} GROUP BY {q(parts.link)}) AS p ON p.root_key = r.source_key "
        f"WHERE COALESCE(p.part_count, 0) < {int(parts.minimum)}",
    )


def _total_mismatch(root: EntitySpec) -> SetRule:
    """Exact, as the target checks it: each product in DECIMAL(38, 4), nothing rounded per line."""
    assert root.parts is not None and root.parts.total is not None
    parts, total = root.parts, root.parts.total
    table, part_table = candidate_table(root.name), candidate_table(parts.entity)
    return SetRule(
        f"total_mismatch({root.name})", (table, part_table),
        f"SELECT r.source_file, r.source_row, r.source_key, 'TOTAL_MISMATCH' AS code, "
        f"'{total.total} ' || CAST(CAST(r.{q(total.total)} AS DECIMAL(38, 4)) AS TEXT) || ' differs from the sum "
        f"of its lines ' || CAST(CAST(t.lines_total AS DECIMAL(38, 4)) AS TEXT) || ' by more than 0.01' AS message "
        f"FROM {q(table)} AS r JOIN (SELECT {q(parts.link)} AS root_key, SUM(CAST({q(total.quantity)} AS "
        f"DECIMAL(38, 4)) * CAST({q(total.price)} AS DECIMAL(38, 4))) AS lines_total FROM {q(part_table)} "
        f"GROUP BY {q(parts.link)}) AS t ON t.root_key = r.source_key "
        f"WHERE ABS(CAST(r.{q(total.total)} AS DECIMAL(38, 8)) - t.lines_total) > 0.01",
    )


def line_rejected(root: EntitySpec, day: str) -> SetRule:
    """Roots with a part in ``refused_parts`` (found by the part's staged row, so a part refused by its
    row rules, whose key may not even parse, still names its root)."""
    assert root.parts is not None
    parts, table, staged = root.parts, candidate_table(root.name), staged_table(root.parts.entity)
    return SetRule(
        f"line_rejected({root.name})", (table, staged, REFUSED_PARTS),
        f"SELECT r.source_file, r.source_row, r.source_key, 'LINE_REJECTED' AS code, "
        f"CAST(COUNT(*) AS TEXT) || ' of its {parts.entity} rejected: it is loaded whole or not at all' AS message "
        f"FROM {q(table)} AS r JOIN {q(staged)} AS s ON TRIM(s.{q(parts.link)}) = r.source_key "
        f"AND s.partition_day = ? JOIN {REFUSED_PARTS} AS f ON f.source_file = s.source_file "
        f"AND f.source_row = s.source_row GROUP BY r.source_file, r.source_row, r.source_key",
        (day,),
    )


def header_not_valid(root: EntitySpec, day: str) -> SetRule:
    assert root.parts is not None
    parts, table = root.parts, candidate_table(root.parts.entity)
    return SetRule(
        f"header_not_valid({parts.entity})", (table, candidate_table(root.name)),
        f"SELECT p.source_file, p.source_row, p.source_key, 'HEADER_NOT_VALID' AS code, "
        f"'{root.name} ' || p.{q(parts.link)} || ' is not among the {root.name} valid on ' "
        "|| CAST(? AS TEXT) AS message "
        f"FROM {q(table)} AS p WHERE NOT EXISTS (SELECT 1 FROM {q(candidate_table(root.name))} AS r "
        f"WHERE r.source_key = p.{q(parts.link)})",
        (day,),
    )


def record_rules(entity: EntitySpec, day: str) -> list[SetRule]:
    """The rules of one entity's kept rows (after ``duplicate_key``): its references and, for a root,
    its parts (which have been through their own rules)."""
    rules = [_parent_unknown(entity, reference, day) for reference in entity.references]
    if entity.key_folds_case:
        rules.append(_key_in_other_case(entity, day))
    if entity.parts:
        rules.append(_too_few_parts(entity))
        if entity.parts.total:
            rules.append(_total_mismatch(entity))
    return rules


def hand_written_model(entity: EntitySpec, available: set[str]) -> str | None:
    """The entity's own SQL model, ``<entity>_set_rejects``, when ``dbt_like_sql/validated`` has one."""
    name = f"{entity.name}_set_rejects"
    return name if name in available else None

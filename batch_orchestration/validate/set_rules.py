"""The set rules every entity needs, generated from the registry; and the hand-written ones, run beside them.

A set rule looks at more than one row: duplicates within the day, references to other entities, the
parts of an aggregate. Each is a SELECT over the session's ``candidate_<entity>`` views (the day's
rows that passed the row rules, as they stand in the validated table) giving ``source_file, source_row,
source_key, code, message``:

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
Identifiers come from the registry and are quoted; names in messages are escaped literals; values
are parameters. Keys of entities that fold case (item and account codes) are compared with ``LOWER``,
which for non-ASCII codes needs PostgreSQL on the ``C.UTF-8`` ctype to agree with DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

from batch_orchestration.entities.registry import ENTITIES, EntitySpec, Reference
from batch_orchestration.ingest.landing import check_day
from batch_orchestration.warehouse.backend import WarehouseSession
from batch_orchestration.warehouse.backend import quote_identifier as q
from batch_orchestration.warehouse.schema import staged_table, validated_columns, validated_table

REJECT_COLUMNS = ("source_file", "source_row", "source_key", "code", "message")
# The unit's rejected parts, made by the caller: (source_file, source_row) of a staged row, or the
# root_key of a row refused at staging, or whole_file for a part file refused whole.
REFUSED_PARTS = "refused_parts"


def _literal(text: str) -> str:
    """A registry name as an SQL string literal (escaped, though registry names are identifiers)."""
    return "'" + text.replace("'", "''") + "'"


def candidate_table(entity: str) -> str:
    """What the set rules read: the rows of the day still standing (see :func:`open_candidates`)."""
    return f"candidate_{entity}"


def open_candidates(session: WarehouseSession, entity: EntitySpec, day: str) -> None:
    """``candidate_<entity>``: a view of the day's rows in the validated table, where the row rules put them
    (each row once: no copy of the day) and from which a set rule's rejects are deleted."""
    columns = ", ".join(q(c) for c in validated_columns(entity))
    view, table = q(candidate_table(entity.name)), q(validated_table(entity.name))
    session.execute(f"DROP VIEW IF EXISTS {view}")
    of_the_day = f"partition_day = '{check_day(day)}'"  # a view takes no parameters
    session.execute(f"CREATE TEMP VIEW {view} AS SELECT {columns} FROM {table} WHERE {of_the_day}")


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
    key = _literal("/".join(entity.key_fields) + " ")
    return SetRule(
        f"key_in_other_case({entity.name})", (table, validated),
        f"SELECT c.source_file, c.source_row, c.source_key, 'DUPLICATE_KEY' AS code, "
        f"{key} || c.source_key || ' differs only in case from ' || MIN(o.source_key) || ', which stands: "
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
    column = f"c.{q(reference.field)}"
    folds = ENTITIES[reference.entity].key_folds_case

    def same(key: str) -> str:
        return f"LOWER({key}) = LOWER({column})" if folds else f"{key} = {column}"

    return SetRule(
        f"parent_unknown({entity.name}.{reference.field})", (table, parent, "id_map"),
        f"SELECT c.source_file, c.source_row, c.source_key, 'PARENT_UNKNOWN' AS code, "
        f"{_literal(reference.field + ' ')} || {column} || "
        f"{_literal(f' names {reference.entity} that are neither validated up to this day nor in the target')} "
        f"AS message FROM {q(table)} AS c WHERE {column} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {q(parent)} AS v WHERE {same('v.source_key')} AND v.partition_day <= ?) "
        f"AND NOT EXISTS (SELECT 1 FROM {q('id_map')} AS m WHERE m.entity = ? AND {same('m.source_key')})",
        (day, reference.entity),
    )


def _too_few_parts(root: EntitySpec) -> SetRule:
    assert root.parts is not None
    parts, table = root.parts, candidate_table(root.name)
    part_table = candidate_table(parts.entity)
    return SetRule(
        f"too_few_parts({root.name})", (table, part_table),
        f"SELECT r.source_file, r.source_row, r.source_key, 'NO_LINES' AS code, "
        f"'has ' || CAST(COALESCE(p.part_count, 0) AS TEXT) || "
        f"{_literal(f' valid {parts.entity} on its day; it needs at least {parts.minimum}')} AS message "
        f"FROM {q(table)} AS r LEFT JOIN (SELECT {q(parts.link)} AS root_key, COUNT(*) AS part_count "
        f"FROM {q(part_table)} GROUP BY {q(parts.link)}) AS p ON p.root_key = r.source_key "
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
        f"{_literal(total.total + ' ')} || CAST(CAST(r.{q(total.total)} AS DECIMAL(38, 4)) AS TEXT) || "
        f"' differs from the sum of its lines ' || CAST(CAST(t.lines_total AS DECIMAL(38, 4)) AS TEXT) || "
        f"' by more than 0.01' AS message "
        f"FROM {q(table)} AS r JOIN (SELECT {q(parts.link)} AS root_key, SUM(CAST({q(total.quantity)} AS "
        f"DECIMAL(38, 4)) * CAST({q(total.price)} AS DECIMAL(38, 4))) AS lines_total FROM {q(part_table)} "
        f"GROUP BY {q(parts.link)}) AS t ON t.root_key = r.source_key "
        f"WHERE ABS(CAST(r.{q(total.total)} AS DECIMAL(38, 8)) - t.lines_total) > 0.01",
    )


def line_rejected(root: EntitySpec, day: str) -> SetRule:
    """Roots with a part in ``refused_parts``: one found by its staged row (so a part refused by its row
    rules, whose key may not even parse, still names its root), one refused at staging by its key, and
    every root of the day when a file of its parts was refused whole (its lines cannot be known)."""
    assert root.parts is not None
    parts, table, staged = root.parts, candidate_table(root.name), staged_table(root.parts.entity)
    refused, whole = q(REFUSED_PARTS), _literal(f"a file of its {parts.entity} was refused whole: ")
    return SetRule(
        f"line_rejected({root.name})", (table, staged, REFUSED_PARTS),
        f"SELECT r.source_file, r.source_row, r.source_key, 'LINE_REJECTED' AS code, "
        f"CAST(COUNT(*) AS TEXT) || {_literal(f' of its {parts.entity} rejected: it is loaded whole or not at all')} "
        f"AS message FROM {q(table)} AS r JOIN (SELECT TRIM(s.{q(parts.link)}) AS root_key FROM {q(staged)} AS s "
        f"JOIN {refused} AS f ON f.source_file = s.source_file AND f.source_row = s.source_row "
        f"WHERE s.partition_day = ? UNION ALL SELECT f.root_key FROM {refused} AS f WHERE f.root_key IS NOT NULL) "
        f"AS x ON x.root_key = r.source_key GROUP BY r.source_file, r.source_row, r.source_key "
        f"UNION ALL SELECT r.source_file, r.source_row, r.source_key, 'LINE_REJECTED' AS code, {whole} || "
        f"MIN(f.source_file) AS message FROM {q(table)} AS r JOIN {refused} AS f ON f.whole_file "
        f"GROUP BY r.source_file, r.source_row, r.source_key",
        (day,),
    )


def header_not_valid(root: EntitySpec, day: str) -> SetRule:
    assert root.parts is not None
    parts, table = root.parts, candidate_table(root.parts.entity)
    return SetRule(
        f"header_not_valid({parts.entity})", (table, candidate_table(root.name)),
        f"SELECT p.source_file, p.source_row, p.source_key, 'HEADER_NOT_VALID' AS code, "
        f"{_literal(root.name + ' ')} || p.{q(parts.link)} || {_literal(f' is not among the {root.name} valid on ')} "
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

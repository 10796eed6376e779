"""The one owner of the warehouse schema: every table, created before any stage runs, and versioned.

Two kinds of tables:

- **The pipeline's own tables** (``rejects``, ``id_map``, ``intent_log``, ``load_history``,
  ``deployment_claim``) change only through the
  numbered :data:`MIGRATIONS`, applied in order, each once, and recorded in ``schema_version``.
- **The tables of each entity** (``staged_<entity>``, ``validated_<entity>``) follow the registry:
  a new entity gets its tables and a new field its column, without a migration. A column whose type
  no longer matches the model is never mixed or silently re-typed: a migration converts it (the
  money columns in migration 2), and anything else stops with :class:`SchemaError`.

:func:`ensure_schema` is idempotent and safe to call from several processes at once (DuckDB sessions
hold a file lock; on PostgreSQL an advisory lock serialises it). The Dagster warehouse resource calls it
when a step starts, so no stage ever meets a missing table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from batch_orchestration.entities.registry import ENTITIES, MONEY_SQL_TYPE, EntitySpec
from batch_orchestration.ingest.mapping import LINEAGE_COLUMNS, load_mapping
from batch_orchestration.warehouse.backend import Warehouse, WarehouseSession, is_identifier, quote_identifier

log = logging.getLogger(__name__)

# The lineage columns every staged and validated row carries (ingest/mapping.py names them), typed.
LINEAGE_TYPES = {column: "BIGINT" if column == "source_row" else "TEXT" for column in LINEAGE_COLUMNS}


class SchemaError(RuntimeError):
    """The warehouse holds a table whose shape the code cannot use, and no migration converts it."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[WarehouseSession], None]


def _baseline(session: WarehouseSession) -> None:
    """The pipeline's own tables as release 0.1 created them."""
    session.execute(
        """
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
    )
    session.execute(
        """
        CREATE TABLE IF NOT EXISTS id_map (
            target TEXT NOT NULL,
            entity TEXT NOT NULL,
            source_key TEXT NOT NULL,
            target_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            payload_hash TEXT NOT NULL,
            partition_day TEXT NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (target, entity, source_key)
        )
        """
    )
    session.execute(
        """
        CREATE TABLE IF NOT EXISTS intent_log (
            intent_id TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            entity TEXT NOT NULL,
            partition_day TEXT NOT NULL,
            operations TEXT NOT NULL,
            status TEXT NOT NULL,
            opened_at TIMESTAMP NOT NULL,
            closed_at TIMESTAMP,
            outcome TEXT
        )
        """
    )


# The money columns release 0.1 kept as DOUBLE PRECISION: frozen here, whatever the registry says later.
_RELEASE_0_1_MONEY = {
    "validated_customers": ("credit_limit",),
    "validated_invoices": ("total_amount",),
    "validated_invoice_line_items": ("quantity", "unit_price"),
}
_EXACT_BELOW = 10**11  # a double holds any amount of 4 places exactly below this


def _money_as_decimal(session: WarehouseSession) -> None:
    """Release 0.1 kept amounts as DOUBLE PRECISION; convert them to exact decimals.

    A double read from a CSV amount of at most 4 decimal places rounds back to the exact original at
    scale 4 when it is below 10^11. Larger ones may be off in the last place: they are named in the
    log, and re-validating their days rebuilds them exactly from the staged text.
    """
    for table, columns in _RELEASE_0_1_MONEY.items():
        types = column_types(session, table)
        for name in columns:
            if types.get(name) != "DOUBLE PRECISION":
                continue
            column = quote_identifier(name)
            doubtful = session.fetch_all(
                f"SELECT DISTINCT partition_day FROM {quote_identifier(table)} WHERE ABS({column}) >= ?",
                (_EXACT_BELOW,))
            if doubtful:
                days = ", ".join(sorted(day for (day,) in doubtful))
                log.warning("%s.%s holds amounts of 10^11 or more that a double may have rounded; "
                            "re-validate these days to rebuild them from the staged text: %s", table, name, days)
            session.execute(
                f"ALTER TABLE {quote_identifier(table)} ALTER COLUMN {column} TYPE {MONEY_SQL_TYPE} "
                f"USING CAST({column} AS {MONEY_SQL_TYPE})"
            )


def _rejects_per_target(session: WarehouseSession) -> None:
    """Load rejects belong to the target that refused them; 0.1 loaded into BigLedger only."""
    session.execute("ALTER TABLE rejects ADD COLUMN target TEXT")
    session.execute("UPDATE rejects SET target = 'bigledger' WHERE stage = 'load'")


def _refused_payloads(session: WarehouseSession) -> None:
    """A target's refusal remembers the payload it refused, so the same payload is not sent again."""
    session.execute("ALTER TABLE rejects ADD COLUMN payload_hash TEXT")


def _deployment_claim(session: WarehouseSession) -> None:
    """The deployment that loads from the warehouse (``load/state.py``, ``claim_warehouse``)."""
    session.execute("CREATE TABLE deployment_claim (id INTEGER PRIMARY KEY CHECK (id = 1), deployment TEXT NOT NULL, "
                    "claimed_at TIMESTAMP NOT NULL)")


def _load_history(session: WarehouseSession) -> None:
    """Each version of a record the target took, kept: the ID map holds only the latest."""
    session.execute(
        """
        CREATE TABLE load_history (
            target TEXT NOT NULL,
            entity TEXT NOT NULL,
            source_key TEXT NOT NULL,
            target_id TEXT NOT NULL,
            operation TEXT NOT NULL,
            partition_day TEXT NOT NULL,
            source_file TEXT,
            source_row BIGINT,
            content_hash TEXT NOT NULL,
            payload_hash TEXT NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        )
        """
    )


def _validated_deletes(session: WarehouseSession) -> None:
    """The deletes a changes export asks for, one per key and day (``validate/changes.py``)."""
    session.execute("CREATE TABLE validated_deletes (entity TEXT NOT NULL, partition_day TEXT NOT NULL, "
                    "source_key TEXT NOT NULL, source_file TEXT NOT NULL, source_row BIGINT NOT NULL)")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "rejects, ID map and intent log", _baseline),
    Migration(2, f"money columns of the validated tables as {MONEY_SQL_TYPE}", _money_as_decimal),
    Migration(3, "the target of each load reject", _rejects_per_target),
    Migration(4, "the payload hash of each record a target refused", _refused_payloads),
    Migration(5, "the deployment that loads from the warehouse", _deployment_claim),
    Migration(6, "the history of the versions each target took", _load_history),
    Migration(7, "the deletes of changes exports", _validated_deletes),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def staged_table(entity: str) -> str:
    return f"staged_{entity}"


def validated_table(entity: str) -> str:
    return f"validated_{entity}"


def staged_columns(fields: list[str]) -> dict[str, str]:
    """Lineage columns, then one TEXT column per mapped field, in mapping order: staging keeps the text."""
    return {**LINEAGE_TYPES, **{name: "TEXT" for name in fields}}


def ensure_staged_table(session: WarehouseSession, table: str, fields: list[str]) -> None:
    """The staged table of a mapping, created or given a column for a field the mapping gained."""
    _sync_table(session, table, staged_columns(fields))


def validated_columns(entity: EntitySpec) -> dict[str, str]:
    """Lineage columns, the source key, then each field typed from the entity's model."""
    return {**LINEAGE_TYPES, "source_key": "TEXT", **{name: entity.sql_type(name) for name in entity.fields}}


def _normalise_type(data_type: str, precision: int | None, scale: int | None) -> str:
    """Both engines' information_schema spellings, as the spelling this module writes."""
    kind = data_type.upper()
    if kind in ("VARCHAR", "TEXT", "CHARACTER VARYING"):
        return "TEXT"
    if kind in ("DOUBLE", "DOUBLE PRECISION", "FLOAT8"):
        return "DOUBLE PRECISION"
    if kind.startswith(("DECIMAL", "NUMERIC")):
        return f"DECIMAL({precision},{scale})"
    if kind.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    return kind


def column_types(session: WarehouseSession, table: str) -> dict[str, str]:
    """Column name -> normalised type of a table of the session's schema (empty when it does not exist)."""
    rows = session.fetch_all(
        "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
        (table,),
    )
    return {name: _normalise_type(kind, precision, scale) for name, kind, precision, scale in rows}


def _sync_table(session: WarehouseSession, table: str, wanted: dict[str, str]) -> None:
    existing = column_types(session, table)
    name = quote_identifier(table)
    if not existing:
        definitions = ", ".join(f"{quote_identifier(c)} {t}" for c, t in wanted.items())
        session.execute(f"CREATE TABLE IF NOT EXISTS {name} ({definitions})")
        if session.dialect == "postgres":  # DuckDB prunes by zone maps, and its indexes block ALTER
            session.execute(f"CREATE INDEX IF NOT EXISTS {quote_identifier(table + '_day')} ON {name} (partition_day)")
        return
    for column, kind in wanted.items():
        found = existing.get(column)
        if found is None:
            session.execute(f"ALTER TABLE {name} ADD COLUMN {quote_identifier(column)} {kind}")
        elif found != kind:
            raise SchemaError(
                f"{table}.{column} is {found} in the warehouse but the code needs {kind}; "
                "no migration converts it (see batch_orchestration/warehouse/schema.py)"
            )


def create_validated_records_view(session: WarehouseSession) -> None:
    """``validated_records``: every entity's validated records as (entity, source_key, content_hash,
    partition_day), a session-private view built from the registry, so a check over all entities
    cannot forget one (the conservation check reads it)."""
    for entity in ENTITIES.values():
        if not is_identifier(entity.name):  # the name becomes a string literal below
            raise SchemaError(f"entity name {entity.name!r} is not an identifier")
    selects = [
        f"SELECT '{entity.name}' AS entity, source_key, content_hash, partition_day "
        f"FROM {quote_identifier(validated_table(entity.name))}"
        for entity in ENTITIES.values()
    ]
    session.execute(f"CREATE OR REPLACE TEMP VIEW validated_records AS {' UNION ALL '.join(selects)}")


def applied_versions(session: WarehouseSession) -> list[int]:
    return [version for (version,) in session.fetch_all("SELECT version FROM schema_version ORDER BY version")]


def ensure_schema(warehouse: Warehouse) -> list[int]:
    """Bring the warehouse to :data:`SCHEMA_VERSION` and the registry's tables; the versions applied now."""
    applied_now: list[int] = []
    with warehouse.session() as session:
        if session.dialect == "postgres":
            session.fetch_all("SELECT pg_advisory_xact_lock(hashtext('batch_orchestration.schema'))")
        session.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = set(applied_versions(session))
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            migration.apply(session)
            session.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, datetime.now(UTC).replace(tzinfo=None)),
            )
            applied_now.append(migration.version)
        for entity in ENTITIES.values():
            ensure_staged_table(session, staged_table(entity.name), load_mapping(entity.name).fields)
            _sync_table(session, validated_table(entity.name), validated_columns(entity))
    return applied_now

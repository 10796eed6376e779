"""The dbt_like_sql runner (parsing, lineage, ordering, errors) and the set-rule models on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.warehouse.backend import Warehouse, WarehouseSession, open_warehouse
from batch_orchestration.warehouse.schema import create_validated_records_view, validated_columns
from batch_orchestration.warehouse.sql_models import (
    ModelGraph,
    SqlModelError,
    discover_models,
    model_graph,
    run_models,
)

RUN_DAY = "2024-03-02"
REJECT_COLUMNS = ["source_file", "source_row", "source_key", "code", "message"]
SET_REJECT_MODELS = ["customers_set_rejects", "journal_entries_set_rejects"]
TS = pd.Timestamp("2024-03-02 01:00:00")

# -- engines -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """A warehouse and, on PostgreSQL, the test's own schema (set as search_path in every session)."""

    warehouse: Warehouse
    schema: str | None = None

    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        with self.warehouse.session() as session:
            if self.schema is not None:
                session.execute(f"SET search_path TO {self.schema}")
            yield session


@contextmanager
def duckdb_engine(directory: Path) -> Iterator[Engine]:
    yield Engine(open_warehouse(f"duckdb:///{directory / 'warehouse.duckdb'}"))


@contextmanager
def postgres_engine(url: str) -> Iterator[Engine]:
    """A fresh schema per test, dropped afterwards, so parallel runs never share tables."""
    warehouse = open_warehouse(url)
    schema = f"test_sql_models_{uuid.uuid4().hex[:12]}"
    with warehouse.session() as session:
        session.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Engine(warehouse, schema)
    finally:
        with warehouse.session() as session:
            session.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "duckdb":
        with duckdb_engine(tmp_path) as duck:
            yield duck
    else:
        with postgres_engine(request.getfixturevalue("postgres_url")) as postgres:
            yield postgres


# -- hand-made data ----------------------------------------------------------------------------

PERMANENT_DDL = [
    """CREATE TABLE id_map (target TEXT, entity TEXT, source_key TEXT, target_id TEXT, content_hash TEXT,
       payload_hash TEXT, partition_day TEXT, updated_at TIMESTAMP)""",
    """CREATE TABLE rejects (entity TEXT, partition_day TEXT, source_file TEXT, source_row BIGINT,
       source_key TEXT, stage TEXT, code TEXT, message TEXT, target TEXT, rejected_at TIMESTAMP)""",
    """CREATE TABLE load_history (target TEXT, entity TEXT, source_key TEXT, target_id TEXT, operation TEXT,
       partition_day TEXT)""",
    # every entity's validated table, typed as the pipeline creates it (the conservation check reads all)
    *(f"CREATE TABLE validated_{name} ({', '.join(f'{c} {t}' for c, t in validated_columns(entity).items())})"
      for name, entity in ENTITIES.items()),
]

VALIDATED_CUSTOMERS = (
    ["partition_day", "source_file", "source_row", "source_key", "content_hash", "email", "name"],
    [
        ("2024-02-28", "c0.csv", 1, "C-MOVED", "h", "freed@example.com", "Moved"),
        ("2024-03-01", "c1.csv", 1, "C-OLD", "h", "Taken@Example.com", "Old"),
        ("2024-03-01", "c1.csv", 2, "C-SELF", "h", "self@example.com", "Self"),
        ("2024-03-01", "c1.csv", 3, "C-MOVED", "h", "moved@example.com", "Moved"),  # freed@ is free again
        ("2024-03-02", "c2.csv", 1, "C-TODAY-V", "h-tv", "today@example.com", "Today"),
        ("2024-03-02", "c2.csv", 2, "C-STALE", "h-new", None, "Stale"),
        ("2024-03-02", "c2.csv", 3, "C-LOADREJ", "h", None, "Load rejected"),
        ("2024-03-02", "c2.csv", 4, "C-VALREJ", "h", None, "Rejected at another stage"),
        ("2024-03-02", "c2.csv", 5, "C-OTHERDAY-REJ", "h", None, "Rejected on another day"),
        ("2024-03-02", "c2.csv", 6, "C-SUPERSEDED", "h-old", None, "Replayed after a newer day loaded"),
        ("2024-03-02", "c2.csv", 7, "C-DELETED-LATER", "h", None, "Deleted by a later day's load"),
        ("2024-03-02", "c2.csv", 8, "C-DELETED-BEFORE", "h", None, "Deleted by an earlier day's, then lost"),
        ("2024-03-03", "c3.csv", 1, "C-FUTURE", "h", "future@example.com", "Future"),
    ],
)
VALIDATED_INVOICES = (
    ["partition_day", "source_file", "source_row", "source_key", "content_hash", "customer_key"],
    [
        ("2024-03-01", "i0.csv", 1, "I-OLD", "h", "C-OLD"),
        ("2024-03-02", "i.csv", 1, "I1", "hi1", "C-OLD"),
        ("2024-03-02", "i.csv", 2, "I2", "hi2", "C-TODAY-V"),
        ("2024-03-02", "i.csv", 8, "I7", "hi7", "C-OLD"),
        ("2024-03-02", "i.csv", 10, "I9", "hi9", "C-OLD"),
    ],
)
VALIDATED_LINES = (
    ["partition_day", "source_file", "source_row", "source_key", "content_hash", "invoice_key"],
    [
        ("2024-03-01", "l0.csv", 1, "L-OLD", "h", "I-OLD"),
        ("2024-03-02", "l.csv", 1, "L1", "hl1", "I1"),
        ("2024-03-02", "l.csv", 2, "L2", "hl2", "I1"),
    ],
)
ID_MAP = (
    ["target", "entity", "source_key", "target_id", "content_hash", "payload_hash", "partition_day", "updated_at"],
    [
        ("ledger", "customers", "C-MAPPED", "T1", "h", "h", RUN_DAY, TS),
        ("ledger", "invoices", "C-WRONG-ENTITY", "T2", "h", "h", RUN_DAY, TS),
        ("ledger", "customers", "C-TODAY-V", "T3", "h-tv", "h-tv", RUN_DAY, TS),
        ("ledger", "customers", "C-STALE", "T4", "h-old", "h-old", RUN_DAY, TS),  # loaded, but an older content
        ("ledger", "customers", "C-SUPERSEDED", "T8", "h-new", "h-new", "2024-03-03", TS),  # a later day's version
        ("ledger", "invoices", "I2", "T5", "hi2", "hi2", RUN_DAY, TS),
        ("ledger", "customers", "I1", "T6", "hi1", "hi1", RUN_DAY, TS),  # same key, other entity
        ("ledger", "invoice_line_items", "L2", "T7", "hl2", "hl2", RUN_DAY, TS),
        ("other-ledger", "customers", "C-VALREJ", "T9", "h", "h", RUN_DAY, TS),  # loaded, but into another target
    ],
)
REJECTS = (
    ["entity", "partition_day", "source_file", "source_row", "source_key", "stage", "code", "message", "target",
     "rejected_at"],
    [
        ("customers", "2024-03-02", "c2.csv", 3, "C-LOADREJ", "load", "TARGET_REFUSED", "m", "ledger", TS),
        ("customers", "2024-03-02", "c2.csv", 4, "C-VALREJ", "set_rule", "DUPLICATE_KEY", "m", None, TS),
        ("customers", "2024-03-01", "c2.csv", 5, "C-OTHERDAY-REJ", "load", "TARGET_REFUSED", "m", "ledger", TS),
        ("invoices", "2024-03-02", "i.csv", 10, "I9", "load", "TARGET_REFUSED", "m", "ledger", TS),
        ("customers", "2024-03-02", "i.csv", 8, "I7", "load", "TARGET_REFUSED", "m", "ledger", TS),  # other entity
        ("invoices", "2024-03-02", "i.csv", 1, "I1", "load", "TARGET_REFUSED", "m", "other-ledger", TS),  # not ours
    ],
)

LOAD_HISTORY = (
    ["target", "entity", "source_key", "target_id", "operation", "partition_day"],
    [
        ("ledger", "customers", "C-DELETED-LATER", "T10", "create", "2024-03-02"),
        ("ledger", "customers", "C-DELETED-LATER", "T10", "delete", "2024-03-03"),  # accounted: the source said so
        ("ledger", "customers", "C-DELETED-BEFORE", "T11", "delete", "2024-03-01"),
        ("other-ledger", "customers", "C-DELETED-BEFORE", "T12", "delete", "2024-03-03"),  # not ours
    ],
)

CANDIDATE_CUSTOMERS = (
    ["source_file", "source_row", "source_key", "email", "name"],
    [
        ("a.csv", 1, "C1", "Dup@Example.com", "first of an email: kept"),
        ("a.csv", 2, "C2", "dup@example.com", "DUPLICATE_EMAIL (C1 earlier in the day)"),
        ("a.csv", 3, "C3", "taken@example.com", "DUPLICATE_EMAIL (C-OLD on an earlier day)"),
        ("a.csv", 4, "C-SELF", "SELF@example.com", "its own earlier email: kept"),
        ("a.csv", 5, "C4", None, "no email: kept"),
        ("a.csv", 6, "C5", None, "no email: kept"),
        ("a.csv", 7, "C6", "", "empty email: kept"),
        ("a.csv", 8, "C7", "  ", "blank email: kept"),
        ("b.csv", 1, "C8", "k@example.com", "kept"),
        ("a.csv", 12, "C9", "z@example.com", "kept"),
        ("b.csv", 2, "C10", None, "kept"),
        ("a.csv", 13, "C11", "freed@example.com", "no longer C-MOVED's email: kept"),
        ("a.csv", 14, "C12", "future@example.com", "used only on a later day: kept"),
        ("a.csv", 15, "C13", "today@example.com", "used on the run day, not earlier: kept"),
        ("a.csv", 30, "C15", "ORDER@example.com", "first by (file, row): kept"),
        ("b.csv", 3, "C14", "order@example.com", "DUPLICATE_EMAIL (C15 in a.csv comes first)"),
        ("a.csv", 40, "C16", "x@example.com", "kept"),
    ],
)
CANDIDATE_JOURNAL_ENTRIES = (
    ["source_file", "source_row", "source_key"],
    [("j.csv", 1, "J1"), ("j.csv", 2, "J2"), ("j.csv", 3, "J3")],
)
CANDIDATE_JOURNAL_LINES = (
    ["source_file", "source_row", "source_key", "entry_key", "debit", "credit"],
    [
        ("jl.csv", 1, "J1/1", "J1", 100.0, None),
        ("jl.csv", 2, "J1/2", "J1", None, 99.99),  # within 0.01: balanced
        ("jl.csv", 3, "J2/1", "J2", 100.0, None),
        ("jl.csv", 4, "J2/2", "J2", None, 99.98),  # UNBALANCED
        ("jl.csv", 5, "J3/1", "J3", 10.0, None),
        ("jl.csv", 6, "J3/2", "J3", 5.0, None),
        ("jl.csv", 7, "J3/3", "J3", None, 15.0),
    ],
)

Table = tuple[list[str], list[tuple[Any, ...]]]


def frame(table: Table) -> pd.DataFrame:
    columns, rows = table
    return pd.DataFrame(rows, columns=columns)


def seed_permanent_tables(engine: Engine) -> None:
    permanent = {
        "validated_customers": VALIDATED_CUSTOMERS,
        "validated_invoices": VALIDATED_INVOICES,
        "validated_invoice_line_items": VALIDATED_LINES,
        "id_map": ID_MAP,
        "rejects": REJECTS,
        "load_history": LOAD_HISTORY,
    }
    with engine.session() as session:
        for ddl in PERMANENT_DDL:
            session.execute(ddl)
        for name, table in permanent.items():
            session.append_df(name, frame(table))


def create_day_temp_tables(session: WarehouseSession) -> None:
    """What the pipeline does before running the set rules: the day's context and candidates."""
    session.create_temp_table("run_context", pd.DataFrame({"partition_day": [RUN_DAY], "target": ["ledger"]}))
    create_validated_records_view(session)
    session.create_temp_table("candidate_customers", frame(CANDIDATE_CUSTOMERS))
    session.create_temp_table("candidate_journal_entries", frame(CANDIDATE_JOURNAL_ENTRIES))
    session.create_temp_table("candidate_journal_entry_lines", frame(CANDIDATE_JOURNAL_LINES),
                              {"debit": "DECIMAL(18,4)", "credit": "DECIMAL(18,4)"})


def run_and_read(engine: Engine, model: str) -> pd.DataFrame:
    """Seeded warehouse, the day's temp tables, ``model`` run: its rows, sorted."""
    with engine.session() as session:
        create_day_temp_tables(session)
        run_models(session, select=[model])
        result = session.fetch_df(f"SELECT * FROM {model}")
    return result.sort_values(list(result.columns)).reset_index(drop=True)


def reject_keys(result: pd.DataFrame) -> set[tuple[str, int, str, str]]:
    return {(r.source_file, int(r.source_row), r.source_key, r.code) for r in result.itertuples()}


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_permanent_tables(engine)
    return engine


# -- parsing, lineage, ordering, errors --------------------------------------------------------


def write_models(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_upstream_tables_include_subqueries_and_exclude_ctes(tmp_path: Path) -> None:
    root = write_models(
        tmp_path,
        {
            "staging/a.sql": "-- a\nWITH orders AS (SELECT o.k FROM raw_orders AS o)\n"
            "SELECT orders.k FROM orders JOIN s.dim AS d ON d.k = orders.k\n"
            "WHERE NOT EXISTS (SELECT 1 FROM blocked WHERE blocked.k = orders.k)",
        },
    )
    (model,) = discover_models(root)
    assert model.upstream_tables == ("blocked", "raw_orders", "s.dim")
    assert model.layer == "staging"


def test_repository_models_upstream_models_and_sources() -> None:
    graph = model_graph()
    customers = graph.node("customers_set_rejects")
    assert customers.layer == "validated"
    assert customers.path.name == "customers_set_rejects.sql"
    assert customers.upstream_models == ()
    assert customers.upstream_sources == ("candidate_customers", "run_context", "validated_customers")
    assert graph.node("journal_entries_set_rejects").upstream_sources == (
        "candidate_journal_entries", "candidate_journal_entry_lines")
    assert graph.node("unaccounted_records").upstream_sources == ("id_map", "load_history", "rejects", "run_context",
                                                                  "validated_records")


def test_column_lineage() -> None:
    graph = model_graph()
    email_message = graph.node("customers_set_rejects").column_lineage["message"]
    assert ("candidate_customers", "email") in email_message
    balance = graph.node("journal_entries_set_rejects").column_lineage["message"]
    assert ("candidate_journal_entry_lines", "debit") in balance
    assert ("candidate_journal_entry_lines", "credit") in balance
    unaccounted = graph.node("unaccounted_records").column_lineage
    assert unaccounted["entity"] == [("validated_records", "entity")]
    assert unaccounted["source_key"] == [("validated_records", "source_key")]


@pytest.mark.parametrize("name", SET_REJECT_MODELS)
def test_set_reject_models_have_the_reject_columns(name: str) -> None:
    assert model_graph().node(name).model.columns == REJECT_COLUMNS


def test_every_model_starts_with_a_comment() -> None:
    for node in model_graph().models:
        assert node.path.read_text().startswith("--"), node.path


def test_topological_order_and_selection(tmp_path: Path) -> None:
    root = write_models(
        tmp_path,
        {
            "reconcile/c.sql": "SELECT b.k FROM b JOIN a ON a.k = b.k",
            "validated/b.sql": "SELECT a.k FROM a",
            "staging/a.sql": "SELECT src.k FROM src",
            "staging/z.sql": "SELECT other.k FROM other",
        },
    )
    graph = model_graph(root)
    assert [node.name for node in graph.models] == ["a", "z", "b", "c"]
    assert [node.name for node in graph.selection(["b"])] == ["a", "b"]
    with pytest.raises(SqlModelError, match="no model named 'nope'"):
        graph.selection(["nope"])


def test_repository_models_are_in_dependency_order() -> None:
    seen: set[str] = set()
    for node in model_graph().models:
        assert set(node.upstream_models) <= seen, node.name
        seen.add(node.name)


def test_cycle_error_names_the_files(tmp_path: Path) -> None:
    root = write_models(
        tmp_path,
        {
            "staging/a.sql": "SELECT c.k FROM c",
            "staging/b.sql": "SELECT a.k FROM a",
            "validated/c.sql": "SELECT b.k FROM b",
            "validated/d.sql": "SELECT x.k FROM x",
        },
    )
    with pytest.raises(SqlModelError, match="cycle") as raised:
        model_graph(root)
    for name in ("staging/a.sql", "staging/b.sql", "validated/c.sql"):
        assert name in str(raised.value)
    assert "d.sql" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SELECT 1 AS one; SELECT 2 AS two", "found 2"),
        ("-- only a comment\n", "found 0"),
        ("INSERT INTO t SELECT 1", "not INSERT"),
        ("CREATE TABLE t AS SELECT 1 AS one", "not CREATE"),
        ("SELECT a.k, b.v FROM a JOIN b ON a.k = b.k WHERE v > 1", "prefix columns"),
        ("SELECT * FROM a", "list the output columns"),
        ("SELECT a.k FROM a WHERE a.k LIKE 'x%'", "placeholder"),
    ],
)
def test_unusable_model_errors_name_the_file(tmp_path: Path, text: str, problem: str) -> None:
    root = write_models(tmp_path, {"staging/ok.sql": "SELECT s.k FROM s", "validated/bad_model.sql": text})
    with pytest.raises(SqlModelError, match=problem) as raised:
        discover_models(root)
    assert "validated/bad_model.sql" in str(raised.value)


def test_model_names_are_unique_across_layers(tmp_path: Path) -> None:
    root = write_models(tmp_path, {"staging/m.sql": "SELECT s.k FROM s", "validated/m.sql": "SELECT t.k FROM t"})
    with pytest.raises(SqlModelError, match=r"'m' is used twice.*staging/m\.sql.*validated/m\.sql"):
        discover_models(root)


# -- running -----------------------------------------------------------------------------------


def test_run_selection_creates_the_model_and_its_dependencies(seeded: Engine) -> None:
    with seeded.session() as session:
        create_day_temp_tables(session)
        runs = run_models(session, select=["customers_set_rejects"], graph=model_graph())
    assert [(run.name, run.layer) for run in runs] == [("customers_set_rejects", "validated")]
    assert runs[0].row_count == 3
    assert runs[0].upstream_tables == ("candidate_customers", "run_context", "validated_customers")


def test_models_are_session_private(seeded: Engine) -> None:
    with seeded.session() as session:
        create_day_temp_tables(session)
        run_models(session, select=["customers_set_rejects"], count_rows=False)
    with seeded.session() as session:
        assert not session.table_exists("customers_set_rejects")


def test_a_failing_model_names_model_and_file(engine: Engine, tmp_path: Path) -> None:
    graph = ModelGraph(
        discover_models(write_models(tmp_path / "models", {"staging/m.sql": "SELECT n.k FROM nowhere AS n"}))
    )
    with pytest.raises(SqlModelError, match=r"model m \(.*staging/m\.sql\) failed on"), engine.session() as session:
        run_models(session, graph=graph)


def test_customers_set_rejects(seeded: Engine) -> None:
    result = run_and_read(seeded, "customers_set_rejects")
    assert list(result.columns) == REJECT_COLUMNS
    assert reject_keys(result) == {
        ("a.csv", 2, "C2", "DUPLICATE_EMAIL"),
        ("a.csv", 3, "C3", "DUPLICATE_EMAIL"),
        ("b.csv", 3, "C14", "DUPLICATE_EMAIL"),
    }
    messages = dict(zip(result.source_key, result.message, strict=False))
    assert messages["C2"] == "email dup@example.com is already used by customer C1 earlier in the day"
    assert messages["C3"] == "email taken@example.com is already used by customer C-OLD from an earlier day"
    assert messages["C14"] == "email order@example.com is already used by customer C15 earlier in the day"


def test_journal_entries_set_rejects(seeded: Engine) -> None:
    result = run_and_read(seeded, "journal_entries_set_rejects")
    assert list(result.columns) == REJECT_COLUMNS
    assert reject_keys(result) == {("j.csv", 2, "J2", "UNBALANCED")}
    assert result.message.tolist() == ["debits 100.0000 do not equal credits 99.9800"]


def test_unaccounted_records(seeded: Engine) -> None:
    result = run_and_read(seeded, "unaccounted_records")
    assert list(result.columns) == ["entity", "source_key", "partition_day"]
    assert set(result.itertuples(index=False, name=None)) == {
        ("customers", "C-STALE", RUN_DAY),
        ("customers", "C-VALREJ", RUN_DAY),
        ("customers", "C-OTHERDAY-REJ", RUN_DAY),
        ("customers", "C-DELETED-BEFORE", RUN_DAY),
        ("invoices", "I1", RUN_DAY),
        ("invoices", "I7", RUN_DAY),
        ("invoice_line_items", "L1", RUN_DAY),
    }


@pytest.mark.postgres
def test_same_results_on_both_engines(tmp_path: Path, postgres_url: str) -> None:
    models = ["customers_set_rejects", "journal_entries_set_rejects", "unaccounted_records"]
    results: list[dict[str, list[tuple[Any, ...]]]] = []
    for opened in (duckdb_engine(tmp_path), postgres_engine(postgres_url)):
        with opened as engine:
            seed_permanent_tables(engine)
            results.append(
                {model: list(run_and_read(engine, model).itertuples(index=False, name=None)) for model in models}
            )
    duck, postgres = results
    assert duck == postgres

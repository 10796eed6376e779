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

from batch_orchestration.warehouse.backend import Warehouse, WarehouseSession, open_warehouse
from batch_orchestration.warehouse.schema import create_validated_records_view
from batch_orchestration.warehouse.sql_models import (
    ModelGraph,
    SqlModelError,
    discover_models,
    model_graph,
    run_models,
)

RUN_DAY = "2024-03-02"
REJECT_COLUMNS = ["source_file", "source_row", "source_key", "code", "message"]
SET_REJECT_MODELS = ["customers_set_rejects", "invoices_set_rejects", "invoice_line_items_set_rejects"]
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
    """CREATE TABLE validated_customers (partition_day TEXT, source_file TEXT, source_row BIGINT,
       source_key TEXT, content_hash TEXT, email TEXT, name TEXT)""",
    """CREATE TABLE validated_invoices (partition_day TEXT, source_file TEXT, source_row BIGINT,
       source_key TEXT, content_hash TEXT, customer_key TEXT)""",
    """CREATE TABLE validated_invoice_line_items (partition_day TEXT, source_file TEXT, source_row BIGINT,
       source_key TEXT, content_hash TEXT, invoice_key TEXT)""",
    """CREATE TABLE id_map (target TEXT, entity TEXT, source_key TEXT, target_id TEXT, content_hash TEXT,
       payload_hash TEXT, partition_day TEXT, updated_at TIMESTAMP)""",
    """CREATE TABLE rejects (entity TEXT, partition_day TEXT, source_file TEXT, source_row BIGINT,
       source_key TEXT, stage TEXT, code TEXT, message TEXT, target TEXT, rejected_at TIMESTAMP)""",
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
        ("a.csv", 9, "C8", "k@example.com", "DUPLICATE_KEY"),
        ("b.csv", 1, "C8", "k@example.com", "last of its key, same email as the superseded row: kept"),
        ("a.csv", 10, "C9", "x@example.com", "DUPLICATE_KEY"),
        ("a.csv", 11, "C9", "y@example.com", "DUPLICATE_KEY"),
        ("a.csv", 12, "C9", "z@example.com", "last of its key: kept"),
        ("a.csv", 20, "C10", None, "DUPLICATE_KEY (b.csv comes later than a.csv)"),
        ("b.csv", 2, "C10", None, "last of its key: kept"),
        ("a.csv", 13, "C11", "freed@example.com", "no longer C-MOVED's email: kept"),
        ("a.csv", 14, "C12", "future@example.com", "used only on a later day: kept"),
        ("a.csv", 15, "C13", "today@example.com", "used on the run day, not earlier: kept"),
        ("a.csv", 30, "C15", "ORDER@example.com", "first by (file, row): kept"),
        ("b.csv", 3, "C14", "order@example.com", "DUPLICATE_EMAIL (C15 in a.csv comes first)"),
        ("a.csv", 40, "C16", "x@example.com", "email of a superseded row: kept"),
    ],
)
CANDIDATE_INVOICES = (
    ["source_file", "source_row", "source_key", "customer_key", "invoice_date", "total_amount"],
    [
        ("i.csv", 1, "I1", "C-OLD", RUN_DAY, 30.0),
        ("i.csv", 2, "I2", "C-TODAY-V", RUN_DAY, 10.01),  # exactly 0.01 from its line: within the tolerance
        ("i.csv", 3, "I3", "C-MAPPED", RUN_DAY, 10.0101),  # TOTAL_MISMATCH
        ("i.csv", 4, "I4", "C-FUTURE", RUN_DAY, 5.0),  # CUSTOMER_UNKNOWN: validated only later
        ("i.csv", 5, "I5", "C-WRONG-ENTITY", RUN_DAY, 5.0),  # CUSTOMER_UNKNOWN: mapped as an invoice
        ("i.csv", 6, "I6", "C-OLD", RUN_DAY, 5.0),  # NO_LINES
        ("i.csv", 7, "I7", "C-OLD", RUN_DAY, 99.0),  # DUPLICATE_KEY only
        ("i.csv", 8, "I7", "C-OLD", RUN_DAY, 7.0),
        ("i.csv", 9, "I8", "NOPE", RUN_DAY, 1.0),  # CUSTOMER_UNKNOWN and NO_LINES
        ("i.csv", 10, "I9", "C-OLD", RUN_DAY, 4.0),  # matches its kept line, not the superseded one
    ],
)
CANDIDATE_LINES = (
    ["source_file", "source_row", "source_key", "invoice_key", "line_number", "quantity", "unit_price"],
    [
        ("l.csv", 1, "L1", "I1", 1, 2.0, 10.0),
        ("l.csv", 2, "L2", "I1", 2, 1.0, 10.0),
        ("l.csv", 3, "L3", "I2", 1, 1.0, 10.0),
        ("l.csv", 4, "L4", "I3", 1, 1.0, 10.0),  # INVOICE_NOT_VALID: I3 was rejected
        ("l.csv", 5, "L5", "I4", 1, 1.0, 5.0),  # INVOICE_NOT_VALID
        ("l.csv", 6, "L6", "I5", 1, 1.0, 5.0),  # INVOICE_NOT_VALID
        ("l.csv", 7, "L7", "I7", 1, 1.0, 7.0),
        ("l.csv", 20, "L9", "I9", 1, 1.0, 3.0),  # DUPLICATE_KEY
        ("l.csv", 21, "L9", "I9", 1, 1.0, 4.0),
        ("l.csv", 30, "L-OLD", "I-OLD", 1, 1.0, 1.0),  # INVOICE_NOT_VALID: validated on an earlier day
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
    session.create_temp_table("candidate_invoices", frame(CANDIDATE_INVOICES))
    session.create_temp_table("candidate_invoice_line_items", frame(CANDIDATE_LINES))


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
    invoices = graph.node("invoices_set_rejects")
    assert invoices.layer == "validated"
    assert invoices.path.name == "invoices_set_rejects.sql"
    assert invoices.upstream_models == ("invoice_candidates_ranked", "invoice_line_totals")
    assert invoices.upstream_sources == ("id_map", "run_context", "validated_customers")
    totals = graph.node("invoice_line_totals")
    assert totals.upstream_models == ("invoice_line_item_candidates_ranked",)
    assert totals.upstream_sources == ()
    assert graph.node("unaccounted_records").upstream_sources == ("id_map", "rejects", "run_context",
                                                                  "validated_records")


def test_column_lineage() -> None:
    graph = model_graph()
    totals = graph.node("invoice_line_totals").column_lineage
    assert totals == {
        "invoice_key": [("invoice_line_item_candidates_ranked", "invoice_key")],
        "line_count": [],
        "lines_total": [
            ("invoice_line_item_candidates_ranked", "quantity"),
            ("invoice_line_item_candidates_ranked", "unit_price"),
        ],
    }
    ranked = graph.node("customer_candidates_ranked").column_lineage
    assert ranked["email_norm"] == [("candidate_customers", "email")]
    invoice_message = graph.node("invoices_set_rejects").column_lineage["message"]
    assert ("invoice_line_totals", "lines_total") in invoice_message
    assert ("invoice_candidates_ranked", "total_amount") in invoice_message
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
    assert [(run.name, run.layer) for run in runs] == [
        ("customer_candidates_ranked", "staging"),
        ("customers_set_rejects", "validated"),
    ]
    assert runs[0].row_count == len(CANDIDATE_CUSTOMERS[1])
    assert runs[1].row_count == 7
    assert runs[1].upstream_tables == ("customer_candidates_ranked", "run_context", "validated_customers")


def test_models_are_session_private(seeded: Engine) -> None:
    with seeded.session() as session:
        create_day_temp_tables(session)
        run_models(session, select=["invoice_line_totals"], count_rows=False)
    with seeded.session() as session:
        assert not session.table_exists("invoice_line_totals")


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
        ("a.csv", 9, "C8", "DUPLICATE_KEY"),
        ("a.csv", 10, "C9", "DUPLICATE_KEY"),
        ("a.csv", 11, "C9", "DUPLICATE_KEY"),
        ("a.csv", 20, "C10", "DUPLICATE_KEY"),
    }
    messages = dict(zip(result.source_key, result.message, strict=False))
    assert messages["C2"] == "email dup@example.com is already used by customer C1 earlier in the day"
    assert messages["C3"] == "email taken@example.com is already used by customer C-OLD from an earlier day"
    assert messages["C14"] == "email order@example.com is already used by customer C15 earlier in the day"


def test_invoices_set_rejects(seeded: Engine) -> None:
    result = run_and_read(seeded, "invoices_set_rejects")
    assert list(result.columns) == REJECT_COLUMNS
    assert reject_keys(result) == {
        ("i.csv", 3, "I3", "TOTAL_MISMATCH"),
        ("i.csv", 4, "I4", "CUSTOMER_UNKNOWN"),
        ("i.csv", 5, "I5", "CUSTOMER_UNKNOWN"),
        ("i.csv", 6, "I6", "NO_LINES"),
        ("i.csv", 7, "I7", "DUPLICATE_KEY"),
        ("i.csv", 9, "I8", "CUSTOMER_UNKNOWN"),
        ("i.csv", 9, "I8", "NO_LINES"),
    }
    (mismatch,) = result.loc[result.code == "TOTAL_MISMATCH", "message"]
    assert mismatch == "total_amount 10.0101 differs from the sum of its lines 10.0000 by more than 0.01"


def test_invoice_line_totals_count_only_kept_lines(seeded: Engine) -> None:
    result = run_and_read(seeded, "invoice_line_totals").set_index("invoice_key")
    assert result.loc["I1", "line_count"] == 2
    assert result.loc["I1", "lines_total"] == pytest.approx(30.0)
    assert result.loc["I9", "line_count"] == 1
    assert result.loc["I9", "lines_total"] == pytest.approx(4.0)


def test_invoice_line_items_set_rejects(seeded: Engine) -> None:
    result = run_and_read(seeded, "invoice_line_items_set_rejects")
    assert list(result.columns) == REJECT_COLUMNS
    assert reject_keys(result) == {
        ("l.csv", 4, "L4", "INVOICE_NOT_VALID"),
        ("l.csv", 5, "L5", "INVOICE_NOT_VALID"),
        ("l.csv", 6, "L6", "INVOICE_NOT_VALID"),
        ("l.csv", 20, "L9", "DUPLICATE_KEY"),
        ("l.csv", 30, "L-OLD", "INVOICE_NOT_VALID"),
    }
    assert "invoice I-OLD is not among the invoices validated on 2024-03-02" in set(result.message)


def test_unaccounted_records(seeded: Engine) -> None:
    result = run_and_read(seeded, "unaccounted_records")
    assert list(result.columns) == ["entity", "source_key", "partition_day"]
    assert set(result.itertuples(index=False, name=None)) == {
        ("customers", "C-STALE", RUN_DAY),
        ("customers", "C-VALREJ", RUN_DAY),
        ("customers", "C-OTHERDAY-REJ", RUN_DAY),
        ("invoices", "I1", RUN_DAY),
        ("invoices", "I7", RUN_DAY),
        ("invoice_line_items", "L1", RUN_DAY),
    }


@pytest.mark.postgres
def test_same_results_on_both_engines(tmp_path: Path, postgres_url: str) -> None:
    models = [
        "customers_set_rejects",
        "invoices_set_rejects",
        "invoice_line_items_set_rejects",
        "invoice_line_totals",
        "unaccounted_records",
    ]
    results: list[dict[str, list[tuple[Any, ...]]]] = []
    for opened in (duckdb_engine(tmp_path), postgres_engine(postgres_url)):
        with opened as engine:
            seed_permanent_tables(engine)
            results.append(
                {model: list(run_and_read(engine, model).itertuples(index=False, name=None)) for model in models}
            )
    duck, postgres = results
    assert duck == postgres

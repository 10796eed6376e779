"""The warehouse sink on DuckDB and on PostgreSQL: same code, same tests."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_orchestration.ingest.landing import LocalLandingZone
from batch_orchestration.ingest.mapping import ColumnMapping, load_mapping, parse_mapping
from batch_orchestration.ingest.reports import PartitionResult
from batch_orchestration.ingest.sinks import StagingSink, WarehouseStagingSink
from batch_orchestration.ingest.staging import stage_partition
from batch_orchestration.warehouse.backend import Warehouse, open_warehouse, quote_identifier
from batch_orchestration.warehouse.schema import staged_table

from .conftest import WriteFile

HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR,PHONE_NO"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        return open_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    return open_warehouse(request.getfixturevalue("postgres_url"))


@pytest.fixture
def table(warehouse: Warehouse) -> Iterator[str]:
    """A table name of this test alone, so parallel runs on one PostgreSQL never collide."""
    name = f"staged_customers_{uuid.uuid4().hex[:10]}"
    yield name
    with warehouse.session() as session:
        session.execute(f"DROP TABLE IF EXISTS {quote_identifier(name)}")


class Stager:
    def __init__(self, warehouse: Warehouse, table: str, zone: LocalLandingZone) -> None:
        self.warehouse = warehouse
        self.table = table
        self.zone = zone
        self.mapping = load_mapping("customers")

    def run(self, day: str, chunk_rows: int = 50_000, mapping: ColumnMapping | None = None) -> PartitionResult:
        with WarehouseStagingSink(table=self.table) as sink:
            result = stage_partition(self.zone, mapping or self.mapping, day, sink, chunk_rows=chunk_rows)
            with self.warehouse.session() as session:
                sink.replace_day(session)
        return result

    def rows(self, columns: str = "partition_day, source_file, source_row, customer_key, name, email") -> list[tuple]:
        with self.warehouse.session() as session:
            return session.fetch_all(
                f"SELECT {columns} FROM {quote_identifier(self.table)} ORDER BY partition_day, source_file, source_row"
            )


@pytest.fixture
def stager(warehouse: Warehouse, table: str, local_zone: LocalLandingZone) -> Stager:
    return Stager(warehouse, table, local_zone)


def test_is_a_staging_sink() -> None:
    assert isinstance(WarehouseStagingSink(), StagingSink)
    assert staged_table("customers") == "staged_customers"


def test_creates_the_table_in_mapping_order(stager: Stager, write_file: WriteFile) -> None:
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice,,\n")
    stager.run("2024-01-15")
    with stager.warehouse.session() as session:
        columns = session.fetch_all(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            (stager.table,),
        )
    names = [name for name, _ in columns]
    assert names == ["partition_day", "source_file", "source_row", "content_hash", *stager.mapping.fields]
    types = {name: kind.upper() for name, kind in columns}
    assert types["source_row"] == "BIGINT"
    assert {types[f] for f in stager.mapping.fields} <= {"TEXT", "VARCHAR"}


def test_values_nulls_and_lineage_are_stored(stager: Stager, write_file: WriteFile) -> None:
    write_file("customers/2024-01-15/a.csv", f'{HEADER}\nC1, Alice ,,\nC2,"Bob\nJr",b@x,+1 555\n')
    stager.run("2024-01-15")
    assert stager.rows() == [
        ("2024-01-15", "customers/2024-01-15/a.csv", 1, "C1", "Alice", None),
        ("2024-01-15", "customers/2024-01-15/a.csv", 2, "C2", "Bob\nJr", "b@x"),
    ]
    hashes = [row[0] for row in stager.rows("content_hash")]
    assert all(len(h) == 64 for h in hashes)


def test_restaging_a_day_is_idempotent_and_leaves_other_days(stager: Stager, write_file: WriteFile) -> None:
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice,,\nC2,Bob,,\n")
    write_file("customers/2024-01-16/a.csv", f"{HEADER}\nC3,Carol,,\n")
    stager.run("2024-01-15")
    stager.run("2024-01-16")
    first = stager.rows("partition_day, source_file, source_row, content_hash, customer_key")
    stager.run("2024-01-15")
    stager.run("2024-01-15")
    assert stager.rows("partition_day, source_file, source_row, content_hash, customer_key") == first
    assert len(first) == 3


def test_restaging_replaces_the_day_with_the_new_content(stager: Stager, write_file: WriteFile) -> None:
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice,,\nC2,Bob,,\n")
    write_file("customers/2024-01-15/b.csv", f"{HEADER}\nC9,Zed,,\n")
    stager.run("2024-01-15")
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice Smith,,\n")
    (Path(stager.zone.root) / "customers/2024-01-15/b.csv").unlink()
    stager.run("2024-01-15")
    assert [(r[3], r[4]) for r in stager.rows()] == [("C1", "Alice Smith")]


def test_a_file_refused_midway_leaves_nothing_staged(stager: Stager, write_file: WriteFile) -> None:
    rows = "".join(f"C{i},Name {i},,\n" for i in range(1, 21))
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\n{rows}".encode() + b"C21,\xff,,\n")
    write_file("customers/2024-01-15/b.csv", f"{HEADER}\nB1,Beth,,\n")
    result = stager.run("2024-01-15", chunk_rows=4)  # five chunks of a.csv were written before the bad byte
    assert dict(Counter(r.code for r in result.rejects)) == {"INVALID_UTF8": 1}
    assert [r[1] for r in stager.rows()] == ["customers/2024-01-15/b.csv"]


def test_a_failing_run_rolls_back_to_the_previous_staging(stager: Stager, write_file: WriteFile) -> None:
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice,,\n")
    stager.run("2024-01-15")
    before = stager.rows()
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Changed,,\nC2,New,,\n")
    with WarehouseStagingSink(table=stager.table) as sink:
        stage_partition(stager.zone, stager.mapping, "2024-01-15", sink)
        with pytest.raises(RuntimeError, match="the step failed"), stager.warehouse.session() as session:
            sink.replace_day(session)
            raise RuntimeError("the step failed after staging")
    assert stager.rows() == before


def test_a_field_added_to_the_mapping_adds_a_column(stager: Stager, write_file: WriteFile) -> None:
    small = parse_mapping("entity: customers\ncolumns: {customer_key: CUST_NO, name: CUST_NAME}\n")
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice,a@x,\n")
    stager.run("2024-01-15", mapping=small)
    stager.run("2024-01-15")
    assert stager.rows() == [("2024-01-15", "customers/2024-01-15/a.csv", 1, "C1", "Alice", "a@x")]


def test_the_spool_is_removed_after_the_partition(stager: Stager, write_file: WriteFile, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice,,\nC2,Bob,,\n")
    with WarehouseStagingSink(table=stager.table, spool_dir=spool_dir) as sink:
        stage_partition(stager.zone, stager.mapping, "2024-01-15", sink, chunk_rows=1)
        assert list(spool_dir.iterdir()) != []
        with stager.warehouse.session() as session:
            sink.replace_day(session)
    assert list(spool_dir.iterdir()) == []
    assert len(stager.rows()) == 2


def test_the_spool_is_removed_when_staging_fails(stager: Stager, write_file: WriteFile, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    write_file("customers/2024-01-15/a.csv", f"{HEADER}\nC1,Alice,,\n")
    with pytest.raises(RuntimeError, match="landing store failed"), WarehouseStagingSink(spool_dir=spool_dir) as sink:
        stage_partition(stager.zone, stager.mapping, "2024-01-15", sink)
        raise RuntimeError("the landing store failed")
    assert list(spool_dir.iterdir()) == []


def test_the_sink_is_used_in_order(warehouse: Warehouse, customers_mapping: ColumnMapping) -> None:
    sink = WarehouseStagingSink()
    with pytest.raises(RuntimeError, match=r"begin_partition\(\) was not called"):
        sink.discard_file("customers/2024-01-15/a.csv")
    sink.begin_partition(customers_mapping, "2024-01-15")
    with pytest.raises(RuntimeError, match=r"finish_partition\(\) was not called"), warehouse.session() as session:
        sink.replace_day(session)
    sink.close()
    with pytest.raises(RuntimeError, match=r"begin_partition\(\) was not called"):
        sink.finish_partition()

"""stage_day on both warehouses: the landing files are read with the warehouse free, the day written as one."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import duckdb
import psycopg
import pytest

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.ingest.landing import LandingFile, LandingZone, LocalLandingZone
from batch_orchestration.orchestration.stages import stage_day
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.schema import ensure_schema

if TYPE_CHECKING:
    from batch_orchestration.ingest.landing import DayListing

DAY = "2024-03-01"
HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR,PHONE_NO"
CUSTOMERS = ENTITIES["customers"]
# How long the probe waits for a session before calling the warehouse locked. A deadlock guard, not a
# speed requirement: a free warehouse answers at once, a locked one would wait for the whole staging.
LOCK_WAIT_SECONDS = 20.0


class OtherRun:
    """Takes the warehouse from another thread, as a run of another asset would, and says what it found."""

    def __init__(self, url: str, staging_application: str) -> None:
        self.url = url
        self.staging_application = staging_application
        self.findings: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=1)

    def probe(self) -> None:
        future = self._pool.submit(self._take_the_warehouse)
        try:
            self.findings.append(future.result(timeout=LOCK_WAIT_SECONDS))
        except FutureTimeout:
            self.findings.append("locked: another session could not open the warehouse")

    def _take_the_warehouse(self) -> str:
        with open_warehouse(self.url).session() as session:
            session.execute("CREATE TABLE IF NOT EXISTS other_run (n BIGINT)")
            session.execute("INSERT INTO other_run VALUES (1)")
            if session.dialect == "postgres":
                (open_connections,) = session.fetch_all(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = ?", (self.staging_application,)
                )[0]
                if open_connections:
                    return f"staging holds {open_connections} connection(s) open"
        return "free"

    def close(self) -> None:
        """Waits for a probe still queued behind the lock (it gets in once staging has finished)."""
        self._pool.shutdown(wait=True)


class ProbingZone:
    """A landing zone whose files, as each is opened, let another run try to take the warehouse."""

    def __init__(self, inner: LandingZone, other: OtherRun) -> None:
        self.inner = inner
        self.other = other

    def _probing(self, file: LandingFile) -> LandingFile:
        def opener() -> BinaryIO:
            self.other.probe()
            return file.open()

        return replace(file, opener=opener)

    def list_day(self, entity: str, day: str) -> DayListing:
        listing = self.inner.list_day(entity, day)
        return replace(listing, files=[self._probing(f) for f in listing.files])

    def list_files(self, entity: str, day: str) -> list[LandingFile]:
        return [self._probing(f) for f in self.inner.list_files(entity, day)]

    def list_days(self, entity: str, since: str | None = None) -> list[str]:
        return self.inner.list_days(entity, since)

    def describe(self) -> str:
        return self.inner.describe()


def _write(root: Path, name: str, content: str) -> None:
    path = root / "customers" / DAY / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


@pytest.fixture
def landing_root(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def staging_url(warehouse_url: str) -> tuple[str, str]:
    """The warehouse URL staging uses, tagged on PostgreSQL with an application name the probe can look for."""
    ensure_schema(open_warehouse(warehouse_url))
    application = f"staging_{uuid.uuid4().hex[:10]}"
    if warehouse_url.startswith("postgresql://"):
        return f"{warehouse_url}&application_name={application}", application
    return warehouse_url, application


@pytest.fixture
def other_run(warehouse_url: str, staging_url: tuple[str, str]) -> Iterator[OtherRun]:
    other = OtherRun(warehouse_url, staging_url[1])
    yield other
    other.close()


def test_the_warehouse_is_free_while_the_landing_files_are_read(
    landing_root: Path, staging_url: tuple[str, str], other_run: OtherRun
) -> None:
    _write(landing_root, "a.csv", f"{HEADER}\nC1,Alice,a@x.org,\n")
    _write(landing_root, "b.csv", f"{HEADER}\nC2,Bob,b@x.org,\nC3,Carol\n")
    zone = ProbingZone(LocalLandingZone(landing_root), other_run)

    result = stage_day(open_warehouse(staging_url[0]), zone, CUSTOMERS, DAY)

    assert other_run.findings == ["free", "free"]
    assert (result.rows_staged, dict(Counter(r.code for r in result.rejects))) == (2, {"RAGGED_ROW": 1})
    with open_warehouse(staging_url[0]).session() as session:
        assert session.fetch_all("SELECT customer_key FROM staged_customers ORDER BY 1") == [("C1",), ("C2",)]
        assert session.fetch_all("SELECT source_file, code FROM rejects WHERE stage = 'staging'") == [
            (f"customers/{DAY}/b.csv", "RAGGED_ROW")
        ]


def test_a_failed_write_keeps_the_day_and_its_rejects_as_they_were(landing_root: Path, warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    _write(landing_root, "a.csv", f"{HEADER}\nC1,Alice,,\nC2,Bob\n")
    stage_day(warehouse, LocalLandingZone(landing_root), CUSTOMERS, DAY)
    with warehouse.session() as session:
        # A real failure in the last write of the transaction: the rejects table lost a column.
        session.execute("ALTER TABLE rejects DROP COLUMN message")
    _write(landing_root, "a.csv", f"{HEADER}\nC7,Changed,,\nC8,New,,\nC9\n")

    with pytest.raises((duckdb.Error, psycopg.Error)):
        stage_day(warehouse, LocalLandingZone(landing_root), CUSTOMERS, DAY)

    with warehouse.session() as session:
        assert session.fetch_all("SELECT customer_key, name FROM staged_customers") == [("C1", "Alice")]
        assert session.fetch_all("SELECT source_row, code FROM rejects") == [(2, "RAGGED_ROW")]


def test_restaging_replaces_the_rows_and_the_staging_rejects(landing_root: Path, warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    _write(landing_root, "a.csv", f"{HEADER}\nC1,Alice,,\nC2,Bob\n")
    stage_day(warehouse, LocalLandingZone(landing_root), CUSTOMERS, DAY)
    _write(landing_root, "a.csv", f"{HEADER}\nC1,Alice,,\nC2,Bob,,\n")
    stage_day(warehouse, LocalLandingZone(landing_root), CUSTOMERS, DAY)
    with warehouse.session() as session:
        assert session.fetch_all("SELECT customer_key FROM staged_customers ORDER BY 1") == [("C1",), ("C2",)]
        assert session.fetch_all("SELECT COUNT(*) FROM rejects") == [(0,)]

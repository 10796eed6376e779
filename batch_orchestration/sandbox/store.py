"""Persistence of everything the sandbox accepts: one SQLite database, one connection, one lock.

Records of every API family live in one ``records`` table keyed by (company, entity, id), with the
record itself as JSON; each family may add tables of its own through :meth:`Store.ensure_schema`.
Transactions nest through savepoints, so a batch can run each operation in its own savepoint and
still be rolled back whole (``rollbackOnError``) or discarded (``validateOnly``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    company TEXT NOT NULL,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (company, entity, id)
);
CREATE INDEX IF NOT EXISTS records_by_entity ON records (company, entity, seq);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    company TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with a ``Z``, as the seeds print them."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Discard(Exception):
    """Raised inside :meth:`Store.transaction` to undo it without reporting an error."""


class Store:
    """A thread-safe SQLite store; ``:memory:`` for tests, a file path to survive restarts."""

    def __init__(self, path: str = ":memory:") -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self.ensure_schema(_SCHEMA)

    def ensure_schema(self, ddl: str) -> None:
        with self._lock:
            self._conn.executescript(ddl)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Run the block atomically; nested blocks are savepoints. Raise :class:`Discard` to undo."""
        with self._lock:
            savepoint = f"sp{self._depth}"
            self._conn.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {savepoint}")
                    self._conn.execute(f"RELEASE {savepoint}")
                raise
            else:
                self._depth -= 1
                self._conn.execute("COMMIT" if self._depth == 0 else f"RELEASE {savepoint}")

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- records -------------------------------------------------------------------------------

    def next_number(self, name: str) -> int:
        """A persistent counter, for ids like ``cust_000042`` and ``CUST-0042``."""
        with self.transaction():
            self.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1",
                (name,),
            )
            return int(self.execute("SELECT value FROM counters WHERE name = ?", (name,))[0][0])

    def insert(self, company: str, entity: str, record_id: str, data: dict[str, Any]) -> None:
        now = utc_now()
        self.execute(
            "INSERT INTO records (company, entity, id, data, created_at, updated_at) VALUES (?,?,?,?,?,?)",
            (company, entity, record_id, json.dumps(data), now, now),
        )

    def replace(self, company: str, entity: str, record_id: str, data: dict[str, Any]) -> None:
        self.execute(
            "UPDATE records SET data = ?, updated_at = ? WHERE company = ? AND entity = ? AND id = ?",
            (json.dumps(data), utc_now(), company, entity, record_id),
        )

    def delete(self, company: str, entity: str, record_id: str) -> bool:
        with self._lock:
            cursor = self._conn.execute(
                "DELETE FROM records WHERE company = ? AND entity = ? AND id = ?", (company, entity, record_id)
            )
            return cursor.rowcount > 0

    def get(self, company: str, entity: str, record_id: str) -> dict[str, Any] | None:
        rows = self.execute(
            "SELECT data FROM records WHERE company = ? AND entity = ? AND id = ?", (company, entity, record_id)
        )
        return json.loads(rows[0]["data"]) if rows else None

    def all(self, company: str, entity: str) -> list[dict[str, Any]]:
        rows = self.execute(
            "SELECT data FROM records WHERE company = ? AND entity = ? ORDER BY seq", (company, entity)
        )
        return [json.loads(row["data"]) for row in rows]

    def find(self, company: str, entity: str, field: str, value: Any) -> list[dict[str, Any]]:
        """Records whose top-level ``field`` equals ``value`` (``field`` is ours, never a user's)."""
        rows = self.execute(
            "SELECT data FROM records WHERE company = ? AND entity = ? AND json_extract(data, ?) = ? ORDER BY seq",
            (company, entity, f"$.{field}", value),
        )
        return [json.loads(row["data"]) for row in rows]

    def counts(self, company: str) -> dict[str, int]:
        rows = self.execute(
            "SELECT entity, COUNT(*) AS n FROM records WHERE company = ? GROUP BY entity ORDER BY entity",
            (company,),
        )
        return {row["entity"]: int(row["n"]) for row in rows}

    def reset(self, company: str) -> None:
        with self.transaction():
            self.execute("DELETE FROM records WHERE company = ?", (company,))
            self.execute("DELETE FROM jobs WHERE company = ?", (company,))

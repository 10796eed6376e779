"""One small interface over DuckDB and PostgreSQL, so the same pipeline code and tests run on both.

SQL is written with ``?`` placeholders (values from data are bound, never formatted into the text; the
row rules' SQL, whose regular expressions hold ``?`` and ``%``, takes no parameters and writes its few
values as escaped literals) and in the subset both engines share. A :class:`WarehouseSession` is one
connection and one transaction: temporary tables created in it are private to it, which lets
partitions run side by side.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

Dialect = Literal["duckdb", "postgres"]

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def is_identifier(name: str) -> bool:
    """The one rule for names that reach SQL or a path (tables, columns, entities, fields):
    lower-case letters, digits and underscores, not starting with a digit."""
    return bool(_IDENTIFIER.match(name))


def quote_identifier(name: str) -> str:
    """Quote a table or column name; names that are not plain identifiers are refused outright."""
    if not is_identifier(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


class WarehouseSession(ABC):
    """One connection in one transaction."""

    dialect: Dialect

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame: ...

    @abstractmethod
    def append_df(self, table: str, frame: pd.DataFrame) -> int:
        """Append the frame's rows to an existing table, matching columns by name."""

    @abstractmethod
    def create_temp_table(self, table: str, frame: pd.DataFrame, types: dict[str, str] | None = None) -> None:
        """A session-private table holding the frame (replacing one of that name).

        ``types`` gives SQL types by column; without it they are inferred from the frame, which an
        empty or all-NULL column cannot tell.
        """

    @abstractmethod
    def create_temp_table_as(self, table: str, query: str) -> None:
        """A session-private table holding what ``query`` selects (replacing one of that name).

        No parameters: such a query's literals (regular expressions holding ``?`` and ``%``) would not survive
        PostgreSQL's placeholders, so its values are literals the caller wrote with ``Sql.text``.
        """

    def insert_unordered(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run an ``INSERT ... SELECT`` whose rows may land in any order (every reader of the table orders
        its rows); DuckDB then inserts in parallel, about twice as fast on a large day."""
        self.execute(sql, params)

    def table_exists(self, table: str) -> bool:
        rows = self.fetch_all(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?", (table,)
        )
        return bool(rows[0][0])


class Warehouse(ABC):
    """A warehouse location; sessions are opened per unit of work."""

    url: str
    dialect: Dialect

    @property
    def shown_url(self) -> str:
        """The URL as it may be printed: a password in it is replaced by ``***``."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))

    @abstractmethod
    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """Open a connection, begin, commit on success, roll back on error, close."""


def nulls_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as Python objects with every missing value (NaN, NA, NaT) as None."""
    return frame.astype(object).where(frame.notna(), None)


def _frame_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as Python values with missing values as None (what both drivers bind as NULL)."""
    return [tuple(row) for row in nulls_as_none(frame).itertuples(index=False, name=None)]


# -- DuckDB ------------------------------------------------------------------------------------


_NULLABLE_INTEGERS = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}


class DuckDBSession(WarehouseSession):
    dialect: Dialect = "duckdb"

    def __init__(self, connection: Any) -> None:
        self._con = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params))

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._con.execute(sql, list(params)).fetchall()

    def fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        relation = self._con.sql(sql, params=list(params) or None)
        decimals = [name for name, kind in zip(relation.columns, relation.types, strict=True)
                    if str(kind).startswith("DECIMAL")]
        if not decimals:
            return relation.df()
        # DuckDB's DataFrame conversion turns DECIMAL into float64; money must stay exact.
        table = relation.to_arrow_table()
        frame = table.drop_columns(decimals).to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
        for name in decimals:
            frame[name] = pd.Series(table.column(name).to_pylist(), dtype=object)
        return frame[table.column_names]

    def append_df(self, table: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        self._con.register("_append_frame", frame)
        try:
            columns = ", ".join(quote_identifier(c) for c in frame.columns)
            self._con.execute(
                f"INSERT INTO {quote_identifier(table)} ({columns}) SELECT {columns} FROM _append_frame"
            )
        finally:
            self._con.unregister("_append_frame")
        return len(frame)

    def create_temp_table(self, table: str, frame: pd.DataFrame, types: dict[str, str] | None = None) -> None:
        columns = ", ".join(
            f"CAST({quote_identifier(str(c))} AS {types[c]}) AS {quote_identifier(str(c))}"
            if types and c in types else quote_identifier(str(c))
            for c in frame.columns
        )
        self._con.register("_temp_frame", frame)
        try:
            self._con.execute(
                f"CREATE OR REPLACE TEMP TABLE {quote_identifier(table)} AS SELECT {columns} FROM _temp_frame"
            )
        finally:
            self._con.unregister("_temp_frame")

    def create_temp_table_as(self, table: str, query: str) -> None:
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_identifier(table)} AS {query}")

    def insert_unordered(self, sql: str, params: Sequence[Any] = ()) -> None:
        # The setting is the database's: reset at once (a failed insert leaves it to the connection, which is
        # closed as the session rolls back).
        self.execute("SET preserve_insertion_order = false")
        self.execute(sql, params)
        self.execute("RESET preserve_insertion_order")


class DuckDBWarehouse(Warehouse):
    """A DuckDB file. DuckDB lets one process write at a time, so sessions hold a file lock.

    DuckDB would otherwise grow towards 80 % of the machine's memory on large loads; the limit
    (``BATCH_ORCHESTRATION_DUCKDB_MEMORY_LIMIT``, default 1GB) makes it spill to disk instead.
    """

    dialect: Dialect = "duckdb"

    def __init__(self, path: str, memory_limit: str | None = None) -> None:
        import os

        self.memory_limit = memory_limit or os.environ.get("BATCH_ORCHESTRATION_DUCKDB_MEMORY_LIMIT", "1GB")
        from filelock import FileLock

        self.path = Path(path)
        self.url = f"duckdb:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock")

    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        import duckdb

        with self._lock:
            con = duckdb.connect(str(self.path), config={"memory_limit": self.memory_limit})
            try:
                con.execute("BEGIN TRANSACTION")
                yield DuckDBSession(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.close()


# -- PostgreSQL --------------------------------------------------------------------------------


def _to_pyformat(sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
    """``?`` placeholders to psycopg's ``%s``; without parameters psycopg reads the text as it is."""
    if not params:
        return sql, None
    return sql.replace("%", "%%").replace("?", "%s"), list(params)


_PG_TYPES = {"i": "BIGINT", "u": "BIGINT", "f": "DOUBLE PRECISION", "b": "BOOLEAN", "M": "TIMESTAMP"}


class PostgresSession(WarehouseSession):
    dialect: Dialect = "postgres"

    def __init__(self, connection: Any) -> None:
        self._con = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(*_to_pyformat(sql, params))

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._con.execute(*_to_pyformat(sql, params)).fetchall()

    def fetch_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self._con.execute(*_to_pyformat(sql, params))
        columns = [d.name for d in cursor.description or []]
        return pd.DataFrame(cursor.fetchall(), columns=columns)

    def append_df(self, table: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        columns = ", ".join(quote_identifier(c) for c in frame.columns)
        with self._con.cursor().copy(f"COPY {quote_identifier(table)} ({columns}) FROM STDIN") as copy:
            for row in _frame_rows(frame):
                copy.write_row(row)
        return len(frame)

    def create_temp_table(self, table: str, frame: pd.DataFrame, types: dict[str, str] | None = None) -> None:
        name = quote_identifier(table)
        chosen = types or {}
        definitions = ", ".join(
            f"{quote_identifier(str(c))} {chosen.get(c) or _PG_TYPES.get(frame[c].dtype.kind, 'TEXT')}"
            for c in frame.columns
        )
        self._con.execute(f"DROP TABLE IF EXISTS {name}")
        self._con.execute(f"CREATE TEMP TABLE {name} ({definitions}) ON COMMIT DROP")
        self.append_df(table, frame)

    def create_temp_table_as(self, table: str, query: str) -> None:
        name = quote_identifier(table)
        self._con.execute(f"DROP TABLE IF EXISTS {name}")
        self._con.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {query}")


class PostgresWarehouse(Warehouse):
    dialect: Dialect = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url

    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        import psycopg

        with psycopg.connect(self.url) as con:  # commits on success, rolls back on error
            yield PostgresSession(con)


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_warehouse(url: str) -> Warehouse:
    """``duckdb:///path/to/file.duckdb`` (or a bare path) or ``postgresql://user@host/db``."""
    if is_postgres_url(url):
        return PostgresWarehouse(url)
    if url.startswith("duckdb:///"):
        return DuckDBWarehouse(url.removeprefix("duckdb:///"))
    if "://" in url:
        raise ValueError(f"unsupported warehouse URL scheme: {url.split('://', 1)[0]}")
    return DuckDBWarehouse(url)

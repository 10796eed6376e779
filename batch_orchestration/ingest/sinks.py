"""Where staged chunks go. A sink receives Arrow table chunks, and forgets a file on request.

Contract (what :func:`~batch_orchestration.ingest.staging.stage_partition` does with a sink):

1. ``begin_partition(mapping, day)`` once, before anything else;
2. ``append(table)`` for each chunk, files one after another, each chunk from a single file;
3. ``discard_file(source_file)`` when a file turns out bad after some of its chunks were appended:
   every row of that file must go, so a refused file leaves nothing staged;
4. ``finish_partition()`` once all files are done: what was appended is the whole partition. It is
   not called if staging raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from batch_orchestration.ingest.mapping import ColumnMapping
from batch_orchestration.ingest.spool import ParquetSpool
from batch_orchestration.warehouse.backend import WarehouseSession, quote_identifier
from batch_orchestration.warehouse.schema import ensure_staged_table, staged_table
from batch_orchestration.warehouse.schema import staged_columns as staged_table_columns  # name -> type

SPOOL_BATCH_ROWS = 50_000
_CONSTANT = ("partition_day", "source_file")  # the same on every row of a spooled file
STRING = pd.StringDtype("pyarrow")


@runtime_checkable
class StagingSink(Protocol):
    def begin_partition(self, mapping: ColumnMapping, day: str) -> None: ...

    def append(self, table: pa.Table) -> None: ...

    def discard_file(self, source_file: str) -> None: ...

    def finish_partition(self) -> None: ...


def staged_columns(mapping: ColumnMapping) -> list[str]:
    """Column order of a staged frame and table (the schema owner's): lineage columns, then fields."""
    return list(staged_table_columns(mapping.fields))


class WarehouseStagingSink:
    """Spools a partition while its files are read; ``replace_day`` then writes it in the caller's session.

    Reading the landing files (perhaps from S3) needs no warehouse: chunks go to local Parquet files
    (:class:`ParquetSpool`), so a session, and with it DuckDB's write lock, is held only for
    ``replace_day``: make sure the table fits, delete the day's old rows, load the spool. That runs in
    the caller's transaction, so the caller writes the day's rejects in it too and a re-stage commits
    or rolls back as one; memory stays bounded by a chunk. The table is created if missing (lineage
    columns, then one TEXT column per field in mapping order) and gains a TEXT column for a field
    added to the mapping later. Use the sink as a context manager: leaving it removes the spool.
    """

    def __init__(self, *, table: str | None = None, spool_dir: str | Path | None = None) -> None:
        self._table_override = table
        self._spool_dir = spool_dir
        self._spool: ParquetSpool | None = None
        self._mapping: ColumnMapping | None = None
        self._finished = False
        self.table = ""
        self.day = ""
        self.columns: list[str] = []

    def __enter__(self) -> WarehouseStagingSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def begin_partition(self, mapping: ColumnMapping, day: str) -> None:
        self.close()
        self.table = self._table_override or staged_table(mapping.entity)
        self.day = day
        self.columns = staged_columns(mapping)
        self._mapping = mapping
        self._spool = ParquetSpool(self._spool_dir)

    def append(self, table: pa.Table) -> None:
        if table.num_rows:
            # A chunk is of one file and day: those two columns are put back by ``replace_day``, not spooled.
            source_file = table.column("source_file")[0].as_py()
            self._active_spool().write(source_file, table.drop_columns(list(_CONSTANT)))

    def discard_file(self, source_file: str) -> None:
        self._active_spool().discard(source_file)

    def finish_partition(self) -> None:
        self._active_spool()  # raises if the partition was never begun
        self._finished = True

    def replace_day(self, session: WarehouseSession) -> None:
        """Replace what ``session`` holds for the day by the finished partition (in its transaction)."""
        spool = self._active_spool()
        if not self._finished or self._mapping is None:
            raise RuntimeError("finish_partition() was not called: the partition is not complete")
        ensure_staged_table(session, self.table, self._mapping.fields)
        name = quote_identifier(self.table)
        if session.dialect == "postgres":
            # Two runs of one partition at once would each delete, then both insert: serialise them.
            session.fetch_all("SELECT pg_advisory_xact_lock(hashtext(?))", (f"{self.table}/{self.day}",))
        session.execute(f"DELETE FROM {name} WHERE partition_day = ?", (self.day,))
        self._load(session, spool)

    def close(self) -> None:
        """Remove the spool (the partition, written or not, is forgotten)."""
        if self._spool is not None:
            self._spool.close()
        self._spool = None
        self._finished = False

    def _load(self, session: WarehouseSession, spool: ParquetSpool) -> None:
        columns = ", ".join(quote_identifier(c) for c in self.columns)
        selected = ", ".join("CAST(? AS TEXT)" if c in _CONSTANT else quote_identifier(c) for c in self.columns)
        for source_file, path in spool.files():
            constants = {"partition_day": self.day, "source_file": source_file}
            if session.dialect == "duckdb":
                session.insert_unordered(  # staged rows are always read ordered by file and row
                    f"INSERT INTO {quote_identifier(self.table)} ({columns}) SELECT {selected} FROM read_parquet(?)",
                    (*(constants[c] for c in self.columns if c in _CONSTANT), str(path)),
                )
                continue
            for batch in spool.batches(path, SPOOL_BATCH_ROWS):
                frame = batch.to_pandas(types_mapper=lambda kind: STRING if kind == pa.string() else None)
                session.append_df(self.table, frame.assign(**constants)[self.columns])

    def _active_spool(self) -> ParquetSpool:
        if self._spool is None:
            raise RuntimeError("begin_partition() was not called (or the sink is closed)")
        return self._spool

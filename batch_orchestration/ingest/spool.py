"""A per-file Parquet spool on local disk: staged chunks wait here until their partition is complete.

Writing chunk by chunk into one open warehouse transaction makes DuckDB keep the whole transaction
in memory; spooling keeps memory bounded by one chunk, lets a refused file be dropped by deleting
its spool file, and keeps the warehouse transaction down to "delete the day, load the spool".
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class ParquetSpool:
    """One Parquet file per source file, in a private temporary folder (removed by ``close``)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self._temp = tempfile.TemporaryDirectory(prefix="staging_spool_", dir=directory)
        self.root = Path(self._temp.name)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._paths: dict[str, Path] = {}

    def write(self, source_file: str, table: pa.Table) -> None:
        writer = self._writers.get(source_file)
        if writer is None:
            path = self.root / f"{len(self._paths):06d}.parquet"  # never a name taken from the data
            # Read back once, whole, moments later, from local disk: compression, dictionaries and statistics
            # would cost more than they save.
            writer = pq.ParquetWriter(path, table.schema, compression="none", use_dictionary=False,
                                      write_statistics=False)
            self._writers[source_file], self._paths[source_file] = writer, path
        writer.write_table(table)

    def discard(self, source_file: str) -> None:
        writer = self._writers.pop(source_file, None)
        if writer is not None:
            writer.close()
        path = self._paths.pop(source_file, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def files(self) -> list[tuple[str, Path]]:
        """Each source file and its spooled file, complete and closed, in the order the sources were staged."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        return list(self._paths.items())

    @staticmethod
    def batches(path: Path, rows: int) -> Iterator[pa.RecordBatch]:
        """A spooled file, ``rows`` at a time."""
        yield from pq.ParquetFile(path).iter_batches(batch_size=rows)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        self._paths.clear()
        self._temp.cleanup()

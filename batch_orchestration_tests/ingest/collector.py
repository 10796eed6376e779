"""A staging sink that keeps the chunks in memory, so tests can look at what staging produced."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from batch_orchestration.ingest.mapping import ColumnMapping
from batch_orchestration.ingest.sinks import STRING, staged_columns


class FrameCollector:
    """Keeps the chunks in memory: for tests and small previews, not for big files."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []
        self.columns: list[str] = []

    def begin_partition(self, mapping: ColumnMapping, day: str) -> None:
        self.frames = []
        self.columns = staged_columns(mapping)

    def append(self, table: pa.Table) -> None:
        self.frames.append(table.to_pandas(types_mapper=lambda kind: STRING if kind == pa.string() else None))

    def discard_file(self, source_file: str) -> None:
        self.frames = [f for f in self.frames if not (f["source_file"] == source_file).any()]

    def finish_partition(self) -> None:
        """Nothing to do: the frames are the partition."""

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame({c: pd.Series(dtype="string") for c in self.columns})
        return pd.concat(self.frames, ignore_index=True)

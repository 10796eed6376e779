"""Stage the CSV exports of one entity and day: map legacy headers to canonical fields, in chunks.

Memory stays flat whatever the file size: bytes are decoded block by block
(:mod:`~batch_orchestration.ingest.csv_stream`), parsed by ``csv.reader`` and handed to the sink
every ``chunk_rows`` rows as a DataFrame, built column by column (the per-row work is the parser's).
Each staged row carries its lineage (``partition_day``, ``source_file``, 1-based ``source_row``
counting data rows after the header, ``content_hash``) and every canonical field as a nullable
string, stripped, empty -> null.

Bad input never crashes and is never dropped silently: a file is refused as a whole (empty,
not in its declared encoding, malformed quoting, unusable header) and then nothing of it stays
staged, or single rows are refused (ragged, NUL bytes) and the rest is kept; each refusal is a
``RejectRecord``.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from batch_orchestration.entities.registry import join_key
from batch_orchestration.ingest import reports as codes
from batch_orchestration.ingest.csv_stream import DecodedLines, InvalidEncoding
from batch_orchestration.ingest.landing import LandingFile, LandingZone, check_day
from batch_orchestration.ingest.mapping import ColumnMapping, normalize_header
from batch_orchestration.ingest.reports import FileNote, FileReport, PartitionResult
from batch_orchestration.ingest.sinks import StagingSink, staged_columns
from batch_orchestration.validate.rejects import RejectRecord

CHUNK_ROWS = 50_000
STRING = pd.StringDtype("pyarrow")


def content_hash(values: list[str | None]) -> str:
    """sha256 hex of the canonical values in field order, stable across runs and machines.

    Values are joined with NUL, null written as nothing. That is unambiguous because staged values
    are never empty (empty cells become null) and never contain NUL (such rows are refused).
    """
    return hashlib.sha256("\x00".join([v or "" for v in values]).encode("utf-8")).hexdigest()


class FileRejected(Exception):
    """The whole file is refused for ``code``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class HeaderPlan:
    """Where each canonical field sits in a file's rows (``width`` = absent, read as empty)."""

    width: int
    positions: tuple[int, ...]
    unknown: list[str]
    missing_required: list[str]
    missing_optional: list[str]


def plan_header(header: list[str], mapping: ColumnMapping) -> HeaderPlan:
    """Match a header to the mapping; raises FileRejected if it is unusable whatever the policies."""
    if any("\x00" in name for name in header):
        raise FileRejected(codes.NUL_BYTE, "the header contains NUL bytes (is the file UTF-16?)")
    normalized = [normalize_header(name) for name in header]
    lookup = mapping.legacy_to_field
    duplicated = sorted(
        header[normalized.index(n)].strip() for n, count in Counter(normalized).items() if count > 1 and n in lookup
    )
    if duplicated:
        raise FileRejected(codes.DUPLICATE_HEADER, f"mapped columns appear more than once in the header: {duplicated}")
    index = {name: i for i, name in enumerate(normalized)}
    unknown = [
        name.replace("\ufeff", "").strip() for name, n in zip(header, normalized, strict=True) if n not in lookup
    ]
    width = len(header)
    positions = tuple(index.get(normalize_header(mapping.columns[f]), width) for f in mapping.fields)
    absent = [f for f, p in zip(mapping.fields, positions, strict=True) if p == width]
    missing_required = [f for f in absent if f in mapping.required]
    missing_optional = [f for f in absent if f not in mapping.required]
    return HeaderPlan(width, positions, unknown, missing_required, missing_optional)


def _where(row: int, first_line: int, last_line: int) -> str:
    """'row 4 (line 6)', or 'row 4 (lines 6-7)' for a record with quoted newlines."""
    lines = f"line {first_line}" if first_line == last_line else f"lines {first_line}-{last_line}"
    return f"row {row} ({lines})"


def _is_blank(record: list[str], plan: HeaderPlan | None) -> bool:
    """An empty line (or a whitespace-only one, unless the file really has a single column)."""
    if not record:
        return True
    single_column = plan is not None and plan.width == 1
    return len(record) == 1 and not single_column and not record[0].strip()


def check_policies(plan: HeaderPlan, mapping: ColumnMapping) -> None:
    """Apply the mapping's policies for unknown and missing columns; raises FileRejected."""
    if plan.unknown and mapping.on_unknown_columns == "reject_file":
        raise FileRejected(codes.UNKNOWN_COLUMNS, f"columns not in the mapping: {plan.unknown}")
    if plan.missing_required and mapping.on_missing_columns == "reject_file":
        legacy = [mapping.columns[f] for f in plan.missing_required]
        raise FileRejected(codes.MISSING_COLUMNS, f"required columns missing from the header: {legacy}")


def _content_hash_sql(count: int) -> str:
    """:func:`content_hash` in DuckDB over columns ``c0``..``c<count-1>``, for a whole chunk at once."""
    joined = ", ".join(f"coalesce(c{i}, '')" for i in range(count))
    return f"sha256(concat_ws(chr(0), {joined}))"


class _Chunk:
    """Rows of one file waiting to become a DataFrame: the records as parsed, turned into columns at once.

    Per row, only the parsed record and its row number are kept; stripping, empty -> null and the
    content hash are done column by column (the hash by DuckDB), which is most of what staging costs.
    """

    def __init__(self, mapping: ColumnMapping, day: str, key: str, positions: tuple[int, ...], width: int) -> None:
        self.mapping = mapping
        self.day = day
        self.key = key
        self.positions = positions
        self.width = width
        self.rows: list[int] = []
        self.records: list[list[str]] = []
        # The hash is of the record's own fields: a changes export's operation is no part of its content.
        self.hashed = [mapping.fields.index(name) for name in mapping.record_fields]
        self._hasher = duckdb.connect()
        self._hash_sql = f"SELECT {_content_hash_sql(len(self.hashed))} AS content_hash FROM chunk"

    def __len__(self) -> int:
        return len(self.rows)

    def _field_columns(self) -> list[pa.Array]:
        count = len(self.records)
        parsed = list(zip(*self.records, strict=True)) if count else []
        columns = []
        for position in self.positions:
            if position == self.width or not count:  # absent from the header: read as empty, so null
                columns.append(pa.nulls(count, pa.string()))
                continue
            stripped = pa.array(list(map(str.strip, parsed[position])), pa.string())
            columns.append(pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped))
        return columns

    def take_frame(self) -> pd.DataFrame:
        count = len(self.rows)
        columns = self._field_columns()
        chunk = pa.table([columns[i] for i in self.hashed], names=[f"c{i}" for i in range(len(self.hashed))])
        self._hasher.register("chunk", chunk)
        try:
            hashes = self._hasher.sql(self._hash_sql).to_arrow_table().column(0)
        finally:
            self._hasher.unregister("chunk")
        data = {
            "partition_day": pa.array([self.day] * count, pa.string()),
            "source_file": pa.array([self.key] * count, pa.string()),
            "source_row": pa.array(self.rows, pa.int64()),
            "content_hash": hashes,
            **dict(zip(self.mapping.fields, columns, strict=True)),
        }
        self.rows, self.records = [], []
        table = pa.table(data).select(staged_columns(self.mapping))
        return table.to_pandas(types_mapper=lambda kind: STRING if kind == pa.string() else None)


class _FileStager:
    """Stages one file into the sink, filling in its report."""

    def __init__(self, file: LandingFile, mapping: ColumnMapping, day: str, sink: StagingSink, chunk_rows: int) -> None:
        self.file = file
        self.mapping = mapping
        self.day = day
        self.sink = sink
        self.chunk_rows = chunk_rows
        self.report = FileReport(key=file.key, version=file.version, size=file.size)
        self.appended = False

    def reject(self, code: str, message: str, row: int | None = None, key: str | None = None) -> None:
        self.report.rejects.append(
            RejectRecord(
                entity=self.mapping.entity,
                partition_day=self.day,
                source_file=self.file.key,
                source_row=row,
                source_key=key,
                stage="staging",
                code=code,
                message=message,
            )
        )

    def note(self, code: str, message: str) -> None:
        self.report.notes.append(FileNote(code, message))

    def run(self) -> FileReport:
        try:
            with self.file.open() as stream:
                self._stage(DecodedLines(stream, encoding=self.mapping.formats.encoding))
        except FileRejected as exc:
            self._refuse(exc.code, str(exc))
        except InvalidEncoding as exc:
            code = codes.INVALID_UTF8 if exc.encoding == "utf-8" else codes.INVALID_ENCODING
            self._refuse(code, f"{exc}; the whole file is refused")
        return self.report

    def _refuse(self, code: str, message: str) -> None:
        """Refuse the whole file: forget its rows (staged or rejected), keep one file-level reject."""
        if self.appended:
            self.sink.discard_file(self.file.key)
        self.report.rows_staged = 0
        self.report.rejected = True
        self.report.rejects = []
        self.reject(code, message)

    def _stage(self, lines: DecodedLines) -> None:
        reader = csv.reader(lines, strict=True, delimiter=self.mapping.formats.delimiter)
        blank = 0
        plan: HeaderPlan | None = None
        chunk: _Chunk | None = None  # from the header on
        key_positions: list[int] = []
        previous_end = 0  # last physical line of the last record read
        try:
            for record in reader:
                record_start, previous_end = previous_end + 1, reader.line_num
                if chunk is not None and len(record) == chunk.width \
                        and not (lines.nul_seen and any("\x00" in value for value in record)):
                    self.report.rows_read += 1  # the common row: as wide as the header, so never blank
                    chunk.rows.append(self.report.rows_read)
                    chunk.records.append(record)
                    if len(chunk) >= self.chunk_rows:
                        self._flush(chunk)
                    continue
                if _is_blank(record, plan):
                    blank += 1
                    continue
                if plan is None:
                    plan = self._accept_header(record)
                    chunk = _Chunk(self.mapping, self.day, self.file.key, plan.positions, plan.width)
                    key_positions = [plan.positions[self.mapping.fields.index(f)] for f in self.mapping.key_fields]
                    continue
                self.report.rows_read += 1
                row = self.report.rows_read
                if len(record) != plan.width:
                    self.reject(
                        codes.RAGGED_ROW,
                        f"{_where(row, record_start, reader.line_num)} has {len(record)} fields, "
                        f"the header has {plan.width}",
                        row,
                        self._source_key(record, key_positions),
                    )
                    continue
                self.reject(  # as wide as the header, with a NUL byte
                    codes.NUL_BYTE,
                    f"{_where(row, record_start, reader.line_num)} contains a NUL byte",
                    row,
                    self._source_key(record, key_positions),
                )
        except csv.Error as exc:
            raise FileRejected(codes.MALFORMED_CSV, self._csv_error_message(exc, previous_end + 1)) from None
        if plan is None or chunk is None:
            raise FileRejected(codes.EMPTY_FILE, "the file is empty (no header, no rows)")
        self._flush(chunk)
        if blank:
            self.note(codes.BLANK_LINES, f"{blank} blank line(s) ignored")
        if self.report.rows_read == 0:
            self.note(codes.HEADERS_ONLY, "the file has a header and no data rows")

    def _accept_header(self, header: list[str]) -> HeaderPlan:
        plan = plan_header(header, self.mapping)
        self.report.unknown_columns = plan.unknown
        self.report.missing_columns = plan.missing_required + plan.missing_optional
        check_policies(plan, self.mapping)
        if plan.unknown:
            self.note(codes.UNKNOWN_COLUMNS, f"columns not in the mapping, not staged: {plan.unknown}")
        if plan.missing_required:
            self.note(codes.MISSING_COLUMNS, f"required fields absent, staged as null: {plan.missing_required}")
        if plan.missing_optional:
            self.note(
                codes.MISSING_OPTIONAL_COLUMNS, f"optional fields absent, staged as null: {plan.missing_optional}"
            )
        return plan

    @staticmethod
    def _source_key(record: list[str], positions: list[int]) -> str | None:
        """Best-effort record key for a refused row (the values at the key columns, if present)."""
        parts = [record[p].strip() for p in positions if p < len(record)]
        return join_key(parts) if any(parts) else None

    @staticmethod
    def _csv_error_message(exc: csv.Error, line: int) -> str:
        text = str(exc)
        if "new-line character" in text:
            text = "a bare carriage return (CR) outside quotes; CR-only line endings are not supported"
        elif "end of data" in text:
            text = "a quoted field is never closed before the end of the file"
        return f"malformed CSV in the record starting on line {line}: {text}; the whole file is refused"

    def _flush(self, chunk: _Chunk) -> None:
        if not len(chunk):
            return
        frame = chunk.take_frame()
        self.sink.append(frame)
        self.appended = True
        self.report.rows_staged += len(frame)


def stage_file(
    file: LandingFile, mapping: ColumnMapping, day: str, sink: StagingSink, chunk_rows: int = CHUNK_ROWS
) -> FileReport:
    """Stage one file into a sink begun (and later finished) for ``day`` by the caller."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    return _FileStager(file, mapping, day, sink, chunk_rows).run()


def stage_partition(
    zone: LandingZone, mapping: ColumnMapping, day: str, sink: StagingSink, chunk_rows: int = CHUNK_ROWS
) -> PartitionResult:
    """Stage every CSV file of ``mapping.entity`` for ``day`` into the sink, as that day's whole partition.

    Data problems become rejects and notes in the result; the day folder's other entries, not
    staged, are its ``ignored``. I/O failures (a file that cannot be read, an S3 object replaced
    since listing) raise before the sink's partition is finished, so nothing of it is written and
    the step can be retried.
    """
    check_day(day)
    sink.begin_partition(mapping, day)
    listing = zone.list_day(mapping.entity, day)
    result = PartitionResult(entity=mapping.entity, day=day, ignored=listing.ignored)
    for file in listing.files:
        result.files.append(stage_file(file, mapping, day, sink, chunk_rows))
    sink.finish_partition()
    return result

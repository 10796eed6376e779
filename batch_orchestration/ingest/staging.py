"""Stage the CSV exports of one entity and day: map legacy headers to canonical fields, in chunks.

Memory stays flat whatever the file size: a UTF-8 file is read in blocks of lines, split column-wise
(:mod:`~batch_orchestration.ingest.line_blocks`); a file that block reader cannot read exactly (or in
another encoding) is decoded block by block (:mod:`~batch_orchestration.ingest.csv_stream`) and
parsed record by record by ``csv.reader``. Either way rows reach the sink every ``chunk_rows`` rows as
an Arrow table, stripped and hashed column by column.
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
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from batch_orchestration.entities.registry import join_key
from batch_orchestration.ingest import reports as codes
from batch_orchestration.ingest.csv_stream import DecodedLines, InvalidEncoding
from batch_orchestration.ingest.landing import LandingFile, LandingZone, check_day
from batch_orchestration.ingest.line_blocks import LineBlock, NeedsRecordReader, line_blocks
from batch_orchestration.ingest.mapping import ColumnMapping, normalize_header
from batch_orchestration.ingest.reports import FileNote, FileReport, PartitionResult
from batch_orchestration.ingest.sinks import StagingSink, staged_columns
from batch_orchestration.validate.rejects import RejectRecord

CHUNK_ROWS = 50_000


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


# What str.strip() removes (the characters for which str.isspace() holds), so Arrow strips exactly those.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


_HASHERS = threading.local()


def _hasher() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB for content hashes (a connection is not for two threads at once)."""
    if not hasattr(_HASHERS, "connection"):
        _HASHERS.connection = duckdb.connect()
    return _HASHERS.connection


class _TableBuilder:
    """Turns one file's fields, column by column, into staged rows: stripped, empty -> null, with lineage.

    Both readers hand their rows here, so what a staged row is has one owner; the content hash is
    computed by DuckDB over the whole chunk.
    """

    def __init__(self, mapping: ColumnMapping, day: str, key: str) -> None:
        self.mapping = mapping
        self.day = day
        self.key = key
        # The hash is of the record's own fields: a changes export's operation is no part of its content.
        self.hashed = [mapping.fields.index(name) for name in mapping.record_fields]
        self._hash_sql = f"SELECT {_content_hash_sql(len(self.hashed))} AS content_hash FROM chunk"

    def table(self, rows: pa.Array, raw: list[pa.Array | None]) -> pa.Table:
        """Staged rows for ``rows`` (source row numbers); ``raw``: each field's values, None if not in the file."""
        count = len(rows)
        columns = []
        for values in raw:
            if values is None:
                columns.append(pa.nulls(count, pa.string()))
                continue
            stripped = pc.utf8_trim(values, characters=WHITESPACE)
            columns.append(pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped))
        chunk = pa.table([columns[i] for i in self.hashed], names=[f"c{i}" for i in range(len(self.hashed))])
        hasher = _hasher()
        hasher.register("chunk", chunk)
        try:
            hashes = hasher.sql(self._hash_sql).to_arrow_table().column(0)
        finally:
            hasher.unregister("chunk")
        data = {
            "partition_day": pa.array([self.day] * count, pa.string()),
            "source_file": pa.array([self.key] * count, pa.string()),
            "source_row": rows.cast(pa.int64()),
            "content_hash": hashes,
            **dict(zip(self.mapping.fields, columns, strict=True)),
        }
        return pa.table(data).select(staged_columns(self.mapping))


class _FileStager:
    """Stages one file into the sink, filling in its report.

    The file is read by lines in blocks (:mod:`~batch_orchestration.ingest.line_blocks`) when it is UTF-8,
    and record by record (``csv.reader``) when it is not, or when the block reader finds what only the
    record reader reads exactly; both give the same rows, rejects and notes.
    """

    def __init__(self, file: LandingFile, mapping: ColumnMapping, day: str, sink: StagingSink, chunk_rows: int,
                 by_lines: bool) -> None:
        self.file = file
        self.mapping = mapping
        self.day = day
        self.sink = sink
        self.chunk_rows = chunk_rows
        self.by_lines = by_lines and mapping.formats.encoding == "utf-8"
        self.report = FileReport(key=file.key, version=file.version, size=file.size)
        self.appended = False
        self.builder = _TableBuilder(mapping, day, file.key)
        self.pending: list[pa.Table] = []  # staged rows not yet handed to the sink, fewer than chunk_rows
        self.worker: ThreadPoolExecutor | None = None  # builds and sends rows while the next ones are read
        self.in_flight: Future[None] | None = None
        self.plan: HeaderPlan | None = None
        self.key_positions: list[int] = []
        self.blank = 0

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
        # Leaving the executor waits for the rows handed to the worker, whatever happened meanwhile.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging") as self.worker:
            try:
                if self.by_lines:
                    try:
                        with self.file.open() as stream:
                            self._stage_lines(stream)
                        return self.report
                    except NeedsRecordReader:
                        self._restart()
                with self.file.open() as stream:
                    self._stage_records(DecodedLines(stream, encoding=self.mapping.formats.encoding))
            except FileRejected as exc:
                self._refuse(exc.code, str(exc))
            except InvalidEncoding as exc:
                code = codes.INVALID_UTF8 if exc.encoding == "utf-8" else codes.INVALID_ENCODING
                self._refuse(code, f"{exc}; the whole file is refused")
        return self.report

    def _restart(self) -> None:
        """Forget what the block reader did, to read the file again record by record."""
        self._wait()
        if self.appended:
            self.sink.discard_file(self.file.key)
        self.appended = False
        self.report = FileReport(key=self.file.key, version=self.file.version, size=self.file.size)
        self.pending, self.plan, self.key_positions, self.blank = [], None, [], 0

    def _refuse(self, code: str, message: str) -> None:
        """Refuse the whole file: forget its rows (staged or rejected), keep one file-level reject."""
        self._wait()
        if self.appended:
            self.sink.discard_file(self.file.key)
        self.pending = []
        self.report.rows_staged = 0
        self.report.rejected = True
        self.report.rejects = []
        self.reject(code, message)

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
        self.plan = plan
        self.key_positions = [plan.positions[self.mapping.fields.index(f)] for f in self.mapping.key_fields]
        return plan

    def _reject_row(self, record: list[str], row: int, first_line: int, last_line: int) -> None:
        """A row as wide as the header is refused for its NUL byte; any other, for its width."""
        where, key = _where(row, first_line, last_line), self._source_key(record)
        assert self.plan is not None
        if len(record) != self.plan.width:
            message = f"{where} has {len(record)} fields, the header has {self.plan.width}"
            self.reject(codes.RAGGED_ROW, message, row, key)
        else:
            self.reject(codes.NUL_BYTE, f"{where} contains a NUL byte", row, key)

    def _source_key(self, record: list[str]) -> str | None:
        """Best-effort record key for a refused row (the values at the key columns, if present)."""
        parts = [record[p].strip() for p in self.key_positions if p < len(record)]
        return join_key(parts) if any(parts) else None

    def _finish(self) -> None:
        if self.plan is None:
            raise FileRejected(codes.EMPTY_FILE, "the file is empty (no header, no rows)")
        self._wait()
        self._emit(final=True)
        if self.blank:
            self.note(codes.BLANK_LINES, f"{self.blank} blank line(s) ignored")
        if self.report.rows_read == 0:
            self.note(codes.HEADERS_ONLY, "the file has a header and no data rows")

    # -- the block reader ---------------------------------------------------------------------------

    def _stage_lines(self, stream: BinaryIO) -> None:
        self.report.read_by = "lines"
        for block in line_blocks(stream, self.mapping.formats.delimiter):
            start = 0
            if self.plan is None:
                start = self._header_in(block)
                if start == len(block):
                    continue
            self._rows_in(block, start)
        self._finish()

    @staticmethod
    def _blank(block: LineBlock) -> np.ndarray:
        """Lines that are empty, or one whitespace-only field (a row of a single-column file is not blank:
        the caller takes a line as wide as the header for a row first)."""
        stripped = pc.utf8_trim(block.first_fields(), characters=WHITESPACE)
        return (block.counts == 0) | ((block.counts == 1) & pc.equal(stripped, "").to_numpy(zero_copy_only=False))

    def _header_in(self, block: LineBlock) -> int:
        """Find the header (the first line that is not blank): the index of the line after it, or the block's
        length if the block has none."""
        blank = self._blank(block)
        if blank.all():
            self.blank += len(block)
            return len(block)
        at = int(np.argmin(blank))
        self.blank += at
        self._accept_header(block.record(at))
        return at + 1

    def _rows_in(self, block: LineBlock, start: int) -> None:
        """The lines of ``block`` from ``start`` on, after the header: rows staged or refused, or blank."""
        assert self.plan is not None
        after = np.arange(len(block)) >= start
        common = after & (block.counts == self.plan.width)
        blank = after & ~common & self._blank(block)
        is_row = after & ~blank
        self.blank += int(blank.sum())
        rows = self.report.rows_read + np.cumsum(is_row)
        self.report.rows_read += int(is_row.sum())
        for line in np.flatnonzero(is_row & ~common):
            number = block.first_line + int(line)
            self._reject_row(block.record(int(line)), int(rows[line]), number, number)
        lines = np.flatnonzero(common)
        raw: list[pa.Array | None] = [None if position == self.plan.width else block.column(lines, position)
                                      for position in self.plan.positions]
        self._add_later(pa.array(rows[lines]), raw)

    # -- the record reader --------------------------------------------------------------------------

    def _stage_records(self, lines: DecodedLines) -> None:
        self.report.read_by = "records"
        reader = csv.reader(lines, strict=True, delimiter=self.mapping.formats.delimiter)
        rows: list[int] = []
        records: list[list[str]] = []
        width = -1  # the header's, once read
        previous_end = 0  # last physical line of the last record read
        try:
            for record in reader:
                record_start, previous_end = previous_end + 1, reader.line_num
                if len(record) == width and not (lines.nul_seen and any("\x00" in value for value in record)):
                    self.report.rows_read += 1  # the common row: as wide as the header, so never blank
                    rows.append(self.report.rows_read)
                    records.append(record)
                    if len(records) >= self.chunk_rows:
                        self._add_later(*self._records_columns(rows, records))
                        rows, records = [], []
                    continue
                if _is_blank(record, self.plan):
                    self.blank += 1
                    continue
                if self.plan is None:
                    width = self._accept_header(record).width
                    continue
                self.report.rows_read += 1
                self._reject_row(record, self.report.rows_read, record_start, reader.line_num)
        except csv.Error as exc:
            raise FileRejected(codes.MALFORMED_CSV, self._csv_error_message(exc, previous_end + 1)) from None
        if records:
            self._add_later(*self._records_columns(rows, records))
        self._finish()

    def _records_columns(self, rows: list[int], records: list[list[str]]) -> tuple[pa.Array, list[pa.Array | None]]:
        assert self.plan is not None
        parsed = list(zip(*records, strict=True))
        raw: list[pa.Array | None] = [None if position == self.plan.width else pa.array(parsed[position], pa.string())
                                      for position in self.plan.positions]
        return pa.array(rows, pa.int64()), raw

    @staticmethod
    def _csv_error_message(exc: csv.Error, line: int) -> str:
        text = str(exc)
        if "new-line character" in text:
            text = "a bare carriage return (CR) outside quotes; CR-only line endings are not supported"
        elif "end of data" in text:
            text = "a quoted field is never closed before the end of the file"
        return f"malformed CSV in the record starting on line {line}: {text}; the whole file is refused"

    # -- to the sink, ``chunk_rows`` rows at a time, built while the next rows are read ---------------

    def _add_later(self, rows: pa.Array, raw: list[pa.Array | None]) -> None:
        """Build and send these rows in the worker thread (after the rows before them: one batch at a time)."""
        self._wait()
        assert self.worker is not None
        self.in_flight = self.worker.submit(self._add, rows, raw)

    def _wait(self) -> None:
        """Until the worker is done with the rows handed to it (raising what it raised)."""
        if self.in_flight is not None:
            future, self.in_flight = self.in_flight, None
            future.result()

    def _add(self, rows: pa.Array, raw: list[pa.Array | None]) -> None:
        table = self.builder.table(rows, raw)
        if table.num_rows:
            self.pending.append(table)
        self._emit(final=False)

    def _emit(self, final: bool) -> None:
        waiting = sum(t.num_rows for t in self.pending)
        if not waiting or (waiting < self.chunk_rows and not final):
            return
        table = pa.concat_tables(self.pending)
        sent = 0
        while table.num_rows - sent >= self.chunk_rows or (final and sent < table.num_rows):
            chunk = table.slice(sent, self.chunk_rows)
            self.sink.append(chunk)
            self.appended = True
            self.report.rows_staged += chunk.num_rows
            sent += chunk.num_rows
        self.pending = [table.slice(sent)] if sent < table.num_rows else []


def stage_file(
    file: LandingFile, mapping: ColumnMapping, day: str, sink: StagingSink, chunk_rows: int = CHUNK_ROWS,
    by_lines: bool = True,
) -> FileReport:
    """Stage one file into a sink begun (and later finished) for ``day`` by the caller.

    ``by_lines=False`` reads it record by record whatever it holds: the reference the block reader is
    tested against.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    return _FileStager(file, mapping, day, sink, chunk_rows, by_lines).run()


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

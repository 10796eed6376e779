"""Read a UTF-8 export a block of lines at a time, every line split into its fields column-wise.

The fast way through staging, for files whose every record is one line (almost every export): the
bytes are cut at line ends by numpy and split at the delimiter by Arrow, and only the lines that
quote, or carry a CR that is not their line end, go through ``csv.reader`` (each must be a record of
its own). Fields come out exactly as the record reader (``csv.reader`` over
:class:`~.csv_stream.DecodedLines`) gives them. What this cannot read the same way (a record over
several lines, malformed quoting, a NUL byte, bytes that are not UTF-8, a field over ``csv``'s size
limit) raises :class:`NeedsRecordReader`: the file is then read record by record, which also words
the refusal.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BLOCK_BYTES = 8 << 20
_MAX_BODY = (1 << 31) - 1  # a string array's offsets are 32-bit


class NeedsRecordReader(Exception):
    """The file has something only the record reader reads exactly; it says what."""


@dataclass(frozen=True)
class LineBlock:
    """Consecutive physical lines, from ``first_line`` (1-based), and their fields as ``csv.reader`` gives them.

    Line ``i`` has ``counts[i]`` fields (0 for an empty line), ``values[starts[i] + j]`` being field ``j``.
    """

    first_line: int
    values: pa.StringArray
    starts: np.ndarray
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.counts)

    def record(self, line: int) -> list[str]:
        """The fields of line ``line`` (0-based in the block)."""
        start = int(self.starts[line])
        return self.values.slice(start, int(self.counts[line])).to_pylist()

    def first_fields(self) -> pa.StringArray:
        """Each line's first field ("" for an empty line)."""
        return self.values.take(pa.array(self.starts))

    def column(self, lines: np.ndarray, position: int) -> pa.StringArray:
        """Field ``position`` of each of ``lines`` (every one of them has more fields than that)."""
        return self.values.take(pa.array(self.starts[lines] + position))


def line_blocks(stream: BinaryIO, delimiter: str, block_bytes: int | None = None) -> Iterator[LineBlock]:
    """The stream's lines in blocks of about ``block_bytes`` (``BLOCK_BYTES``), never cutting a line (a leading
    BOM dropped)."""
    block_bytes = block_bytes or BLOCK_BYTES
    carry = _read_at_least(stream, block_bytes, len(codecs.BOM_UTF8)).removeprefix(codecs.BOM_UTF8)
    first_line = 1
    while True:
        block = stream.read(block_bytes)
        data = carry + block if carry else block
        if block:
            cut = data.rfind(b"\n") + 1
            body, carry = data[:cut], data[cut:]
        else:
            body, carry = data, b""
        if body:
            lines = _split(body, first_line, delimiter)
            first_line += len(lines)
            yield lines
        if not block:
            return


def _read_at_least(stream: BinaryIO, size: int, least: int) -> bytes:
    """A first read of ``size`` bytes, read on until it holds ``least`` bytes or the stream ends."""
    data = stream.read(size)
    while 0 < len(data) < least and (more := stream.read(size)):
        data += more
    return data


def _split(body: bytes, first_line: int, delimiter: str) -> LineBlock:
    """Split ``body`` (whole lines) at line ends and delimiters; the lines that quote, or hold a CR that does
    not end them, are parsed by ``csv.reader`` instead."""
    if b"\x00" in body:
        raise NeedsRecordReader("a NUL byte")
    if len(body) > _MAX_BODY:
        raise NeedsRecordReader("a block of over 2 GB")
    if len(delimiter.encode()) != 1:
        raise NeedsRecordReader("a delimiter of more than one byte")
    data = np.frombuffer(body, np.uint8)
    separators = np.flatnonzero((data == ord(delimiter)) | (data == ord("\n")))
    line_ends = np.flatnonzero(data[separators] == ord("\n"))  # index in separators of each line's "\n"
    if body.endswith(b"\n"):
        field_ends, last = separators, line_ends
    else:  # the last line of the file has no "\n": its last field ends with the body
        field_ends, last = np.append(separators, len(body) - 1), np.append(line_ends, len(separators))
    starts = np.concatenate(([0], last[:-1] + 1)).astype(np.int64)
    counts = (last - starts + 1).astype(np.int64)
    offsets = np.concatenate(([0], field_ends + 1)).astype(np.int32)
    values = pa.StringArray.from_buffers(len(field_ends), pa.py_buffer(offsets), pa.py_buffer(body))
    try:
        values.validate(full=True)
    except pa.ArrowInvalid:
        raise NeedsRecordReader("bytes that are not UTF-8") from None
    # A field holds its separator, and the last of a line its "\r\n"; a line with any other CR is special.
    values = pc.utf8_rtrim(values, characters=delimiter + "\r\n")
    _within_field_limit(values)
    line_starts = np.concatenate(([0], field_ends[last[:-1]] + 1))
    line_lengths = field_ends[last] + 1 - line_starts
    ending = np.where(data[field_ends[last]] == ord("\n"), 1, 0)
    ending += (line_lengths > ending) & (data[np.maximum(field_ends[last] - ending, 0)] == ord("\r"))
    counts[line_lengths == ending] = 0  # an empty line has no field
    block = LineBlock(first_line, values, starts, counts)
    special = _special_lines(body, data, line_starts, line_ends_at=field_ends[last] - ending)
    return _with_parsed(block, body, line_starts, field_ends[last], special, delimiter) if special.size else block


def _within_field_limit(values: pa.StringArray) -> None:
    """``csv.reader`` refuses a field longer than its limit (the whole file is then refused): so must this."""
    limit = csv.field_size_limit()
    if len(values) and pc.max(pc.binary_length(values)).as_py() > limit \
            and pc.max(pc.utf8_length(values)).as_py() > limit:  # bytes are never fewer than characters
        raise NeedsRecordReader(f"a field over csv's limit of {limit} characters")


def _special_lines(body: bytes, data: np.ndarray, line_starts: np.ndarray, line_ends_at: np.ndarray) -> np.ndarray:
    """Lines (0-based) with a quote, or a CR before their line end: only ``csv.reader`` splits them right."""
    if b'"' not in body and b"\r" not in body:
        return np.empty(0, np.int64)
    marks = np.flatnonzero((data == ord('"')) | (data == ord("\r")))
    line_of = np.searchsorted(line_starts, marks, side="right") - 1
    inside = marks <= line_ends_at[line_of]  # not the CR of a "\r\n" ending
    return np.unique(line_of[inside])


def _with_parsed(block: LineBlock, body: bytes, line_starts: np.ndarray, line_last: np.ndarray,
                 special: np.ndarray, delimiter: str) -> LineBlock:
    """``block`` with its ``special`` lines parsed by ``csv.reader`` (strict, as the record reader is)."""
    parsed: list[str] = []
    starts, counts = block.starts.copy(), block.counts.copy()
    texts = [body[line_starts[line] : line_last[line] + 1].decode() for line in special]
    reader = csv.reader(texts, strict=True, delimiter=delimiter)  # one reader: a record may not span two texts
    try:
        for number, (line, record) in enumerate(zip(special, reader, strict=False), start=1):
            if reader.line_num != number or not record:
                raise NeedsRecordReader("a record over several lines, or malformed quoting")
            starts[line], counts[line] = len(block.values) + len(parsed), len(record)
            parsed += record
    except csv.Error:
        raise NeedsRecordReader("a record over several lines, or malformed quoting") from None
    if reader.line_num != len(texts):
        raise NeedsRecordReader("a line that is not one record")
    values = pa.concat_arrays([block.values, pa.array(parsed, pa.string())])
    return LineBlock(block.first_line, values, starts, counts)

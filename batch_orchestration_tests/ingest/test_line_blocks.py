"""The block reader against the record reader it stands in for: the same fields, rows, rejects and notes.

Random files are built from the characters CSV gets wrong (quotes, delimiters, CR, LF, whitespace Python
strips, multi-byte text): for each, either the block reader says it needs the record reader, or it
gives exactly what ``csv.reader`` gives, and staging gives the same outcome either way.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
import sys

import pandas as pd
import pytest

from batch_orchestration.ingest import line_blocks as line_blocks_module
from batch_orchestration.ingest.csv_stream import DecodedLines
from batch_orchestration.ingest.landing import LandingFile
from batch_orchestration.ingest.line_blocks import NeedsRecordReader, line_blocks
from batch_orchestration.ingest.reports import FileReport
from batch_orchestration.ingest.staging import WHITESPACE, stage_file
from batch_orchestration_tests.ingest.collector import FrameCollector
from batch_orchestration_tests.ingest.test_staging import DAY, HEADER, mapping_with

TEXT = ["a", "b", "Zoë", "😀", " ", "\t", "\u00a0", "\x1c", "\u3000", ",", '"', '""', ""]
LINE_BREAKS = ["\r", "\n", "\r\n"]
SEED_FILES = 400


def _field(rng: random.Random) -> str:
    pieces = TEXT + LINE_BREAKS if rng.random() < 0.02 else TEXT
    text = "".join(rng.choice(pieces) for _ in range(rng.randrange(4)))
    return text if rng.random() < 0.7 else f'"{text.replace(chr(34), chr(34) * 2)}"'


def random_file(rng: random.Random) -> bytes:
    """A header, then lines that are mostly three fields (some quoted, some ragged, some blank, some junk)."""
    lines = [HEADER if rng.random() < 0.9 else '"CUST_NO", CUST_NAME ,EMAIL_ADDR']
    for _ in range(rng.randrange(12)):
        kind = rng.random()
        if kind < 0.6:
            lines.append(",".join(_field(rng) for _ in range(3)))
        elif kind < 0.75:
            lines.append(",".join(_field(rng) for _ in range(rng.choice([1, 2, 4]))))
        elif kind < 0.95:
            lines.append(rng.choice(["", " ", "\t", "\u00a0"]))
        else:  # junk, often malformed
            lines.append("".join(rng.choice(TEXT + LINE_BREAKS) for _ in range(rng.randrange(8))))
    ending = rng.choice(["\n", "\r\n"])
    text = ending.join(lines) + (ending if rng.random() < 0.8 else "")
    return ("\ufeff" if rng.random() < 0.1 else "").encode() + text.encode()


def csv_records(content: bytes) -> list[list[str]] | None:
    """What the record reader parses, or None where it finds malformed CSV."""
    try:
        return list(csv.reader(DecodedLines(io.BytesIO(content)), strict=True))
    except csv.Error:
        return None


def block_records(content: bytes, block_bytes: int, delimiter: str = ",") -> list[list[str]]:
    records = []
    for block in line_blocks(io.BytesIO(content), delimiter, block_bytes=block_bytes):
        records += [block.record(i) if block.counts[i] else [] for i in range(len(block))]
    return records


def _one_line_per_record(content: bytes, records: list[list[str]]) -> bool:
    physical = content.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    return len(records) == len(physical) - (physical[-1] == b"")


@pytest.mark.parametrize("block_bytes", [5, 64, 1 << 20])
def test_the_block_reader_splits_every_line_as_csv_reader_does(block_bytes: int) -> None:
    rng = random.Random(12)
    read_by_lines = 0
    for _ in range(SEED_FILES):
        content = random_file(rng)
        expected = csv_records(content)
        try:
            got = block_records(content, block_bytes)
        except NeedsRecordReader:
            continue
        assert expected is not None, content  # malformed CSV is never read by lines
        assert _one_line_per_record(content, expected), content  # nor a record over several lines
        assert got == expected, content
        read_by_lines += 1
    assert read_by_lines > SEED_FILES // 4  # most files with a quote or a CR in them are still read by lines


@pytest.mark.parametrize(
    "content",
    [
        b'CUST_NO,CUST_NAME\r\n"C1","Acme, ""Best"" Ltd"\r\nC2,  Bob \r\n\r\n',
        "\ufeffCUST_NO,CUST_NAME\n,\n   \nC3,Zoë 😀\u3000\nC4,x,y,\nC5".encode(),
        b"CUST_NO\n\n \nC1\n",
    ],
)
def test_files_that_quote_or_end_lines_with_crlf_are_read_by_lines(content: bytes) -> None:
    assert block_records(content, 1 << 20) == csv_records(content)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'CUST_NO,CUST_NAME\nC1,"two\nlines"\n', "a record over several lines, or malformed quoting"),
        (b'CUST_NO,CUST_NAME\nC1,"Ali"ce\n', "a record over several lines, or malformed quoting"),
        (b"CUST_NO,CUST_NAME\nC1,Al\rice\n", "a record over several lines, or malformed quoting"),
        (b"CUST_NO,CUST_NAME\nC1,Al\x00ice\n", "a NUL byte"),
        (b"CUST_NO,CUST_NAME\nC1,\xff\n", "bytes that are not UTF-8"),
        (b"CUST_NO,CUST_NAME\nC1," + b"x" * (csv.field_size_limit() + 1) + b"\n", "a field over csv's limit"),
    ],
)
def test_what_only_the_record_reader_reads_is_left_to_it(content: bytes, reason: str) -> None:
    with pytest.raises(NeedsRecordReader, match=reason):
        block_records(content, 1 << 20)


def test_arrow_strips_exactly_what_python_strips() -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == WHITESPACE
    samples = [f"{c}x{c}" for c in WHITESPACE] + ["\u200bx\u200b", "\ufeffx", " \u00a0 x\x1f\t", "x"]
    stripped = pc.utf8_trim(pa.array(samples), characters=WHITESPACE).to_pylist()
    assert stripped == [s.strip() for s in samples]
    assert stripped[-4] == "\u200bx\u200b"  # a zero-width space is no whitespace to Python, so it stays


def _stage(content: bytes, by_lines: bool, delimiter: str) -> tuple[pd.DataFrame, FileReport]:
    file = LandingFile(f"customers/{DAY}/a.csv", "a.csv", "v1", len(content), lambda: io.BytesIO(content))
    sink = FrameCollector()
    mapping = mapping_with(formats=json.dumps({"delimiter": delimiter}))
    sink.begin_partition(mapping, DAY)
    report = stage_file(file, mapping, DAY, sink, chunk_rows=3, by_lines=by_lines)
    return sink.frame(), report


@pytest.mark.parametrize(("delimiter", "block_bytes", "files"),
                         [(",", None, SEED_FILES), (",", 64, 150), (";", 64, 150), ("\t", 7, 150)])
def test_staging_by_lines_gives_the_outcome_of_staging_by_records(delimiter: str, block_bytes: int | None, files: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows (with lineage and content hash), chunks, rejects with their row, line and key, notes, counts; with
    blocks of a few lines (a header after blank blocks, rows counted across blocks) and other delimiters."""
    if block_bytes:
        monkeypatch.setattr(line_blocks_module, "BLOCK_BYTES", block_bytes)
    rng = random.Random(34)
    read_by_lines = 0
    for _ in range(files):
        content = random_file(rng).replace(b",", delimiter.encode())
        by_records, records_report = _stage(content, False, delimiter)
        by_lines, lines_report = _stage(content, True, delimiter)
        pd.testing.assert_frame_equal(by_lines, by_records)
        assert _outcome(lines_report) == _outcome(records_report), content
        try:  # staging reads by lines exactly the files the block reader reads
            block_records(content, block_bytes or line_blocks_module.BLOCK_BYTES, delimiter)
            expected = "lines"
        except NeedsRecordReader:
            expected = "records"
        assert (lines_report.read_by, records_report.read_by) == (expected, "records"), content
        read_by_lines += expected == "lines"
    assert read_by_lines > files // 4


def _outcome(report: FileReport) -> dict[str, object]:
    """The report, with each reject as what it says (not when it was written); which reader read it aside."""
    outcome = dataclasses.asdict(report)
    del outcome["read_by"]
    for reject in outcome["rejects"]:
        del reject["rejected_at"]
    return outcome

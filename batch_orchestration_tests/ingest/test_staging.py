"""Staging of every kind of bad input: exact codes, messages and row numbers, nothing dropped silently."""

from __future__ import annotations

import hashlib
import math
from collections import Counter

import pandas as pd
import pytest

from batch_orchestration.ingest.landing import LocalLandingZone
from batch_orchestration.ingest.mapping import ColumnMapping, parse_mapping
from batch_orchestration.ingest.reports import FileReport, PartitionResult
from batch_orchestration.ingest.staging import content_hash, stage_partition
from batch_orchestration_tests.ingest.collector import FrameCollector

from .conftest import WriteFile

DAY = "2024-01-15"
HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR"


def mapping_with(**policies: str) -> ColumnMapping:
    yaml = "entity: customers\ncolumns: {customer_key: CUST_NO, name: CUST_NAME, email: EMAIL_ADDR}\n"
    yaml += "required: [customer_key, name]\n"
    yaml += "".join(f"{name}: {value}\n" for name, value in policies.items())
    return parse_mapping(yaml)


class Staged:
    """Stages the files written so far; gives the result and the frame the sink ended with."""

    def __init__(self, zone: LocalLandingZone, write_file: WriteFile) -> None:
        self.zone = zone
        self.write_file = write_file
        self.sink = FrameCollector()

    def file(self, name: str, content: bytes | str) -> None:
        self.write_file(f"customers/{DAY}/{name}", content)

    def run(self, mapping: ColumnMapping | None = None, chunk_rows: int = 50_000) -> PartitionResult:
        return stage_partition(self.zone, mapping or mapping_with(), DAY, self.sink, chunk_rows=chunk_rows)

    def frame(self) -> pd.DataFrame:
        return self.sink.frame()

    def report(self, result: PartitionResult, name: str) -> FileReport:
        return next(f for f in result.files if f.key == f"customers/{DAY}/{name}")


@pytest.fixture
def staged(local_zone: LocalLandingZone, write_file: WriteFile) -> Staged:
    return Staged(local_zone, write_file)


def test_mapping_lineage_and_values(staged: Staged) -> None:
    staged.file("a.csv", '\ufeff cust_no , Cust_Name,EMAIL_ADDR\r\nC1, Alice ,\r\nC2,"Bob\nJunior",  b@x.com \r\n')
    result = staged.run()
    frame = staged.frame()
    assert list(frame.columns) == [
        "partition_day",
        "source_file",
        "source_row",
        "content_hash",
        "customer_key",
        "name",
        "email",
    ]
    assert frame["source_row"].tolist() == [1, 2]
    assert frame["source_file"].unique().tolist() == [f"customers/{DAY}/a.csv"]
    assert frame["partition_day"].unique().tolist() == [DAY]
    assert frame["customer_key"].tolist() == ["C1", "C2"]
    assert frame["name"].tolist() == ["Alice", "Bob\nJunior"]  # embedded newline kept
    assert frame["email"].isna().tolist() == [True, False]
    assert frame.loc[1, "email"] == "b@x.com"
    assert all(str(frame[c].dtype) == "string" for c in ["customer_key", "name", "email"])
    assert frame["content_hash"].tolist() == [
        content_hash(["C1", "Alice", None]),
        content_hash(["C2", "Bob\nJunior", "b@x.com"]),
    ]
    assert result.summary() == {
        "files": 1,
        "files_rejected": 0,
        "files_ignored": 0,
        "rows_read": 2,
        "rows_staged": 2,
        "rows_rejected": 0,
    }
    assert result.rejects == []


def test_files_not_staged_are_in_the_result_with_their_reason(staged: Staged) -> None:
    staged.file("a.csv", f"{HEADER}\nC1,Alice,\n")
    staged.file("..hidden; export.csv", f"{HEADER}\nC2,Bob,\n")
    staged.file("export.csv.txt", f"{HEADER}\nC3,Carol,\n")
    result = staged.run()
    assert [f.key for f in result.files] == [f"customers/{DAY}/a.csv"]
    assert [(e.key, e.reason) for e in result.ignored] == [
        (f"customers/{DAY}/..hidden; export.csv", "hidden or partial file"),
        (f"customers/{DAY}/export.csv.txt", "not a .csv file"),
    ]
    assert result.summary()["files_ignored"] == 2
    assert staged.frame()["customer_key"].tolist() == ["C1"]


def test_content_hash_is_stable_and_tells_null_from_text() -> None:
    # The documented encoding: values joined with NUL, null as nothing (staged values are never "").
    assert content_hash(["C1", "Alice", None]) == hashlib.sha256(b"C1\x00Alice\x00").hexdigest()
    assert content_hash(["a", None]) != content_hash([None, "a"])
    assert content_hash(["a", None]) != content_hash(["a", "None"])
    assert len(content_hash(["x"])) == 64


def test_content_hash_is_the_same_across_runs_and_files(staged: Staged) -> None:
    staged.file("a.csv", f"{HEADER}\nC1,Alice,a@x\n")
    staged.file("b.csv", "EMAIL_ADDR,CUST_NO,CUST_NAME\n a@x ,C1,Alice\n")
    staged.run()
    first = staged.frame()["content_hash"].tolist()
    staged.run()
    assert staged.frame()["content_hash"].tolist() == first
    assert first[0] == first[1]  # same values in another column order: same record content


def test_a_changes_export_stages_its_operation_outside_the_content_hash(staged: Staged) -> None:
    changes = parse_mapping("entity: customers\ncolumns: {customer_key: CUST_NO, name: CUST_NAME, email: EMAIL_ADDR, "
                            "operation: OP}\nsync: changes\n")
    staged.file("a.csv", f"{HEADER},OP\nC1,Alice,a@x,update\nC1,Alice,a@x,\n")
    staged.run(changes)
    frame = staged.frame()
    assert frame["operation"].fillna("").tolist() == ["update", ""]
    # what to do with a record is no part of it: the hash is the one an upserts export gives the same record
    assert frame["content_hash"].tolist() == [content_hash(["C1", "Alice", "a@x"])] * 2


def test_invalid_utf8_rejects_the_whole_file_with_the_byte_offset(staged: Staged) -> None:
    good_rows = "".join(f"C{i},Name {i},\n" for i in range(1, 11))
    staged.file("a_bad.csv", f"{HEADER}\n{good_rows}".encode() + b"C11,Caf\xe9,\n")
    staged.file("b_good.csv", f"{HEADER}\nC1,Alice,\n")
    offset = len(f"{HEADER}\n{good_rows}".encode()) + len(b"C11,Caf")
    result = staged.run(chunk_rows=3)  # several chunks of the bad file reach the sink before the bad byte
    bad = staged.report(result, "a_bad.csv")
    assert bad.rejected
    assert bad.rows_staged == 0
    (reject,) = bad.rejects
    assert reject.code == "INVALID_UTF8"
    assert reject.stage == "staging"
    assert reject.source_row is None
    assert reject.message == (f"invalid UTF-8 at byte offset {offset} (line 12, bytes 0xe9); the whole file is refused")
    assert staged.frame()["source_file"].unique().tolist() == [f"customers/{DAY}/b_good.csv"]
    assert result.rows_staged == 1


EUROPEAN = "{encoding: cp1252, delimiter: ';'}"


def test_a_declared_encoding_and_delimiter_stage_the_text_as_the_export_wrote_it(staged: Staged) -> None:
    staged.file("a.csv", "CUST_NO;CUST_NAME;EMAIL_ADDR\r\nC1;Café Élan, Fils;é@x.fr\r\nC2;Ærø;\r\n".encode("cp1252"))
    result = staged.run(mapping_with(formats=EUROPEAN))
    frame = staged.frame()
    assert result.rejects == [] and result.rows_staged == 2
    assert frame["name"].tolist() == ["Café Élan, Fils", "Ærø"]  # the comma is data under ";"
    assert frame["content_hash"].tolist() == [content_hash(["C1", "Café Élan, Fils", "é@x.fr"]),
                                              content_hash(["C2", "Ærø", None])]


def test_a_byte_the_declared_encoding_does_not_have_refuses_the_file(staged: Staged) -> None:
    head = "CUST_NO;CUST_NAME;EMAIL_ADDR\nC1;Café;\n".encode("cp1252")
    staged.file("a.csv", head + b"C2;\x81;\n")  # 0x81 is not a cp1252 character
    result = staged.run(mapping_with(formats=EUROPEAN))
    (reject,) = result.rejects
    assert (reject.code, reject.source_row, result.rows_staged) == ("INVALID_ENCODING", None, 0)
    assert reject.message == (f"invalid cp1252 at byte offset {len(head) + 3} (line 3, bytes 0x81); "
                              "the whole file is refused")


def test_a_file_that_does_not_use_the_declared_delimiter_misses_its_columns(staged: Staged) -> None:
    staged.file("a.csv", f"{HEADER}\nC1,Alice,\n")
    (reject,) = staged.run(mapping_with(formats=EUROPEAN)).rejects
    assert reject.code == "MISSING_COLUMNS"


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf", b"  \r\n"])
def test_empty_file(staged: Staged, content: bytes) -> None:
    staged.file("empty.csv", content)
    staged.file("ok.csv", f"{HEADER}\nC1,Alice,\n")
    result = staged.run()
    empty = staged.report(result, "empty.csv")
    assert empty.rejected
    assert [(r.code, r.message) for r in empty.rejects] == [("EMPTY_FILE", "the file is empty (no header, no rows)")]
    assert result.rows_staged == 1


def test_headers_only_is_a_note_not_an_error(staged: Staged) -> None:
    staged.file("headers.csv", f"{HEADER}\n")
    staged.file("ok.csv", f"{HEADER}\nC1,Alice,\n")
    result = staged.run()
    headers = staged.report(result, "headers.csv")
    assert not headers.rejected
    assert headers.rejects == []
    assert (headers.rows_read, headers.rows_staged) == (0, 0)
    assert [n.code for n in headers.notes] == ["HEADERS_ONLY"]
    assert result.files_rejected == 0
    assert result.rows_staged == 1


def test_ragged_rows_are_rejected_with_their_row_numbers(staged: Staged) -> None:
    staged.file(
        "a.csv",
        f'{HEADER}\nC1,Alice,\nC2,Bob\nC3,"Multi\nLine",c@x\nC4,Dan,d@x,extra\n\nC5,Eve,e@x\n',
    )
    result = staged.run()
    report = staged.report(result, "a.csv")
    assert [(r.code, r.source_row, r.source_key, r.message) for r in report.rejects] == [
        ("RAGGED_ROW", 2, "C2", "row 2 (line 3) has 2 fields, the header has 3"),
        ("RAGGED_ROW", 4, "C4", "row 4 (line 6) has 4 fields, the header has 3"),
    ]
    assert staged.frame()["source_row"].tolist() == [1, 3, 5]
    assert staged.frame()["customer_key"].tolist() == ["C1", "C3", "C5"]
    assert (report.rows_read, report.rows_staged, report.rows_rejected) == (5, 3, 2)
    assert [n.code for n in report.notes] == ["BLANK_LINES"]
    assert dict(Counter(r.code for r in result.rejects)) == {"RAGGED_ROW": 2}


def test_duplicate_mapped_header_rejects_the_file(staged: Staged) -> None:
    staged.file("dup.csv", "CUST_NO,CUST_NAME,cust_no \nC1,Alice,C1\n")
    result = staged.run()
    (reject,) = staged.report(result, "dup.csv").rejects
    assert (reject.code, reject.message) == (
        "DUPLICATE_HEADER",
        "mapped columns appear more than once in the header: ['CUST_NO']",
    )
    assert staged.frame().empty


def test_duplicate_unknown_header_is_only_reported(staged: Staged) -> None:
    staged.file("dup.csv", "CUST_NO,CUST_NAME,EMAIL_ADDR,X,X\nC1,Alice,,1,2\n")
    report = staged.report(staged.run(), "dup.csv")
    assert not report.rejected
    assert report.unknown_columns == ["X", "X"]
    assert report.rows_staged == 1


def test_nul_byte_rejects_that_row(staged: Staged) -> None:
    staged.file("nul.csv", f"{HEADER}\nC1,Al\x00ice,\nC2,Bob,\n".encode())
    report = staged.report(staged.run(), "nul.csv")
    assert [(r.code, r.source_row, r.message) for r in report.rejects] == [
        ("NUL_BYTE", 1, "row 1 (line 2) contains a NUL byte")
    ]
    assert staged.frame()["customer_key"].tolist() == ["C2"]


def test_nul_bytes_in_the_header_reject_the_file(staged: Staged) -> None:
    staged.file("utf16.csv", "CUST_NO,CUST_NAME\n".encode("utf-16-le"))
    report = staged.report(staged.run(), "utf16.csv")
    assert [(r.code, r.message) for r in report.rejects] == [
        ("NUL_BYTE", "the header contains NUL bytes (is the file UTF-16?)")
    ]


def test_unknown_columns_keep_going(staged: Staged) -> None:
    staged.file("a.csv", f"{HEADER},LEGACY_FLAG\nC1,Alice,,Y\n")
    report = staged.report(staged.run(), "a.csv")
    assert report.unknown_columns == ["LEGACY_FLAG"]
    assert [n.code for n in report.notes] == ["UNKNOWN_COLUMNS"]
    assert "LEGACY_FLAG" not in staged.frame().columns
    assert report.rows_staged == 1


def test_unknown_columns_reject_file(staged: Staged) -> None:
    staged.file("a.csv", f"{HEADER},LEGACY_FLAG\nC1,Alice,,Y\n")
    report = staged.report(staged.run(mapping_with(on_unknown_columns="reject_file")), "a.csv")
    assert [(r.code, r.message) for r in report.rejects] == [
        ("UNKNOWN_COLUMNS", "columns not in the mapping: ['LEGACY_FLAG']")
    ]
    assert staged.frame().empty


def test_missing_required_column_rejects_the_file(staged: Staged) -> None:
    staged.file("a.csv", "CUST_NO,EMAIL_ADDR\nC1,a@x\n")
    report = staged.report(staged.run(), "a.csv")
    assert [(r.code, r.message) for r in report.rejects] == [
        ("MISSING_COLUMNS", "required columns missing from the header: ['CUST_NAME']")
    ]
    assert report.missing_columns == ["name"]


def test_missing_columns_keep_going_stages_nulls(staged: Staged) -> None:
    staged.file("a.csv", "CUST_NO\nC1\n")
    report = staged.report(staged.run(mapping_with(on_missing_columns="keep_going")), "a.csv")
    assert not report.rejected
    assert [n.code for n in report.notes] == ["MISSING_COLUMNS", "MISSING_OPTIONAL_COLUMNS"]
    frame = staged.frame()
    assert frame["customer_key"].tolist() == ["C1"]
    assert frame[["name", "email"]].isna().all().all()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('C1,"Alice,a@x\nC2,Bob,\n', "a quoted field is never closed before the end of the file"),
        ('C1,"Ali"ce,a@x\n', "',' expected after '\"'"),
        ("C1,Alice,\rC2,Bob,\n", "a bare carriage return (CR) outside quotes; CR-only line endings are not supported"),
    ],
)
def test_malformed_csv_rejects_the_file(staged: Staged, body: str, reason: str) -> None:
    staged.file("a.csv", f"{HEADER}\nC0,Zed,\n{body}")
    report = staged.report(staged.run(chunk_rows=1), "a.csv")
    message = f"malformed CSV in the record starting on line 3: {reason}; the whole file is refused"
    assert [(r.code, r.message) for r in report.rejects] == [("MALFORMED_CSV", message)]
    assert staged.frame().empty  # the chunk of row 1 already appended was discarded


def test_chunking_gives_the_same_rows_as_one_chunk(staged: Staged) -> None:
    rows = "".join(
        f'C{i},"Name {i}\nsecond line",{"" if i % 5 else "x@y"}\n' if i % 97 else f"C{i},ragged\n"
        for i in range(1, 1001)
    )
    staged.file("big.csv", f"{HEADER}\n{rows}")
    one = staged.run(chunk_rows=50_000)
    whole = staged.frame()
    assert len(staged.sink.frames) == 1
    many = staged.run(chunk_rows=7)
    chunked = staged.frame()
    assert len(staged.sink.frames) == math.ceil(len(whole) / 7)
    assert max(len(f) for f in staged.sink.frames) == 7
    pd.testing.assert_frame_equal(whole, chunked)
    assert one.summary() == many.summary()
    assert [r.source_row for r in one.rejects] == [r.source_row for r in many.rejects] == list(range(97, 1001, 97))
    assert one.rows_staged == 1000 - 10


def test_every_row_is_accounted_for(staged: Staged) -> None:
    staged.file("a.csv", f"{HEADER}\nC1,A,\nC2\nC3,C,\x00\nC4,D,\n")
    report = staged.report(staged.run(), "a.csv")
    assert report.rows_read == report.rows_staged + report.rows_rejected == 4


def test_no_files_for_the_day(staged: Staged) -> None:
    result = staged.run()
    assert result.files == []
    assert staged.frame().empty
    assert list(staged.frame().columns)[:4] == ["partition_day", "source_file", "source_row", "content_hash"]

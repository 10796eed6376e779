from __future__ import annotations

import io

import pytest

from batch_orchestration.ingest.csv_stream import DecodedLines, InvalidEncoding


def lines(data: bytes, block_bytes: int = 4) -> list[str]:
    return list(DecodedLines(io.BytesIO(data), block_bytes=block_bytes))


def test_lines_keep_their_ends_and_multibyte_characters_survive_block_edges() -> None:
    data = "a,é\r\nb,日本\n\ufeffc,€".encode()
    assert lines(data, block_bytes=1) == ["a,é\r\n", "b,日本\n", "\ufeffc,€"]
    assert lines(data, block_bytes=3) == lines(data, block_bytes=1024)


def test_leading_bom_is_dropped() -> None:
    assert lines("\ufeffA,B\n".encode()) == ["A,B\n"]


def test_only_newline_splits_lines() -> None:
    assert lines("a\x0cb\u2028c\n".encode()) == ["a\x0cb\u2028c\n"]


@pytest.mark.parametrize("block_bytes", [1, 2, 5, 1 << 20])
def test_invalid_utf8_reports_byte_offset_and_line(block_bytes: int) -> None:
    data = b"AB\ncaf\xc3\xa9\nx\xff\n"
    with pytest.raises(InvalidEncoding) as caught:
        lines(data, block_bytes)
    assert (caught.value.offset, caught.value.line, caught.value.bad) == (10, 3, b"\xff")


def test_truncated_sequence_at_the_end_is_invalid() -> None:
    with pytest.raises(InvalidEncoding) as caught:
        lines(b"ok\n\xe6\x97", block_bytes=2)
    assert caught.value.offset == 3


def test_nul_seen_is_set() -> None:
    decoded = DecodedLines(io.BytesIO(b"a\n"))
    list(decoded)
    assert not decoded.nul_seen
    decoded = DecodedLines(io.BytesIO(b"a\x00\n"))
    list(decoded)
    assert decoded.nul_seen

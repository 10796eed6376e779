"""Decode a binary CSV stream into lines, in bounded memory, knowing where decoding failed.

``io.TextIOWrapper`` cannot tell at which byte a decode error happened, and operators need that to
fix an export; so this decodes blocks incrementally and counts bytes and lines itself. The encoding
is UTF-8 unless the mapping declares the export's own; decoding is strict either way.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

BLOCK_BYTES = 1 << 20
_BOM = "\ufeff"


class InvalidEncoding(Exception):
    """The stream is not ``encoding`` at ``offset`` (0-based byte), on physical ``line`` (1-based)."""

    def __init__(self, encoding: str, offset: int, line: int, bad: bytes) -> None:
        self.encoding = encoding
        self.offset = offset
        self.line = line
        self.bad = bad
        label = "UTF-8" if encoding == "utf-8" else encoding
        super().__init__(f"invalid {label} at byte offset {offset} (line {line}, bytes 0x{bad.hex()})")


class DecodedLines:
    """Iterates the text lines of a stream in ``encoding``, line ends kept (what ``csv.reader`` wants).

    Lines are split on ``\\n`` only, so ``\\r\\n`` stays whole and characters such as form feeds or
    U+2028 inside a value never end a line. A leading BOM is dropped. ``nul_seen`` becomes True once
    a NUL character has been decoded, so callers only pay for NUL checks on files that have one.
    """

    def __init__(self, stream: BinaryIO, block_bytes: int = BLOCK_BYTES, encoding: str = "utf-8") -> None:
        self._stream = stream
        self._block_bytes = block_bytes
        self._encoding = encoding
        self.nul_seen = False

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self._encoding)("strict")
        consumed = 0  # bytes handed to the decoder so far
        newlines = 0  # "\n" decoded so far
        pending = ""
        first = True
        while True:
            block = self._stream.read(self._block_bytes)
            final = not block
            buffered = decoder.getstate()[0]
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                start = consumed - len(buffered) + exc.start
                line = newlines + exc.object[: exc.start].count(b"\n") + 1
                raise InvalidEncoding(self._encoding, start, line, exc.object[exc.start : exc.end]) from None
            consumed += len(block)
            if first and text:
                text = text.removeprefix(_BOM)
                first = False
            if "\x00" in text:
                self.nul_seen = True
            newlines += text.count("\n")
            pieces = (pending + text).split("\n")
            pending = pieces.pop()
            for piece in pieces:
                yield piece + "\n"
            if final:
                break
        if pending:
            yield pending

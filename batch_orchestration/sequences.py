"""Cutting a sequence into pieces of a size (Python 3.12's ``itertools.batched``, for 3.11)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in order, ``size`` at a time (the last piece may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]

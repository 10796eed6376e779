"""The interface every target connector offers the loader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class RecordOutcome:
    """What the target did with one operation of a batch."""

    reference_id: str
    success: bool
    target_id: str | None = None
    code: str | None = None
    message: str | None = None


class MissingParent(Exception):
    """A record's parent has no id in the target (it was rejected or not loaded yet)."""


class AmbiguousOutcome(Exception):
    """The batch may or may not have been applied (dropped connection, timeout, 5xx)."""


class Connector(Protocol):
    name: str

    def accepts(self, entity: str) -> bool:
        """Whether the target takes this entity in batches of its own."""

    def max_batch(self, entity: str) -> int: ...

    def record_data(self, entity: str, record: dict[str, Any], parent_ids: dict[str, str],
                    children: list[dict[str, Any]]) -> dict[str, Any]:
        """The target's ``data`` for a validated record; raises MissingParent when a parent has no id."""

    def send_batch(self, entity: str, operations: list[dict[str, Any]]) -> list[RecordOutcome]:
        """Send ``[{operation, referenceId, data}]``; raises AmbiguousOutcome when unsure."""

    def lookup(self, entity: str, reference_ids: list[str]) -> dict[str, str]:
        """Target ids of the records created with these reference ids (absent: not created)."""

    def read_all(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every record the target holds of this entity, for reconciliation."""

"""The interface every target connector offers the loader, and the outcomes it reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from batch_orchestration.targets.retry import RetryPolicy


@dataclass(frozen=True)
class RecordOutcome:
    """What the target did with one operation of a batch."""

    reference_id: str
    success: bool
    target_id: str | None = None
    code: str | None = None
    message: str | None = None


class MissingParent(Exception):
    """A record's parent has no id in the target (it was refused, or not loaded yet)."""

    def __init__(self, parent_entity: str, parent_key: str) -> None:
        super().__init__(f"{parent_entity} {parent_key} has no id in the target")
        self.parent_entity = parent_entity
        self.parent_key = parent_key


class AmbiguousOutcome(Exception):
    """The request may or may not have been applied (dropped connection, timeout, 5xx)."""


class NotApplied(Exception):
    """The request certainly had no effect (429, connection refused) and can be sent again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TargetRefused(Exception):
    """A final answer that no retry can change (400, 401, 403, 404, 415, 422...).

    The message carries the target's own words and what to check, never a secret's value.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Connector(Protocol):
    name: str
    policy: RetryPolicy  # bounds both its requests and the loader's resends of one batch

    def max_batch(self, entity: str) -> int: ...

    def record_data(self, entity: str, record: dict[str, Any], parent_ids: dict[str, dict[str, str]],
                    children: list[dict[str, Any]]) -> dict[str, Any]:
        """The target's ``data`` for a validated record.

        ``parent_ids`` maps each parent entity to its ``source_key -> target id``; raises
        MissingParent when a parent has no id.
        """

    def send_batch(self, entity: str, operations: list[dict[str, Any]]) -> list[RecordOutcome]:
        """Send ``[{operation, referenceId, data}]`` once; raises AmbiguousOutcome, NotApplied or TargetRefused."""

    def lookup(self, entity: str, reference_ids: list[str]) -> dict[str, str]:
        """Target ids of the records created with these reference ids (absent: not created)."""

    def read_all(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every record the target holds of this entity, for reconciliation."""

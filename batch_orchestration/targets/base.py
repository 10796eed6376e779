"""The seam between the pipeline and a target system: bindings, the connector interface, outcomes.

A **binding** says how one target system takes one entity: where, how many at a time, which
operations, which other entities' target ids its payload needs, and the payload built from a validated
record with an aggregate root's parts. The parts are in the payload; the connector sends them inside
their root (BigLedger) or apart (eBill's child files) and reports an outcome per root, with the parts'
own target ids where they have them. A **connector** is one target's client: it sends a batch once and
reports each record's outcome, and finds records again by ``referenceId`` when an answer was lost. The
interface is drawn against all four documented families:

- synchronous batches (BigLedger ``/v1/batch/<entity>``, Batch Import ``POST /v1/import``): one
  request per batch, one answer per record (Batch Import answers by index: the connector maps it back);
- staged file uploads with polling (eBill): ``send_batch`` creates the upload batch (and child batches
  for the parts' files), uploads, finalises and polls; a poll that runs out is an ``AmbiguousOutcome``,
  and sending the same batch again resumes the same upload (its ``jobId`` is derived from its content
  and its ``BatchLabel``);
- batch objects with items and a submit step (Bulk Payables): create, add the items, submit, poll.

In each, ``lookup`` asks the target by the record's reference (``referenceId``, an external id or
a reference column), so the loader's exactly-once protocol is the same for all; a target that cannot
be asked (eBill keeps no readable records) finds nothing, and resending resumes its upload instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from batch_orchestration.targets.retry import RetryPolicy
    from batch_orchestration.targets.session import AnswerTally


@dataclass(frozen=True)
class RecordOutcome:
    """What the target did with one operation of a batch."""

    reference_id: str
    success: bool
    target_id: str | None = None
    code: str | None = None
    message: str | None = None
    # The target's ids of the record's parts, in the order the payload builder got them; None when the
    # parts are held by their root's record (BigLedger's lines).
    part_ids: tuple[str, ...] | None = None
    # A refusal that depends on other records (a failed merge group's): the same payload is not held
    # back next time, as a refusal of the record itself is.
    depends_on_others: bool = False


class MissingParent(Exception):
    """A record's parent has no id in the target (it was refused, or not loaded yet)."""

    def __init__(self, parent_entity: str, parent_key: str) -> None:
        super().__init__(f"{parent_entity} {parent_key} has no id in the target")
        self.parent_entity = parent_entity
        self.parent_key = parent_key


class CannotRepresent(Exception):
    """A record the target cannot take as it is (an amount it would round, a value it refuses although
    the ledger's rules take it): held back, never sent or changed."""


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


Record = dict[str, Any]
REFERENCE_PREFIX = "bo_"  # every reference the pipeline sends starts so: its records are told from others


class TargetIds:
    """The target's ids of the records payloads refer to (``entity -> source key -> id``, the ID map).

    Keys of the entities in ``folds_case`` (item and account codes) are found whatever their case.
    """

    def __init__(self, ids: dict[str, dict[str, str]], folds_case: frozenset[str] = frozenset()) -> None:
        self._folds_case = folds_case
        self._ids = {entity: {self._norm(entity, key): target_id for key, target_id in by_key.items()}
                     for entity, by_key in ids.items()}

    def including(self, ids: dict[str, dict[str, str]]) -> TargetIds:
        """These ids and ``ids`` (entity -> key -> id) besides: a plan's stand-ins for records to be created."""
        merged = {entity: dict(by_key) for entity, by_key in self._ids.items()}
        for entity, by_key in ids.items():
            merged.setdefault(entity, {}).update({self._norm(entity, key): i for key, i in by_key.items()})
        return TargetIds(merged, self._folds_case)

    def _norm(self, entity: str, key: str) -> str:
        return key.lower() if entity in self._folds_case else key

    def of(self, entity: str, key: str | None) -> str | None:
        """The id of ``entity`` ``key`` (None for no key); MissingParent when the target has none."""
        if key is None:
            return None
        found = self._ids.get(entity, {}).get(self._norm(entity, key))
        if found is None:
            raise MissingParent(entity, key)
        return found


# (validated record, its parts in key order, the target's ids) -> the target's data for the record;
# raises MissingParent (a reference without a target id) or CannotRepresent
PayloadBuilder = Callable[[Record, Sequence[Record], TargetIds], dict[str, Any]]
# a payload, or the record the target holds, -> its amounts by name (an invoice's total, a journal entry's
# debits and credits), summed by reconciliation and compared exactly
Amounts = Callable[[dict[str, Any]], dict[str, Decimal]]
CREATE_UPDATE: frozenset[str] = frozenset({"create", "update"})


@dataclass(frozen=True)
class Binding:
    """How one target system takes one entity: the one place its batch size and payload are stated."""

    entity: str
    endpoint: str  # the system's name for it (BigLedger: the path segment, ``journal-entries``)
    max_batch: int
    payload: PayloadBuilder
    operations: frozenset[str] = CREATE_UPDATE
    # The entities whose target ids the payload names: loaded first, into the same target.
    resolves: tuple[str, ...] = ()
    amounts: Amounts | None = None  # money-bearing entities: what reconciliation sums

    @property
    def updatable(self) -> bool:
        return "update" in self.operations

    @property
    def deletable(self) -> bool:
        return "delete" in self.operations


@dataclass(frozen=True)
class BatchLabel:
    """Which batch of a unit and day this is, for a target that names its uploads (eBill's ``jobId``).

    ``recorded_before`` counts the batches of this target, entity and day whose outcome the loader has
    recorded, in the transaction that recorded it. So it is the same for every resend of one batch, in
    this run or after a dead one, and it has moved on by the time the same content is sent again (a
    record changed and changed back, a refusal forgotten by the operator).
    """

    day: str
    recorded_before: int


def find_binding(bindings: Mapping[str, Binding], system: str, entity: str) -> Binding:
    """``entity``'s binding in a system, or a KeyError naming what the system takes."""
    try:
        return bindings[entity]
    except KeyError:
        raise KeyError(f"{system} takes no {entity}; it takes {', '.join(bindings)}") from None


@dataclass(frozen=True)
class Outgoing:
    """One record of a batch as the loader hands it to a connector."""

    operation: Literal["create", "update", "delete"]
    reference_id: str
    target_id: str | None  # the record's id in the target, for an update or a delete
    data: dict[str, Any]


class Connector(Protocol):
    name: str  # the routing's name of the target: its state (ID map, intents, load rejects) is kept under it
    policy: RetryPolicy  # bounds both its requests and the loader's resends of one batch
    answers: AnswerTally  # every answer its client got, by status: requests spent, 429s met

    def binding(self, entity: str) -> Binding:
        """The binding of an entity this target takes (an aggregate root, or a lone entity)."""

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[RecordOutcome]:
        """Send once; raises AmbiguousOutcome, NotApplied or TargetRefused."""

    def lookup(self, binding: Binding, reference_ids: list[str], day: str) -> dict[str, str]:
        """Target ids of the records created with these reference ids (absent: not created), sent in
        batches of ``day``: a target that finds records through its batches reads only that day's."""


class Validates(Protocol):
    """A connector whose target can judge a batch without keeping it (BigLedger's ``validateOnly``)."""

    policy: RetryPolicy

    def validate_batch(self, binding: Binding, batch: Sequence[Outgoing]) -> list[RecordOutcome]:
        """Each record's verdict; nothing persists in the target. Raises as ``send_batch`` does."""


@dataclass(frozen=True)
class Held:
    """A record the target holds under a reference the pipeline sends, found again without the ID map."""

    target_id: str
    same: bool  # it shows every value of the payload the load would send now


@runtime_checkable
class Adopts(Protocol):
    """A connector whose target can count the records the pipeline made and find them by reference
    (BigLedger). A load whose ID map has lost some (a warehouse lost, restored from an old backup, or new
    beside one that loaded the same ledger) adopts them before it creates anything."""

    def made_by_pipeline(self, binding: Binding) -> int:
        """How many records of the binding's entity the target holds under a pipeline reference (one request)."""

    def held(self, binding: Binding, batch: Sequence[Outgoing]) -> dict[str, Held]:
        """The records of ``batch`` (would-be creates) that the target holds already, by reference id."""


@runtime_checkable
class Reads(Adopts, Protocol):
    """A connector whose target can also be read back by its own ids (BigLedger): reconciliation's."""

    def read_back(self, binding: Binding, target_ids: Sequence[str]) -> tuple[dict[str, dict[str, Any]], int]:
        """The records the target holds of ``target_ids`` (absent: gone), and the requests it took."""

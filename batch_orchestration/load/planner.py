"""The create / update / skip decision for each validated record, from the ID map."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from batch_orchestration.load.state import MappedRecord
from batch_orchestration.sequences import chunked
from batch_orchestration.targets.base import REFERENCE_PREFIX, Outgoing
from batch_orchestration.targets.wire import encode_json

Operation = Literal["create", "update", "skip", "delete"]


def reference_id(entity: str, source_key: str) -> str:
    """A deterministic ``referenceId``: the same source record always gets the same one.

    Hashed so that whatever characters a legacy key holds, the id is safe in URLs and filter lists.
    """
    digest = hashlib.sha256(f"{entity}\x00{source_key}".encode()).hexdigest()
    return f"{REFERENCE_PREFIX}{digest[:24]}"


def payload_hash(data: dict[str, Any]) -> str:
    """A hash of exactly what is sent for a record (canonical JSON), so a change of a payload builder
    or a parent's target id resends the record, and an unchanged payload never is."""
    return hashlib.sha256(encode_json(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Candidate:
    """A validated record with the target ``data`` built for it."""

    source_key: str
    content_hash: str
    record: dict[str, Any]
    data: dict[str, Any]

    @property
    def payload_hash(self) -> str:
        return payload_hash(self.data)


@dataclass(frozen=True)
class PlannedRecord:
    operation: Operation
    source_key: str
    reference_id: str
    content_hash: str
    payload_hash: str
    target_id: str | None
    record: dict[str, Any] = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)

    def outgoing(self) -> Outgoing:
        """The record as a connector is handed it (a skip is never handed over)."""
        assert self.operation != "skip", "a skip is not sent"
        return Outgoing(self.operation, self.reference_id, self.target_id, self.data)


def plan(entity: str, day: str, candidates: Iterable[Candidate],
         id_map: dict[str, MappedRecord]) -> list[PlannedRecord]:
    """Each candidate of ``day`` against the ID map; the last candidate of a key wins.

    Unchanged payloads are skipped, and so is a record the target holds in the version of a later
    day: replaying an old day (a backfill, a re-run) must not roll the ledger back.
    """
    latest = {candidate.source_key: candidate for candidate in candidates}
    planned = []
    for source_key, candidate in latest.items():
        mapped = id_map.get(source_key)
        digest = candidate.payload_hash
        if mapped is None:
            operation: Operation = "create"
        elif mapped.payload_hash == digest or mapped.partition_day > day:
            operation = "skip"
        else:
            operation = "update"
        planned.append(
            PlannedRecord(
                operation=operation,
                source_key=source_key,
                reference_id=reference_id(entity, source_key),
                content_hash=candidate.content_hash,
                payload_hash=digest,
                target_id=mapped.target_id if mapped else None,
                record=candidate.record,
                data=candidate.data,
            )
        )
    return planned


def batches(records: list[PlannedRecord], size: int) -> Iterator[list[PlannedRecord]]:
    """Sendable records (not skips) in batches of at most ``size``."""
    for batch in chunked([r for r in records if r.operation != "skip"], size):
        yield list(batch)

"""The create / update / skip decision for each validated record, from the ID map."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from batch_orchestration.load.state import MappedRecord

Operation = Literal["create", "update", "skip"]


def reference_id(entity: str, source_key: str) -> str:
    """A deterministic ``referenceId``: the same source record always gets the same one.

    Hashed so that whatever characters a legacy key holds, the id is safe in URLs and filter lists.
    """
    digest = hashlib.sha256(f"{entity}\x00{source_key}".encode()).hexdigest()
    return f"bo_{digest[:24]}"


@dataclass(frozen=True)
class PlannedRecord:
    operation: Operation
    source_key: str
    reference_id: str
    content_hash: str
    payload_hash: str
    target_id: str | None
    record: dict[str, Any] = field(compare=False)


def plan(entity: str, day: str, records: Iterable[tuple[str, str, str, dict[str, Any]]],
         id_map: dict[str, MappedRecord]) -> list[PlannedRecord]:
    """``records`` are ``(source_key, content_hash, payload_hash, record)`` of ``day``; the last of a key wins.

    A record the target already holds in the version of a later day is skipped: replaying an old day
    (a backfill, a re-run) must not roll the ledger back.
    """
    latest: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for source_key, content_hash, payload_hash, record in records:
        latest[source_key] = (content_hash, payload_hash, record)
    planned = []
    for source_key, (content_hash, payload_hash, record) in latest.items():
        mapped = id_map.get(source_key)
        if mapped is None:
            operation: Operation = "create"
        elif mapped.payload_hash == payload_hash or mapped.partition_day > day:
            operation = "skip"
        else:
            operation = "update"
        planned.append(
            PlannedRecord(
                operation=operation,
                source_key=source_key,
                reference_id=reference_id(entity, source_key),
                content_hash=content_hash,
                payload_hash=payload_hash,
                target_id=mapped.target_id if mapped else None,
                record=record,
            )
        )
    return planned


def batches(records: list[PlannedRecord], size: int) -> Iterator[list[PlannedRecord]]:
    """Sendable records (not skips) in batches of at most ``size``."""
    sendable = [r for r in records if r.operation != "skip"]
    for start in range(0, len(sendable), size):
        yield sendable[start : start + size]

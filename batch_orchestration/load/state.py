"""The loader's memory in the warehouse: the ID map and the intent log (tables: ``warehouse/schema.py``).

The ID map says, per target and entity, which source record became which target record and with
what content, so a re-run creates, updates or skips. The intent log is written *before* a batch is
sent and closed *after* its outcome is recorded; an open intent means a run died in between, and the
next run must find out what the target did before it sends anything again.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from batch_orchestration.warehouse import WarehouseSession

# The payload hash of a record adopted from the target in a version other than the one the load would send:
# it matches no payload, so the next load sends the record again (an update).
OTHER_VERSION = "adopted-other-version"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class MappedRecord:
    """``content_hash`` is the source record's own; ``payload_hash`` is the hash of the ``data`` sent
    for it (an invoice's lines too), and is what decides between update and skip. ``partition_day``
    is the day whose version the target holds: an older day never overwrites it."""

    target_id: str
    content_hash: str
    payload_hash: str
    partition_day: str


@dataclass(frozen=True)
class Intent:
    intent_id: str
    entity: str
    partition_day: str
    operations: list[dict[str, Any]]


class WarehouseClaimed(RuntimeError):
    """The warehouse is loaded from by another deployment."""


def claim_warehouse(session: WarehouseSession, deployment: str, shown_url: str) -> None:
    """Claim the warehouse for ``deployment``, the first time; refuse one another deployment claimed.

    Two deployments on one warehouse would each send what the other has not recorded yet, settle the
    other's open intents as if its runs had died, and keep separate rate budgets for one target.
    """
    # One row (id 1): of steps claiming a new warehouse at once, one inserts and the others read its claim.
    session.execute("INSERT INTO deployment_claim (id, deployment, claimed_at) VALUES (1, ?, ?) "
                    "ON CONFLICT DO NOTHING", (deployment, _now()))
    ((owner, since),) = session.fetch_all("SELECT deployment, claimed_at FROM deployment_claim")
    if owner != deployment:
        raise WarehouseClaimed(
            f"the warehouse {shown_url} is loaded from by the deployment {owner!r} (since {since:%Y-%m-%d %H:%M} "
            f"UTC), and this one is {deployment!r}. Give this deployment a warehouse of its own; or, if it is the "
            f"same deployment moved (another folder or machine), set BATCH_ORCHESTRATION_DEPLOYMENT={owner!r}")


def read_id_map(session: WarehouseSession, target: str, entity: str) -> dict[str, MappedRecord]:
    rows = session.fetch_all(
        "SELECT source_key, target_id, content_hash, payload_hash, partition_day FROM id_map "
        "WHERE target = ? AND entity = ?",
        (target, entity),
    )
    return {key: MappedRecord(*values) for key, *values in rows}


def upsert_id_map(session: WarehouseSession, target: str, entity: str, partition_day: str,
                  entries: list[tuple[str, str, str, str]]) -> None:
    """Record ``(source_key, target_id, content_hash, payload_hash)`` of one day, replacing earlier ones."""
    if not entries:
        return
    frame = pd.DataFrame(entries, columns=["source_key", "target_id", "content_hash", "payload_hash"])
    frame["partition_day"] = partition_day
    frame.insert(0, "entity", entity)
    frame.insert(0, "target", target)
    frame["updated_at"] = _now()
    session.create_temp_table("id_map_incoming", frame)
    session.execute(
        "DELETE FROM id_map WHERE target = ? AND entity = ? "
        "AND source_key IN (SELECT source_key FROM id_map_incoming)",
        (target, entity),
    )
    session.execute(
        "INSERT INTO id_map (target, entity, source_key, target_id, content_hash, payload_hash, partition_day, "
        "updated_at) SELECT target, entity, source_key, target_id, content_hash, payload_hash, partition_day, "
        "updated_at FROM id_map_incoming"
    )
    session.execute("DROP TABLE id_map_incoming")


@dataclass(frozen=True)
class Version:
    """One version of one record the target took (``load_history``): how it got there and from which row."""

    source_key: str
    target_id: str
    # create, update, delete, adopt (found in the target: ``load/loader.py``) or settle (found after a lost answer)
    operation: str
    source_file: str | None
    source_row: int | None
    content_hash: str
    payload_hash: str


def append_history(session: WarehouseSession, target: str, entity: str, partition_day: str,
                   versions: list[Version]) -> None:
    """Keep these versions of one day; nothing earlier is changed."""
    if not versions:
        return
    frame = pd.DataFrame([v.__dict__ for v in versions])
    frame["source_row"] = frame["source_row"].astype("Int64")
    frame.insert(0, "entity", entity)
    frame.insert(0, "target", target)
    frame["partition_day"] = partition_day
    frame["recorded_at"] = _now()
    session.append_df("load_history", frame)


def forget_id_map(session: WarehouseSession, target: str, entity: str, keys: list[str]) -> None:
    """The records deleted in the target leave the ID map (their history stays)."""
    for key in keys:
        session.execute("DELETE FROM id_map WHERE target = ? AND entity = ? AND source_key = ?", (target, entity, key))


def open_intent(session: WarehouseSession, target: str, entity: str, partition_day: str,
                operations: list[dict[str, Any]]) -> str:
    intent_id = uuid.uuid4().hex
    session.execute(
        "INSERT INTO intent_log (intent_id, target, entity, partition_day, operations, status, opened_at) "
        "VALUES (?, ?, ?, ?, ?, 'open', ?)",
        (intent_id, target, entity, partition_day, json.dumps(operations), _now()),
    )
    return intent_id


def close_intent(session: WarehouseSession, intent_id: str, status: str, outcome: dict[str, Any]) -> None:
    session.execute(
        "UPDATE intent_log SET status = ?, closed_at = ?, outcome = ? WHERE intent_id = ?",
        (status, _now(), json.dumps(outcome), intent_id),
    )


def recorded_batches(session: WarehouseSession, target: str, entity: str, partition_day: str) -> int:
    """Batches of the day whose outcome was recorded (their intent closed with it)."""
    return session.fetch_all(
        "SELECT COUNT(*) FROM intent_log WHERE target = ? AND entity = ? AND partition_day = ? AND status = 'closed'",
        (target, entity, partition_day),
    )[0][0]


def open_intents(session: WarehouseSession, target: str, entity: str) -> list[Intent]:
    rows = session.fetch_all(
        "SELECT intent_id, entity, partition_day, operations FROM intent_log "
        "WHERE target = ? AND entity = ? AND status = 'open' ORDER BY opened_at",
        (target, entity),
    )
    return [Intent(i, e, d, json.loads(ops)) for i, e, d, ops in rows]

"""Loading one entity's validated records of one day into a target, exactly once.

For each batch: the intent is logged and committed, the batch is sent, and the outcome (target ids
into the ID map, failures into the rejects table) is recorded while the intent is closed, in one
transaction. When the target's answer is lost, the records are looked up by their ``referenceId``
before anything is sent again; a run that died with intents open does the same first thing next time.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.load.planner import PlannedRecord, batches, plan
from batch_orchestration.load.state import (
    close_intent,
    ensure_load_state,
    open_intent,
    open_intents,
    read_id_map,
    upsert_id_map,
)
from batch_orchestration.targets.base import AmbiguousOutcome, Connector, MissingParent, RecordOutcome
from batch_orchestration.validate.rejects import REJECTS_DDL, RejectRecord, rejects_frame
from batch_orchestration.validate.tables import validated_table
from batch_orchestration.warehouse import Warehouse
from batch_orchestration.warehouse.backend import quote_identifier

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class LoadReport:
    entity: str
    partition_day: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    batches_sent: int = 0
    ambiguous_batches: int = 0
    recovered_by_lookup: int = 0
    reconciled_intents: int = 0
    seconds: float = 0.0
    rejects_by_code: Counter[str] = field(default_factory=Counter)

    @property
    def records_per_second(self) -> float:
        sent = self.created + self.updated + self.rejected
        return sent / self.seconds if self.seconds > 0 else 0.0


def _combined_hash(own: str, children: list[str]) -> str:
    """A parent's content changes when any record travelling inside it changes."""
    return hashlib.sha256("\x00".join([own, *sorted(children)]).encode()).hexdigest()


class Loader:
    def __init__(self, warehouse: Warehouse, connector: Connector, max_attempts: int = 6,
                 progress: Progress | None = None) -> None:
        self.warehouse = warehouse
        self.connector = connector
        self.max_attempts = max_attempts
        self.progress = progress or (lambda done, total: None)
        with warehouse.session() as session:
            ensure_load_state(session)
            session.execute(REJECTS_DDL)

    # -- public ----------------------------------------------------------------------------------

    def load_partition(self, entity: EntitySpec, day: str) -> LoadReport:
        started = time.monotonic()
        report = LoadReport(entity=entity.name, partition_day=day)
        if entity.travels_with:
            self._account_travelling_children(entity, day, report)
        else:
            report.reconciled_intents = self.reconcile_open_intents(entity)
            self._load_own_records(entity, day, report)
        report.seconds = time.monotonic() - started
        return report

    def reconcile_open_intents(self, entity: EntitySpec) -> int:
        """Settle batches a dead run left open: look their records up before anything is resent."""
        with self.warehouse.session() as session:
            intents = open_intents(session, self.connector.name, entity.name)
        for intent in intents:
            creates = [op["referenceId"] for op in intent.operations if op["operation"] == "create"]
            found = self.connector.lookup(entity.name, creates) if creates else {}
            entries = [
                (op["sourceKey"], found[op["referenceId"]], op["contentHash"], op["payloadHash"])
                for op in intent.operations
                if op["referenceId"] in found
            ]
            with self.warehouse.session() as session:
                upsert_id_map(session, self.connector.name, entity.name, intent.partition_day, entries)
                close_intent(session, intent.intent_id, "reconciled", {"found": len(entries)})
            log.info("reconciled open intent %s: %d of %d creates were applied", intent.intent_id,
                     len(entries), len(creates))
        return len(intents)

    # -- own records ---------------------------------------------------------------------------

    def _read_day(self, entity: EntitySpec, day: str) -> list[dict[str, Any]]:
        table = quote_identifier(validated_table(entity))
        with self.warehouse.session() as session:
            if not session.table_exists(validated_table(entity)):
                return []
            frame = session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? ORDER BY source_row", (day,))
        return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

    def _children_by_parent(self, parent: EntitySpec, day: str) -> dict[str, list[dict[str, Any]]]:
        children: dict[str, list[dict[str, Any]]] = {}
        for child in ENTITIES.values():
            if child.travels_with != parent.name:
                continue
            parent_field = parent.key_fields[0]
            for row in self._read_day(child, day):
                children.setdefault(row[parent_field], []).append(row)
        return children

    def _payload(self, entity: EntitySpec, planned: PlannedRecord, parent_ids: dict[str, str],
                 children: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        data = self.connector.record_data(entity.name, planned.record, parent_ids,
                                          children.get(planned.source_key, []))
        if planned.operation == "update":
            data = {"id": planned.target_id, **data}
        return {"operation": planned.operation, "referenceId": planned.reference_id, "data": data}

    def _load_own_records(self, entity: EntitySpec, day: str, report: LoadReport) -> None:
        rows = self._read_day(entity, day)
        children = self._children_by_parent(entity, day)
        with self.warehouse.session() as session:
            session.execute("DELETE FROM rejects WHERE entity = ? AND partition_day = ? AND stage = 'load'",
                            (entity.name, day))
            id_map = read_id_map(session, self.connector.name, entity.name)
            parent_ids = {
                key: mapped.target_id
                for parent in entity.parents
                for key, mapped in read_id_map(session, self.connector.name, parent).items()
            }
        candidates = [
            (row["source_key"], row["content_hash"],
             _combined_hash(row["content_hash"], [c["content_hash"] for c in children.get(row["source_key"], [])]),
             row)
            for row in rows
        ]
        planned = plan(entity.name, day, candidates, id_map)
        report.skipped = sum(1 for p in planned if p.operation == "skip")
        total = len(planned) - report.skipped
        done = 0
        self.progress(done, total)
        for batch in batches(planned, self.connector.max_batch(entity.name)):
            sendable, operations, unsendable = [], [], []
            for item in batch:
                try:
                    operations.append(self._payload(entity, item, parent_ids, children))
                    sendable.append(item)
                except MissingParent as exc:
                    unsendable.append(RecordOutcome(item.reference_id, False, code="PARENT_NOT_LOADED",
                                                    message=str(exc)))
            if unsendable:
                self._record(entity, day, batch, unsendable, intent_id=None, report=report)
            if sendable:
                self._send(entity, day, sendable, operations, report)
            done += len(batch)
            self.progress(done, total)

    def _send(self, entity: EntitySpec, day: str, batch: list[PlannedRecord],
              operations: list[dict[str, Any]], report: LoadReport) -> None:
        intent_ops = [
            {"operation": p.operation, "referenceId": p.reference_id, "sourceKey": p.source_key,
             "contentHash": p.content_hash, "payloadHash": p.payload_hash}
            for p in batch
        ]
        with self.warehouse.session() as session:
            intent_id = open_intent(session, self.connector.name, entity.name, day, intent_ops)
        by_reference = {p.reference_id: p for p in batch}
        pending = {op["referenceId"]: op for op in operations}
        outcomes: list[RecordOutcome] = []
        for attempt in range(1, self.max_attempts + 1):
            try:
                report.batches_sent += 1
                outcomes += self.connector.send_batch(entity.name, list(pending.values()))
                pending.clear()
                break
            except AmbiguousOutcome as exc:
                report.ambiguous_batches += 1
                log.warning("batch of %d %s: %s; looking the records up before resending",
                            len(pending), entity.name, exc)
                time.sleep(min(5.0, 0.2 * 2**attempt))
                creates = [ref for ref, op in pending.items() if op["operation"] == "create"]
                found = self.connector.lookup(entity.name, creates) if creates else {}
                for ref, target_id in found.items():
                    outcomes.append(RecordOutcome(ref, True, target_id=target_id))
                    pending.pop(ref, None)
                report.recovered_by_lookup += len(found)
                if not pending:
                    break
        if pending:
            # Leave the intent open: the next run looks these up before sending them again.
            self._record(entity, day, batch, outcomes, intent_id=None, report=report)
            raise RuntimeError(f"{len(pending)} {entity.name} still unconfirmed after {self.max_attempts} attempts")
        self._record(entity, day, [by_reference[o.reference_id] for o in outcomes], outcomes,
                     intent_id=intent_id, report=report)

    def _record(self, entity: EntitySpec, day: str, batch: list[PlannedRecord], outcomes: list[RecordOutcome],
                intent_id: str | None, report: LoadReport) -> None:
        by_reference = {p.reference_id: p for p in batch}
        entries, rejects = [], []
        for outcome in outcomes:
            planned = by_reference[outcome.reference_id]
            if outcome.success and outcome.target_id:
                entries.append((planned.source_key, outcome.target_id, planned.content_hash, planned.payload_hash))
                if planned.operation == "create":
                    report.created += 1
                else:
                    report.updated += 1
                continue
            code = outcome.code or "LOAD_FAILED"
            report.rejected += 1
            report.rejects_by_code[code] += 1
            rejects.append(
                RejectRecord(
                    entity=entity.name, partition_day=day, source_file=planned.record.get("source_file"),
                    source_row=planned.record.get("source_row"), source_key=planned.source_key, stage="load",
                    code=code, message=outcome.message or "rejected by the target",
                )
            )
        with self.warehouse.session() as session:
            upsert_id_map(session, self.connector.name, entity.name, day, entries)
            session.append_df("rejects", rejects_frame(rejects))
            if intent_id is not None:
                close_intent(session, intent_id, "closed",
                             {"succeeded": len(entries), "rejected": len(rejects)})

    # -- records that travel inside a parent ------------------------------------------------------

    def _account_travelling_children(self, entity: EntitySpec, day: str, report: LoadReport) -> None:
        """Mark each child loaded when its parent went out with it, else rejected with the parent's reason."""
        parent = ENTITIES[entity.travels_with or ""]
        parent_key = parent.key_fields[0]
        rows = self._read_day(entity, day)
        with self.warehouse.session() as session:
            session.execute("DELETE FROM rejects WHERE entity = ? AND partition_day = ? AND stage = 'load'",
                            (entity.name, day))
            parent_ids = read_id_map(session, self.connector.name, parent.name)
            own = read_id_map(session, self.connector.name, entity.name)
            parent_rejects = dict(session.fetch_all(
                "SELECT source_key, code || ': ' || message FROM rejects "
                "WHERE entity = ? AND partition_day = ? AND stage = 'load'", (parent.name, day)))
        entries, rejects = [], []
        for row in rows:
            mapped_parent = parent_ids.get(row[parent_key])
            if mapped_parent is None:
                reason = parent_rejects.get(row[parent_key], "its parent was not loaded")
                rejects.append(RejectRecord(
                    entity=entity.name, partition_day=day, source_file=row["source_file"],
                    source_row=row["source_row"], source_key=row["source_key"], stage="load",
                    code="PARENT_REJECTED", message=f"{parent.name} {row[parent_key]}: {reason}"))
                report.rejected += 1
                report.rejects_by_code["PARENT_REJECTED"] += 1
                continue
            previous = own.get(row["source_key"])
            if previous is not None and (previous.payload_hash == row["content_hash"] or previous.partition_day > day):
                report.skipped += 1
                continue
            elif previous is None:
                report.created += 1
            else:
                report.updated += 1
            target_id = f"{mapped_parent.target_id}#{row['source_key']}"
            entries.append((row["source_key"], target_id, row["content_hash"], row["content_hash"]))
        with self.warehouse.session() as session:
            upsert_id_map(session, self.connector.name, entity.name, day, entries)
            session.append_df("rejects", rejects_frame(rejects))

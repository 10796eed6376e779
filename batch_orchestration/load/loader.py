"""Loading one entity's validated records of one day into a target, exactly once.

One pass: read the day, its children, the ID map and the parents' target ids; build each record's
payload (a record whose parent is not in the target is rejected, naming the parent and why); plan
create / update / skip against the ID map by the hash of that payload; send the batches; record the
outcomes. For each batch the intent is logged and committed first, and the outcome (target ids into
the ID map, failures into the rejects table) is recorded while the intent is closed, in one
transaction. When the target's answer is lost, the records are looked up by their ``referenceId``
before anything is sent again; a run that died with intents open does the same first thing next time.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.load.planner import Candidate, PlannedRecord, batches, plan
from batch_orchestration.load.state import (
    MappedRecord,
    close_intent,
    open_intent,
    open_intents,
    read_id_map,
    upsert_id_map,
)
from batch_orchestration.targets.base import (
    AmbiguousOutcome,
    Connector,
    MissingParent,
    NotApplied,
    RecordOutcome,
    TargetRefused,
)
from batch_orchestration.validate.codes import reject_code
from batch_orchestration.validate.rejects import RejectRecord, append_rejects, clear_load_rejects, load_reject_reasons
from batch_orchestration.warehouse import Warehouse, WarehouseSession
from batch_orchestration.warehouse.backend import nulls_as_none, quote_identifier
from batch_orchestration.warehouse.schema import validated_table

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class BatchUnconfirmed(RuntimeError):
    """The retry policy ran out with records of a batch still unconfirmed; their intent stays open."""


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


@dataclass(frozen=True)
class _DayState:
    """Everything one load reads from the warehouse, read once before anything is sent."""

    rows: list[dict[str, Any]]
    id_map: dict[str, MappedRecord]
    children: dict[str, list[dict[str, Any]]]
    parent_ids: dict[str, dict[str, str]]
    parent_reasons: dict[str, dict[str, str]]


def _read_rows(session: WarehouseSession, entity: str, day: str) -> list[dict[str, Any]]:
    table = quote_identifier(validated_table(entity))
    frame = session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? ORDER BY source_row", (day,))
    return nulls_as_none(frame).to_dict(orient="records")


def _missing_parent_reject(target: str, entity: str, day: str, row: dict[str, Any], parent: str, parent_key: str,
                           reasons: dict[str, str]) -> RejectRecord:
    reason = reasons.get(parent_key)
    code = reject_code("PARENT_REJECTED" if reason else "PARENT_NOT_LOADED")
    return RejectRecord(entity=entity, partition_day=day, source_file=row.get("source_file"),
                        source_row=row.get("source_row"), source_key=row["source_key"], stage="load",
                        code=code.code, message=code.message(parent=parent, key=parent_key, reason=reason),
                        target=target)


class Loader:
    def __init__(self, warehouse: Warehouse, connector: Connector, progress: Progress | None = None) -> None:
        self.warehouse = warehouse
        self.connector = connector
        self.progress = progress or (lambda done, total: None)

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
            log.warning("reconciled open intent %s of %s: %d of %d creates had been applied",
                        intent.intent_id, entity.name, len(entries), len(creates))
        return len(intents)

    # -- own records ---------------------------------------------------------------------------

    def _read_day(self, entity: EntitySpec, day: str) -> _DayState:
        """Read the day once, and clear its load rejects: this load states them anew."""
        children_of = [child for child in ENTITIES.values() if child.travels_with == entity.name]
        with self.warehouse.session() as session:
            clear_load_rejects(session, self.connector.name, entity.name, day)
            children: dict[str, list[dict[str, Any]]] = {}
            for child in children_of:
                for row in _read_rows(session, child.name, day):
                    children.setdefault(row[entity.key_fields[0]], []).append(row)
            return _DayState(
                rows=_read_rows(session, entity.name, day),
                id_map=read_id_map(session, self.connector.name, entity.name),
                children=children,
                parent_ids={
                    parent: {key: mapped.target_id
                             for key, mapped in read_id_map(session, self.connector.name, parent).items()}
                    for parent in entity.parents
                },
                parent_reasons={parent: load_reject_reasons(session, self.connector.name, parent)
                                for parent in entity.parents},
            )

    def _load_own_records(self, entity: EntitySpec, day: str, report: LoadReport) -> None:
        state = self._read_day(entity, day)
        candidates, held_back = [], []
        for row in state.rows:
            try:
                data = self.connector.record_data(entity.name, row, state.parent_ids,
                                                  state.children.get(row["source_key"], []))
            except MissingParent as missing:
                held_back.append(_missing_parent_reject(
                    self.connector.name, entity.name, day, row, missing.parent_entity, missing.parent_key,
                    state.parent_reasons.get(missing.parent_entity, {})))
                continue
            candidates.append(Candidate(row["source_key"], row["content_hash"], row, data))
        if held_back:
            with self.warehouse.session() as session:
                append_rejects(session, held_back)
            report.rejected += len(held_back)
            report.rejects_by_code.update(r.code for r in held_back)
        planned = plan(entity.name, day, candidates, state.id_map)
        report.skipped = sum(1 for p in planned if p.operation == "skip")
        self._refresh_unchanged(entity, day, planned, state.id_map)
        total, done = len(planned) - report.skipped, 0
        self.progress(done, total)
        for batch in batches(planned, self.connector.max_batch(entity.name)):
            self._send(entity, day, batch, report)
            done += len(batch)
            self.progress(done, total)

    def _refresh_unchanged(self, entity: EntitySpec, day: str, planned: list[PlannedRecord],
                           id_map: dict[str, MappedRecord]) -> None:
        """A record whose source text changed but whose payload did not (``1000`` for ``1000.00``) is
        not sent; the ID map learns that the target holds this day's version, so the conservation
        check counts it as loaded."""
        entries = []
        for p in planned:
            mapped = id_map.get(p.source_key)
            if (p.operation == "skip" and mapped is not None and mapped.partition_day <= day
                    and mapped.content_hash != p.content_hash):
                entries.append((p.source_key, mapped.target_id, p.content_hash, mapped.payload_hash))
        if entries:
            with self.warehouse.session() as session:
                upsert_id_map(session, self.connector.name, entity.name, day, entries)

    def _send(self, entity: EntitySpec, day: str, batch: list[PlannedRecord], report: LoadReport) -> None:
        """Send one batch under the connector's retry policy, settling an ambiguous answer by lookup."""
        intent_ops = [
            {"operation": p.operation, "referenceId": p.reference_id, "sourceKey": p.source_key,
             "contentHash": p.content_hash, "payloadHash": p.payload_hash}
            for p in batch
        ]
        with self.warehouse.session() as session:
            intent_id = open_intent(session, self.connector.name, entity.name, day, intent_ops)
        pending = {p.reference_id: p for p in batch}
        outcomes: list[RecordOutcome] = []
        in_doubt = False
        ever_in_doubt = False  # once an answer was lost, a later refusal does not mean "nothing applied"

        def attempt() -> None:
            nonlocal in_doubt, ever_in_doubt
            if in_doubt:
                creates = [ref for ref, p in pending.items() if p.operation == "create"]
                found = self.connector.lookup(entity.name, creates) if creates else {}
                for ref, target_id in found.items():
                    outcomes.append(RecordOutcome(ref, True, target_id=target_id))
                    del pending[ref]
                report.recovered_by_lookup += len(found)
                in_doubt = False
                if not pending:
                    return
            report.batches_sent += 1
            try:
                outcomes.extend(self.connector.send_batch(entity.name, [p.operation_body() for p in pending.values()]))
            except AmbiguousOutcome as exc:
                in_doubt = ever_in_doubt = True
                report.ambiguous_batches += 1
                log.warning("batch of %d %s: %s; looking the records up before resending", len(pending),
                            entity.name, exc)
                raise
            pending.clear()

        try:
            self.connector.policy.retrying((NotApplied, AmbiguousOutcome))(attempt)
        except TargetRefused:
            if ever_in_doubt:
                # An earlier send may have been applied: keep what is known, leave the intent open.
                self._record(entity, day, batch, outcomes, intent_id=None, report=report)
            else:
                with self.warehouse.session() as session:  # nothing was applied: nothing to reconcile
                    close_intent(session, intent_id, "refused", {})
            raise
        except (NotApplied, AmbiguousOutcome) as exc:
            # Keep the intent open: the next run looks these up before sending them again.
            self._record(entity, day, batch, outcomes, intent_id=None, report=report)
            raise BatchUnconfirmed(
                f"{len(pending)} {entity.name} of a batch are still unconfirmed after the retry policy "
                f"ran out ({exc}); the next run looks them up before sending anything"
            ) from exc
        self._record(entity, day, batch, outcomes, intent_id=intent_id, report=report)

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
            code = outcome.code or reject_code("LOAD_FAILED").code
            report.rejected += 1
            report.rejects_by_code[code] += 1
            rejects.append(
                RejectRecord(
                    entity=entity.name, partition_day=day, source_file=planned.record.get("source_file"),
                    source_row=planned.record.get("source_row"), source_key=planned.source_key, stage="load",
                    code=code, message=outcome.message or reject_code("LOAD_FAILED").message(),
                    target=self.connector.name,
                )
            )
        with self.warehouse.session() as session:
            upsert_id_map(session, self.connector.name, entity.name, day, entries)
            append_rejects(session, rejects)
            if intent_id is not None:
                close_intent(session, intent_id, "closed",
                             {"succeeded": len(entries), "rejected": len(rejects)})

    # -- records that travel inside a parent ------------------------------------------------------

    def _account_travelling_children(self, entity: EntitySpec, day: str, report: LoadReport) -> None:
        """Mark each child loaded when its parent went out with it, else rejected with the parent's reason."""
        parent = ENTITIES[entity.travels_with or ""]
        parent_key = parent.key_fields[0]
        with self.warehouse.session() as session:
            clear_load_rejects(session, self.connector.name, entity.name, day)
            rows = _read_rows(session, entity.name, day)
            parent_ids = read_id_map(session, self.connector.name, parent.name)
            own = read_id_map(session, self.connector.name, entity.name)
            refused_today = load_reject_reasons(session, self.connector.name, parent.name, day)
        entries, rejects = [], []
        for row in rows:
            key = row[parent_key]
            mapped_parent = parent_ids.get(key)
            if mapped_parent is None or key in refused_today:
                rejects.append(_missing_parent_reject(self.connector.name, entity.name, day, row, parent.name, key,
                                                      refused_today))
                continue
            previous = own.get(row["source_key"])
            if previous is not None and (previous.content_hash == row["content_hash"] or previous.partition_day > day):
                report.skipped += 1
                continue
            if previous is None:
                report.created += 1
            else:
                report.updated += 1
            target_id = f"{mapped_parent.target_id}#{row['source_key']}"
            entries.append((row["source_key"], target_id, row["content_hash"], mapped_parent.payload_hash))
        report.rejected += len(rejects)
        report.rejects_by_code.update(r.code for r in rejects)
        with self.warehouse.session() as session:
            upsert_id_map(session, self.connector.name, entity.name, day, entries)
            append_rejects(session, rejects)

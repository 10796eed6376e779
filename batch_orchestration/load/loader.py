"""Loading one unit (an entity, or an aggregate root with its parts) of one day into a target, exactly once.

One pass: read the day, its parts, the ID maps and the target's ids of the records it names; build
each record's payload through the target's binding (a record whose parent is not in the target is
rejected, naming the parent and why); plan create / update / skip against the ID map by the hash of
that payload; send the batches; record the outcomes. Parts are in their root's payload and loaded
with it, whole or not at all: in the ID map with it (under the ids the target gave them, else their
root's), or rejected with it.

For each batch the intent is logged and committed first, and the outcome (target ids into the ID
map, failures into the rejects table) is recorded while the intent is closed, in one transaction.
When the target's answer is lost, the records are looked up by their ``referenceId`` before anything
is sent again; a run that died with intents open does the same first thing next time.

The ID map itself can be lost (a warehouse deleted, restored from an old backup). Before creating, a
load asks a target that can count the pipeline's records (``Adopts``) whether it holds more than the
ID map knows; if so, it adopts the would-be creates the target holds as the load would send them, and
holds back those it holds in another version (the ``adopt`` command maps those too, and the next load
updates them), so nothing is created twice or overwritten unasked.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from batch_orchestration.entities.registry import ENTITIES, EntitySpec, members
from batch_orchestration.load.planner import Candidate, PlannedRecord, batches, plan, reference_id
from batch_orchestration.load.state import (
    OTHER_VERSION,
    MappedRecord,
    Version,
    append_history,
    close_intent,
    forget_id_map,
    open_intent,
    open_intents,
    read_id_map,
    recorded_batches,
    upsert_id_map,
)
from batch_orchestration.targets.base import (
    Adopts,
    AmbiguousOutcome,
    BatchLabel,
    Binding,
    CannotRepresent,
    Connector,
    MissingParent,
    NotApplied,
    RecordOutcome,
    TargetIds,
    TargetRefused,
)
from batch_orchestration.targets.kill_points import reached
from batch_orchestration.validate.changes import read_deletes, sync_mode
from batch_orchestration.validate.codes import reject_code
from batch_orchestration.validate.rejects import (
    Refusal,
    RejectRecord,
    append_rejects,
    clear_load_rejects,
    load_reject_reasons,
    refused_payloads,
)
from batch_orchestration.warehouse import Warehouse, WarehouseSession
from batch_orchestration.warehouse.backend import nulls_as_none, quote_identifier
from batch_orchestration.warehouse.schema import validated_table

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class DeletesStopped(RuntimeError):
    """A load would delete more of an entity's records than the guard allows: nothing was sent."""


@dataclass(frozen=True)
class DeleteGuard:
    """An empty or truncated snapshot must never empty a ledger: a load deleting more than ``max_share`` of
    the records it holds of an entity stops before sending anything, unless the run is ``confirmed``."""

    max_share: float = 0.05
    confirmed: bool = False

    def check(self, entity: str, target: str, deleting: int, held: int) -> None:
        if self.confirmed or deleting <= self.max_share * held:
            return
        raise DeletesStopped(
            f"{entity}: this load would delete {deleting} of the {held} records {target} holds "
            f"({deleting / held:.0%}, above the guard's {self.max_share:.0%}); nothing was sent. Check the day's "
            "export (an empty or cut file?); to delete them, run again with "
            "resources.settings.config.confirm_deletes: true")


class BatchUnconfirmed(RuntimeError):
    """The retry policy ran out with records of a batch still unconfirmed; their intent stays open."""


@dataclass
class LoadReport:
    entity: str
    partition_day: str
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    rejected: int = 0
    batches_sent: int = 0
    ambiguous_batches: int = 0
    recovered_by_lookup: int = 0
    reconciled_intents: int = 0
    adopted: int = 0  # found in the target though the ID map did not know them (of those, in another version:)
    adopted_other_version: int = 0
    seconds: float = 0.0
    rejects_by_code: Counter[str] = field(default_factory=Counter)

    @property
    def records_per_second(self) -> float:
        sent = self.created + self.updated + self.rejected
        return sent / self.seconds if self.seconds > 0 else 0.0


Row = dict[str, Any]


@dataclass(frozen=True)
class _DayState:
    """Everything one load reads from the warehouse, read once before anything is sent."""

    rows: list[Row]
    id_map: dict[str, MappedRecord]
    parts: dict[str, list[Row]]  # root key -> its parts of the day, in key order
    part_id_map: dict[str, MappedRecord]
    target_ids: TargetIds
    parent_reasons: dict[str, dict[str, str]]
    refusals: dict[str, Refusal]  # what the target refused of the root before, by key
    rejected_keys: frozenset[str]  # the root's records of the day rejected before the load: in the source still
    deletes: dict[str, tuple[str, int]]  # a changes export's deletes of the day: key -> (file, row)
    deleted_later: frozenset[str]  # keys the load of a later day deleted: a replay of this one must not revive them


def _read_rows(session: WarehouseSession, entity: EntitySpec, day: str) -> list[Row]:
    table = quote_identifier(validated_table(entity.name))
    order = ", ".join(quote_identifier(f) for f in entity.key_fields)
    frame = session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? ORDER BY {order}", (day,))
    return nulls_as_none(frame).to_dict(orient="records")


# (record, code, message, the payload hash the target refused, when it did): a record not sent
HeldBack = tuple[Row, str, str, str | None]


@dataclass(frozen=True)
class EarlierUnits:
    """What a load does before a unit, as a plan tells it: stand-in ids of the records it creates, and the
    reasons (``"CODE: message"``) of those it holds back (entity -> key -> ...)."""

    created: dict[str, dict[str, str]]
    held_back: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Decision:
    """What a load of a unit's day does: the records it sends (creates and updates), those whose payload
    the target holds already, and those held back with their reject (not sent)."""

    sends: list[PlannedRecord]
    skips: list[PlannedRecord]
    held_back: list[HeldBack]


def _load_reject(target: str, entity: str, day: str, row: Row, code: str, message: str,
                 refused_payload: str | None = None) -> RejectRecord:
    return RejectRecord(entity=entity, partition_day=day, source_file=row.get("source_file"),
                        source_row=row.get("source_row"), source_key=row["source_key"], stage="load",
                        code=code, message=message, target=target, payload_hash=refused_payload)


def _row_number(row: Row) -> int | None:
    return None if row.get("source_row") is None else int(row["source_row"])


def _version(row: Row, target_id: str, operation: str, payload: str) -> Version:
    """A version of a validated row the target took (its lineage: file, row, content hash)."""
    return Version(row["source_key"], target_id, operation, row.get("source_file"), _row_number(row),
                   row["content_hash"], payload)


def _missing_parent_message(missing: MissingParent, reasons: dict[str, str]) -> tuple[str, str]:
    reason = reasons.get(missing.parent_key)
    code = reject_code("PARENT_REJECTED" if reason else "PARENT_NOT_LOADED")
    return code.code, code.message(parent=missing.parent_entity, key=missing.parent_key, reason=reason)


class Loader:
    def __init__(self, warehouse: Warehouse, connector: Connector, progress: Progress | None = None,
                 deletes: DeleteGuard | None = None) -> None:
        self.warehouse = warehouse
        self.connector = connector
        self.progress = progress or (lambda done, total: None)
        self.deletes = deletes or DeleteGuard()

    # -- public ----------------------------------------------------------------------------------

    def load_unit(self, root: EntitySpec, day: str) -> dict[str, LoadReport]:
        """Load the unit of ``root`` for ``day``; one report per member (its parts', then its own)."""
        started = time.monotonic()
        binding = self.connector.binding(root.name)
        reports = {member.name: LoadReport(entity=member.name, partition_day=day) for member in members(root)}
        reports[root.name].reconciled_intents = self.reconcile_open_intents(root, binding)
        _UnitLoad(self, root, binding, day, reports).run()
        for report in reports.values():
            report.seconds = time.monotonic() - started
        return reports

    def decide_unit(self, root: EntitySpec, day: str, earlier: EarlierUnits | None = None,
                    ) -> tuple[Decision, dict[str, MappedRecord]]:
        """What ``load_unit`` would do with the day (and the ID map it decided against), read and computed
        without a write or a request: the dry run's (``load/plan.py``), told what the same load does
        first with the units before this one (``earlier``)."""
        unit = _UnitLoad(self, root, self.connector.binding(root.name), day, {})
        state = unit._read_day()
        if earlier is not None:
            reasons = {parent: {**known, **earlier.held_back.get(parent, {})}
                       for parent, known in state.parent_reasons.items()}
            state = replace(state, target_ids=state.target_ids.including(earlier.created), parent_reasons=reasons)
        return unit.decide(state), state.id_map

    def adopt_unit(self, root: EntitySpec, day: str) -> dict[str, LoadReport]:
        """Map the records of the day that the target holds though the ID map does not know them (the
        ``adopt`` command, which calls it for a unit's days newest first, after the units it names): only reads
        are sent. One report per member, with ``adopted`` and ``adopted_other_version``."""
        reports = {member.name: LoadReport(entity=member.name, partition_day=day) for member in members(root)}
        unit = _UnitLoad(self, root, self.connector.binding(root.name), day, reports)
        state = unit._read_day()
        unit.adopt(unit.decide(state), state, ask_first=False)
        return reports

    def reconcile_open_intents(self, entity: EntitySpec, binding: Binding) -> int:
        """Settle batches a dead run left open: look their records up before anything is resent.

        A header found is recorded with the parts it was sent with (the intent names them).
        """
        with self.warehouse.session() as session:
            intents = open_intents(session, self.connector.name, entity.name)
        for intent in intents:
            creates = [op["referenceId"] for op in intent.operations if op["operation"] == "create"]
            found = self.connector.lookup(binding, creates, intent.partition_day) if creates else {}
            applied = [(op, found[op["referenceId"]]) for op in intent.operations if op["referenceId"] in found]
            entries = [(op["sourceKey"], target_id, op["contentHash"], op["payloadHash"]) for op, target_id in applied]
            parts = [(key, target_id, content_hash, op["payloadHash"])
                     for op, target_id in applied for key, content_hash, *_ in op.get("parts", [])]
            settled = [Version(op["sourceKey"], target_id, "settle", op.get("sourceFile"), op.get("sourceRow"),
                               op["contentHash"], op["payloadHash"]) for op, target_id in applied]
            # a part is [key, content hash, file, row] (intents of release 0.x name only the first two)
            settled_parts = [Version(key, target_id, "settle", *(where or [None, None]), content_hash,
                                     op["payloadHash"])
                             for op, target_id in applied for key, content_hash, *where in op.get("parts", [])]
            with self.warehouse.session() as session:
                upsert_id_map(session, self.connector.name, entity.name, intent.partition_day, entries)
                append_history(session, self.connector.name, entity.name, intent.partition_day, settled)
                if entity.parts:
                    upsert_id_map(session, self.connector.name, entity.parts.entity, intent.partition_day, parts)
                    append_history(session, self.connector.name, entity.parts.entity, intent.partition_day,
                                   settled_parts)
                close_intent(session, intent.intent_id, "reconciled", {"found": len(entries)})
            log.warning("reconciled open intent %s of %s: %d of %d creates found by lookup (a target that "
                        "cannot be asked finds none, and the batch sent again settles them)",
                        intent.intent_id, entity.name, len(entries), len(creates))
        return len(intents)


class _UnitLoad:
    """One load of one unit and day: the pass the module docstring describes."""

    def __init__(self, loader: Loader, root: EntitySpec, binding: Binding, day: str,
                 reports: dict[str, LoadReport]) -> None:
        self.warehouse, self.connector, self.progress = loader.warehouse, loader.connector, loader.progress
        self.guard = loader.deletes
        self.root, self.binding, self.day, self.reports = root, binding, day, reports
        self.part = ENTITIES[root.parts.entity] if root.parts else None
        self.target = self.connector.name

    @property
    def report(self) -> LoadReport:
        return self.reports[self.root.name]

    def run(self) -> None:
        state = self._read_day()  # first: the refusals of this day are among those read
        decision = self.decide(state)
        adopted, conflicts = self.adopt(decision, state, ask_first=True)
        if adopted:
            state = self._read_day()
            decision = self.decide(state)
        if conflicts:
            keys = {row["source_key"] for row, *_ in conflicts}
            decision = Decision([p for p in decision.sends if p.source_key not in keys], decision.skips,
                                decision.held_back + conflicts)
        deleting = sum(p.operation == "delete" for p in decision.sends)
        if deleting:
            held = sum(m.partition_day <= self.day for m in state.id_map.values())
            self.guard.check(self.root.name, self.target, deleting, held)
        self._clear_day_rejects()
        self._reject(decision.held_back, state)
        self.report.skipped = len(decision.skips)
        self._refresh_unchanged(decision.skips, state)
        total, done = len(decision.sends), 0
        self.progress(done, total)
        for batch in batches(decision.sends, self.binding.max_batch):
            self._send(batch, state)
            done += len(batch)
            self.progress(done, total)

    def decide(self, state: _DayState) -> Decision:
        """What a load of the day does with each record, computed from what was read: nothing is written."""
        candidates: list[Candidate] = []
        held_back: list[HeldBack] = []
        revived = []  # deleted by a later day's load: this older day's version is not created again
        for row in state.rows:
            if row["source_key"] in state.deleted_later and row["source_key"] not in state.id_map:
                revived.append(PlannedRecord("skip", row["source_key"], reference_id(self.root.name, row["source_key"]),
                                             row["content_hash"], "", None, row))
                continue
            parts = state.parts.get(row["source_key"], [])
            try:
                data = self.binding.payload(row, parts, state.target_ids)
            except MissingParent as missing:
                code, message = _missing_parent_message(missing, state.parent_reasons.get(missing.parent_entity, {}))
                held_back.append((row, code, message, None))
                continue
            except CannotRepresent as exc:
                held_back.append((row, "NOT_REPRESENTABLE",
                                  reject_code("NOT_REPRESENTABLE").message(target=self.target, reason=str(exc)), None))
                continue
            candidates.append(Candidate(row["source_key"], row["content_hash"], row, data))
        planned = plan(self.root.name, self.day, candidates, state.id_map)
        planned = self._hold_back_refused_again(planned, state, held_back)
        if not self.binding.updatable:
            message = reject_code("NOT_UPDATABLE").message(target=self.target, entity=self.root.name)
            held_back += [(p.record, "NOT_UPDATABLE", message, None) for p in planned if p.operation == "update"]
            planned = [p for p in planned if p.operation != "update"]
        planned += self._deletes(state, held_back)
        return Decision([p for p in planned if p.operation != "skip"],
                        [p for p in planned if p.operation == "skip"] + revived, held_back)

    def adopt(self, decision: Decision, state: _DayState, ask_first: bool) -> tuple[int, list[HeldBack]]:
        """Map the would-be creates the target holds already (the module docstring's lost ID map); the
        number mapped, and the records held back. ``ask_first`` (a load): only when the target counts more
        of the pipeline's records than the ID map knows (one request), and only records held as this load
        would send them; one held in another version is held back (``HELD_IN_ANOTHER_VERSION``: it may be
        another source's record under a key that collides, or a later day's) for the ``adopt`` command,
        which maps it too."""
        creates = [p for p in decision.sends if p.operation == "create"]
        if not creates or not isinstance(self.connector, Adopts):
            return 0, []
        if ask_first:
            made = self.connector.made_by_pipeline(self.binding)
            known = len({mapped.target_id for mapped in state.id_map.values()})
            if made <= known:
                return 0, []
            log.warning("%s holds %d %s made by the pipeline, the ID map knows %d: adopting before creating",
                        self.target, made, self.root.name, known)
        held = self.connector.held(self.binding, [p.outgoing() for p in creates])
        conflicts: list[HeldBack] = []
        if ask_first:
            conflicts = [(p.record, "HELD_IN_ANOTHER_VERSION", reject_code("HELD_IN_ANOTHER_VERSION").message(
                target=self.target, entity=self.root.name, key=p.source_key,
                target_id=held[p.reference_id].target_id), None)
                for p in creates if p.reference_id in held and not held[p.reference_id].same]
            held = {ref: found for ref, found in held.items() if found.same}
        newest = self._newest_days([p.source_key for p in creates if p.reference_id in held
                                    and not held[p.reference_id].same])
        entries: dict[str, list[tuple[str, str, str, str]]] = {}  # by the day they are mapped as of
        part_entries: dict[str, list[tuple[str, str, str, str]]] = {}
        versions: list[Version] = []
        part_versions: list[Version] = []
        for p in creates:
            if (found := held.get(p.reference_id)) is None:
                continue
            # Another version than this day's may be a later day's: mapped as of the source's newest day, so
            # an older day's load does not roll it back, and the newest day's load sends it again.
            payload, day = (p.payload_hash, self.day) if found.same else (OTHER_VERSION, newest[p.source_key])
            self.report.adopted += 1
            self.report.adopted_other_version += not found.same
            entries.setdefault(day, []).append((p.source_key, found.target_id, p.content_hash, payload))
            versions.append(_version(p.record, found.target_id, "adopt", payload))
            parts = state.parts.get(p.source_key, [])  # held by their root's record (as outcomes without part ids)
            part_entries.setdefault(day, []).extend(
                (part["source_key"], found.target_id, part["content_hash"], payload) for part in parts)
            part_versions += [_version(part, found.target_id, "adopt", payload) for part in parts]
            if self.part is not None:
                self.reports[self.part.name].adopted += len(parts)
        with self.warehouse.session() as session:
            append_history(session, self.target, self.root.name, self.day, versions)
            if self.part is not None:
                append_history(session, self.target, self.part.name, self.day, part_versions)
            for day, mapped in entries.items():
                upsert_id_map(session, self.target, self.root.name, day, mapped)
                if self.part is not None:
                    upsert_id_map(session, self.target, self.part.name, day, part_entries[day])
        if self.report.adopted:
            log.warning("%s %s: adopted %d of %d would-be creates from %s (%d in another version, sent again)",
                        self.root.name, self.day, self.report.adopted, len(creates), self.target,
                        self.report.adopted_other_version)
        if conflicts:
            log.warning("%s %s: %d would-be creates are held by %s in another version: held back, see "
                        "`batch-orchestration adopt`", self.root.name, self.day, len(conflicts), self.target)
        return self.report.adopted, conflicts

    def _newest_days(self, keys: list[str]) -> dict[str, str]:
        """The newest validated day of each of ``keys`` (this day at least)."""
        if not keys:
            return {}
        table = quote_identifier(validated_table(self.root.name))
        with self.warehouse.session() as session:
            newest = dict(session.fetch_all(
                f"SELECT source_key, MAX(partition_day) FROM {table} GROUP BY source_key"))
        return {key: max(newest.get(key, self.day), self.day) for key in keys}

    def _deletes(self, state: _DayState, held_back: list[HeldBack]) -> list[PlannedRecord]:
        """The records that left the source on this day, of those the target holds as of this day or before
        (a later day's version stands): in a snapshot, those neither among the day's validated records nor
        rejected on the way; in a changes export, those its delete rows name. Deleted where the target takes
        deletes, else held back (``NOT_DELETABLE``)."""
        mode = sync_mode(self.root)
        if mode == "snapshot":
            present = {row["source_key"] for row in state.rows} | state.rejected_keys
            gone = {key: {"source_key": key} for key in state.id_map if key not in present}
        elif mode == "changes":
            mapped_as = {self.root.compared_key(key): key for key in state.id_map}
            named = {mapped_as[compared]: where for key, where in state.deletes.items()
                     if (compared := self.root.compared_key(key)) in mapped_as}
            gone = {key: {"source_key": key, "source_file": file, "source_row": row}
                    for key, (file, row) in named.items()}
        else:
            return []
        later = {key for key in gone if state.id_map[key].partition_day > self.day}
        gone = {key: record for key, record in sorted(gone.items()) if key not in later}
        if mode == "changes" and len(gone) < len(state.deletes):
            log.info("%s %s: nothing sent for %d of the day's deletes: %d name records %s does not hold (never "
                     "loaded, or deleted before), %d records it holds in a later day's version", self.root.name,
                     self.day, len(state.deletes) - len(gone), len(state.deletes) - len(gone) - len(later),
                     self.target, len(later))
        if not self.binding.deletable:
            message = reject_code("NOT_DELETABLE").message(target=self.target, entity=self.root.name)
            held_back += [(record, "NOT_DELETABLE", message, None) for record in gone.values()]
            return []
        return [PlannedRecord("delete", key, reference_id(self.root.name, key), state.id_map[key].content_hash,
                              state.id_map[key].payload_hash, state.id_map[key].target_id, record)
                for key, record in gone.items()]

    def _hold_back_refused_again(self, planned: list[PlannedRecord], state: _DayState,
                                 held_back: list[HeldBack]) -> list[PlannedRecord]:
        """A payload the target refused before would be refused again: it is not resent, and its
        refusal is stated for this day. A changed record (or a changed parent id) is sent anew."""
        sendable = []
        for p in planned:
            refusal = state.refusals.get(p.source_key)
            if p.operation != "skip" and refusal is not None and refusal.payload_hash == p.payload_hash:
                held_back.append((p.record, refusal.code, refusal.message, p.payload_hash))
            else:
                sendable.append(p)
        return sendable

    def _clear_day_rejects(self) -> None:
        """This load states the day's load rejects anew (what the target refused before is kept apart, in
        the refusals read with the day, so the same payload is not sent again)."""
        with self.warehouse.session() as session:
            for member in members(self.root):
                clear_load_rejects(session, self.target, member.name, self.day)

    def _read_day(self) -> _DayState:
        """Read the day once."""
        with self.warehouse.session() as session:
            refusals = refused_payloads(session, self.target, self.root.name)
            parts: dict[str, list[Row]] = {}
            part_id_map: dict[str, MappedRecord] = {}
            if self.part is not None and self.root.parts is not None:
                for row in _read_rows(session, self.part, self.day):
                    parts.setdefault(row[self.root.parts.link], []).append(row)
                part_id_map = read_id_map(session, self.target, self.part.name)
            referenced = self.binding.resolves
            return _DayState(
                rows=_read_rows(session, self.root, self.day),
                id_map=read_id_map(session, self.target, self.root.name),
                parts=parts,
                part_id_map=part_id_map,
                target_ids=TargetIds(
                    {parent: {key: m.target_id for key, m in read_id_map(session, self.target, parent).items()}
                     for parent in referenced},
                    folds_case=frozenset(p for p in referenced if ENTITIES[p].key_folds_case),
                ),
                parent_reasons={parent: load_reject_reasons(session, self.target, parent) for parent in referenced},
                refusals=refusals,
                rejected_keys=frozenset(key for (key,) in session.fetch_all(
                    "SELECT DISTINCT source_key FROM rejects WHERE entity = ? AND partition_day = ? "
                    "AND stage <> 'load' AND source_key IS NOT NULL", (self.root.name, self.day))),
                deletes=read_deletes(session, self.root.name, self.day),
                deleted_later=frozenset(key for (key,) in session.fetch_all(
                    "SELECT DISTINCT source_key FROM load_history WHERE target = ? AND entity = ? "
                    "AND operation = 'delete' AND partition_day > ?", (self.target, self.root.name, self.day))),
            )

    # -- recording -------------------------------------------------------------------------------

    def _part_entries(self, root_key: str, part_ids: Sequence[str], payload_hash: str,
                      state: _DayState, only_stale: bool = False) -> list[tuple[str, str, str, str]]:
        """ID-map entries of a root's parts, with their target ids (in part order)."""
        entries = []
        part_report = self.reports[self.part.name] if self.part else None
        for part, target_id in zip(state.parts.get(root_key, []), part_ids, strict=True):
            mapped = state.part_id_map.get(part["source_key"])
            if only_stale and mapped is not None and (mapped.partition_day > self.day or (
                    mapped.content_hash == part["content_hash"] and mapped.target_id == target_id)):
                if part_report:
                    part_report.skipped += 1
                continue
            if part_report:
                if mapped is None:
                    part_report.created += 1
                else:
                    part_report.updated += 1
            entries.append((part["source_key"], target_id, part["content_hash"], payload_hash))
        return entries

    def _part_rejects(self, root_row: Row, code: str, message: str, state: _DayState) -> list[RejectRecord]:
        if self.part is None:
            return []
        reason = reject_code("HEADER_REJECTED").message(
            parent=self.root.name, key=root_row["source_key"], reason=f"{code}: {message}")
        rejects = [_load_reject(self.target, self.part.name, self.day, part, "HEADER_REJECTED", reason)
                   for part in state.parts.get(root_row["source_key"], [])]
        self.reports[self.part.name].rejected += len(rejects)
        self.reports[self.part.name].rejects_by_code.update(r.code for r in rejects)
        return rejects

    def _reject(self, held_back: list[HeldBack], state: _DayState) -> None:
        """Records not sent (a parent not in the target, a change the target cannot take, a payload it
        refused before), with their parts."""
        if not held_back:
            return
        rejects = []
        for row, code, message, refused_payload in held_back:
            rejects.append(_load_reject(self.target, self.root.name, self.day, row, code, message, refused_payload))
            rejects += self._part_rejects(row, code, message, state)
        self.report.rejected += len(held_back)
        self.report.rejects_by_code.update(code for _, code, _, _ in held_back)
        with self.warehouse.session() as session:
            append_rejects(session, rejects)

    def _refresh_unchanged(self, skips: list[PlannedRecord], state: _DayState) -> None:
        """A record whose source text changed but whose payload did not (``1000`` for ``1000.00``) is
        not sent; the ID map learns that the target holds this day's version (and its parts, held by
        it), so the conservation check counts them as loaded. A replay of an older day changes nothing."""
        entries, part_entries = [], []
        for p in skips:
            mapped = state.id_map.get(p.source_key)
            if mapped is None or mapped.partition_day > self.day:  # deleted, or held in a later day's version
                if self.part is not None:
                    self.reports[self.part.name].skipped += len(state.parts.get(p.source_key, []))
                continue
            if mapped.content_hash != p.content_hash:
                entries.append((p.source_key, mapped.target_id, p.content_hash, mapped.payload_hash))
            # A part the ID map lacks is held by its root's record (BigLedger); parts with ids of their
            # own (eBill's) are mapped with their root whenever it is.
            part_ids = [state.part_id_map[part["source_key"]].target_id if part["source_key"] in state.part_id_map
                        else mapped.target_id for part in state.parts.get(p.source_key, [])]
            part_entries += self._part_entries(p.source_key, part_ids, mapped.payload_hash, state, only_stale=True)
        if entries or part_entries:
            with self.warehouse.session() as session:
                upsert_id_map(session, self.target, self.root.name, self.day, entries)
                if self.part is not None:
                    upsert_id_map(session, self.target, self.part.name, self.day, part_entries)

    def _record(self, batch: list[PlannedRecord], outcomes: list[RecordOutcome], intent_id: str | None,
                state: _DayState) -> None:
        by_reference = {p.reference_id: p for p in batch}
        entries, part_entries, rejects = [], [], []
        versions: list[Version] = []
        part_versions: list[Version] = []
        forgotten: list[str] = []
        for outcome in outcomes:
            planned = by_reference[outcome.reference_id]
            target_id = outcome.target_id or (planned.target_id if planned.operation != "create" else None)
            if outcome.success and target_id and planned.operation == "delete":
                forgotten.append(planned.source_key)
                versions.append(Version(planned.source_key, target_id, "delete", planned.record.get("source_file"),
                                        _row_number(planned.record), planned.content_hash, planned.payload_hash))
                self.report.deleted += 1
                continue
            if outcome.success and target_id:
                entries.append((planned.source_key, target_id, planned.content_hash, planned.payload_hash))
                parts = state.parts.get(planned.source_key, [])
                part_ids = outcome.part_ids or [target_id] * len(parts)
                part_entries += self._part_entries(planned.source_key, part_ids, planned.payload_hash, state)
                versions.append(_version(planned.record, target_id, planned.operation, planned.payload_hash))
                part_versions += [_version(part, part_id, planned.operation, planned.payload_hash)
                                  for part, part_id in zip(parts, part_ids, strict=True)]
                if planned.operation == "create":
                    self.report.created += 1
                else:
                    self.report.updated += 1
                continue
            code = outcome.code or reject_code("LOAD_FAILED").code
            message = outcome.message or reject_code("LOAD_FAILED").message()
            self.report.rejected += 1
            self.report.rejects_by_code[code] += 1
            refused_payload = None if outcome.depends_on_others else planned.payload_hash
            rejects.append(_load_reject(self.target, self.root.name, self.day, planned.record, code, message,
                                        refused_payload))
            rejects += self._part_rejects(planned.record, code, message, state)
        with self.warehouse.session() as session:
            upsert_id_map(session, self.target, self.root.name, self.day, entries)
            forget_id_map(session, self.target, self.root.name, forgotten)
            append_history(session, self.target, self.root.name, self.day, versions)
            if self.part is not None:
                upsert_id_map(session, self.target, self.part.name, self.day, part_entries)
                append_history(session, self.target, self.part.name, self.day, part_versions)
            append_rejects(session, rejects)
            if intent_id is not None:
                close_intent(session, intent_id, "closed", {"succeeded": len(entries), "rejected": len(rejects)})

    # -- sending ---------------------------------------------------------------------------------

    def _send(self, batch: list[PlannedRecord], state: _DayState) -> None:
        """Send one batch under the connector's retry policy, settling an ambiguous answer by lookup."""
        entity, report = self.root.name, self.report
        intent_ops = [
            {"operation": p.operation, "referenceId": p.reference_id, "sourceKey": p.source_key,
             "contentHash": p.content_hash, "payloadHash": p.payload_hash,
             "sourceFile": p.record.get("source_file"), "sourceRow": _row_number(p.record),
             "parts": [[part["source_key"], part["content_hash"], part.get("source_file"), _row_number(part)]
                       for part in state.parts.get(p.source_key, [])]}
            for p in batch
        ]
        with self.warehouse.session() as session:
            label = BatchLabel(self.day, recorded_batches(session, self.target, entity, self.day))
            intent_id = open_intent(session, self.target, entity, self.day, intent_ops)
        pending = {p.reference_id: p for p in batch}
        outcomes: list[RecordOutcome] = []
        in_doubt = False
        ever_in_doubt = False  # once an answer was lost, a later refusal does not mean "nothing applied"

        def attempt() -> None:
            nonlocal in_doubt, ever_in_doubt
            if in_doubt:
                creates = [ref for ref, p in pending.items() if p.operation == "create"]
                found = self.connector.lookup(self.binding, creates, self.day) if creates else {}
                for ref, target_id in found.items():
                    outcomes.append(RecordOutcome(ref, True, target_id=target_id))
                    del pending[ref]
                report.recovered_by_lookup += len(found)
                in_doubt = False
                if not pending:
                    return
            report.batches_sent += 1
            outgoing = [p.outgoing() for p in pending.values()]
            try:
                answered = self.connector.send_batch(self.binding, outgoing, label)
                for outcome in answered:
                    if pending.pop(outcome.reference_id, None) is None:
                        log.warning("the answer names %s, which this batch did not send; ignored", outcome.reference_id)
                    else:
                        outcomes.append(outcome)
                if pending:  # an answer that leaves records out says nothing of them
                    raise AmbiguousOutcome(f"the answer says nothing of {len(pending)} of the batch's records")
            except AmbiguousOutcome as exc:
                in_doubt = ever_in_doubt = True
                report.ambiguous_batches += 1
                log.warning("batch of %d %s: %s; looking the records up before resending", len(pending), entity, exc)
                raise

        try:
            self.connector.policy.retrying((NotApplied, AmbiguousOutcome))(attempt)
        except TargetRefused:
            if ever_in_doubt:
                # An earlier send may have been applied: keep what is known, leave the intent open.
                self._record(batch, outcomes, None, state)
            else:
                with self.warehouse.session() as session:  # nothing was applied: nothing to reconcile
                    close_intent(session, intent_id, "refused", {})
            raise
        except (NotApplied, AmbiguousOutcome) as exc:
            # Keep the intent open: the next run looks these up before sending them again.
            self._record(batch, outcomes, None, state)
            raise BatchUnconfirmed(
                f"{len(pending)} {entity} of a batch are still unconfirmed after the retry policy "
                f"ran out ({exc}); the next run looks them up before sending anything"
            ) from exc
        reached("batch_answered")  # the target applied the batch; the pipeline has not recorded it yet
        self._record(batch, outcomes, intent_id, state)

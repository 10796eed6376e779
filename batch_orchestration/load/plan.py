"""The dry run: what a load of a day would do per unit, computed without a write or a request to a target.

Each routed unit's day is decided as ``Loader.load_unit`` decides it (the same code: payloads, the ID
map, the refusals remembered, the create-only rule), and reported: the creates, the updates with the
fields that changed since the version the target holds (old and new values, from the validated row of
the day the ID map says it holds), the records whose payload the target holds already, and those held
back with their reject. Batches a dead run left open are counted: a load would settle them first.
Units are planned in load order, each told what the load does first with the units before it (the
records it creates, with stand-in ids; those it holds back, with their reasons). Asked to
(``--ask-target``), a target that can judge a batch without keeping it (BigLedger's ``validateOnly``)
gives its verdict on each record that would be sent. Deletes (an entity whose mapping declares
``sync: snapshot`` or ``changes``) are listed by source key, and said when the delete guard would stop the
load. The plan does not cover the lines (parts) of a unit, which travel in their root's payload.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from batch_orchestration.entities.registry import ENTITIES, EntitySpec, units
from batch_orchestration.load.loader import DeleteGuard, DeletesStopped, EarlierUnits, Loader
from batch_orchestration.load.planner import PlannedRecord
from batch_orchestration.load.state import MappedRecord, open_intents
from batch_orchestration.sequences import chunked
from batch_orchestration.targets.base import (
    AmbiguousOutcome,
    BatchLabel,
    Binding,
    NotApplied,
    Outgoing,
    RecordOutcome,
    TargetRefused,
    Validates,
)
from batch_orchestration.targets.routing import Route, Routing
from batch_orchestration.targets.systems import SYSTEMS
from batch_orchestration.targets.wire import encode_json
from batch_orchestration.warehouse import Warehouse, WarehouseSession
from batch_orchestration.warehouse.backend import nulls_as_none, quote_identifier
from batch_orchestration.warehouse.schema import validated_table

_IN_LIST = 500  # keys per query of the previous versions
STAND_IN = "<created by this load:"  # the id a plan gives a record the same load creates before it is named


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Update:
    source_key: str
    target_id: str
    # Empty: only what its payload names changed (its lines, a parent's id). None: the version the target
    # holds is no longer in the warehouse (its day was validated again since), so it cannot be compared.
    changes: tuple[FieldChange, ...] | None


@dataclass(frozen=True)
class NotSent:
    """A record the load holds back, with its reject."""

    source_key: str
    code: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """The target's word on a record it was asked about (``--ask-target``); ``valid`` None: not asked."""

    source_key: str
    valid: bool | None
    code: str | None = None
    message: str | None = None


@dataclass
class UnitPlan:
    entity: str
    target: str
    system: str
    creates: list[str] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the delete guard would stop the load, before it sends anything
    skips: int = 0
    held_back: list[NotSent] = field(default_factory=list)
    in_doubt: int = 0  # batches a dead run left open: a load looks them up before it sends
    records: int = 0  # the day's validated records of the unit's root
    verdicts: list[Verdict] | None = None  # the target's, when asked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _PlanOnly:
    """A target's bindings, as its connector would use them, behind a connector that cannot send."""

    def __init__(self, route: Route) -> None:
        self.name = route.target
        self._bindings = SYSTEMS[route.config.system].bindings_of(route)

    def binding(self, entity: str) -> Binding:
        return self._bindings[entity]

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[RecordOutcome]:
        raise RuntimeError("a plan sends nothing")

    def lookup(self, binding: Binding, reference_ids: list[str], day: str) -> dict[str, str]:
        raise RuntimeError("a plan asks the target nothing")


def _text(value: Any) -> str | None:
    """A value as the plan shows it, the same whichever warehouse read it (PostgreSQL reads an integer
    column with a NULL in it as floats; DECIMAL keeps its trailing zeros)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _held_versions(session: WarehouseSession, entity: EntitySpec, mapped: dict[str, MappedRecord],
                   keys: list[str]) -> dict[str, dict[str, Any]]:
    """source key -> the validated row of the version the target holds: of the ID map's day, and with its
    content hash (a day validated again since holds other rows)."""
    by_day: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        by_day[mapped[key].partition_day].append(key)
    table, rows = quote_identifier(validated_table(entity.name)), {}
    for day, day_keys in by_day.items():
        for chunk in chunked(day_keys, _IN_LIST):
            marks = ", ".join("?" * len(chunk))
            frame = session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? AND source_key IN ({marks})",
                                     (day, *chunk))
            rows.update({row["source_key"]: row for row in nulls_as_none(frame).to_dict(orient="records")
                         if row["content_hash"] == mapped[row["source_key"]].content_hash})
    return rows


def _changes(entity: EntitySpec, old: dict[str, Any] | None, new: dict[str, Any]) -> tuple[FieldChange, ...] | None:
    if old is None:
        return None
    return tuple(FieldChange(name, _text(old.get(name)), _text(new.get(name)))
                 for name in entity.fields if _text(old.get(name)) != _text(new.get(name)))


def _stand_in(entity: str, key: str) -> str:
    return f"{STAND_IN} {entity} {key}>"


def _verdicts(validator: Validates, binding: Binding, sends: list[PlannedRecord]) -> list[Verdict]:
    """The target's verdict on each send, in batches of the binding's size (the connector's budget
    applies; a batch the target did not answer is asked again, as the retry policy says, nothing being
    kept). A record naming one the load would create first cannot be judged before it exists."""
    askable = [p for p in sends if STAND_IN not in encode_json(p.data)]
    asked = {p.reference_id for p in askable}
    verdicts = [Verdict(p.source_key, None, "NOT_ASKED", "names a record this load creates first")
                for p in sends if p.reference_id not in asked]
    for chunk in chunked(askable, binding.max_batch):
        outgoing = [p.outgoing() for p in chunk]
        try:
            answered = {o.reference_id: o for o in validator.policy.retrying((NotApplied, AmbiguousOutcome))(
                validator.validate_batch, binding, outgoing)}
        except TargetRefused as refused:
            verdicts += [Verdict(p.source_key, None, "NOT_ASKED", f"the target refused to judge: {refused}")
                         for p in chunk]
            continue
        for p in chunk:
            outcome = answered.get(p.reference_id)
            verdicts.append(Verdict(p.source_key, None, "NOT_ASKED", "the target's answer left it out")
                            if outcome is None else Verdict(p.source_key, outcome.success, outcome.code,
                                                            outcome.message))
    return verdicts


def plan_unit(warehouse: Warehouse, route: Route, root: EntitySpec, day: str,
              earlier: EarlierUnits | None = None, validator: Validates | None = None,
              guard: DeleteGuard | None = None) -> UnitPlan:
    """One unit's plan, told what the load does first with the units before it; a ``validator`` is asked
    for its verdict on what would be sent."""
    bindings = _PlanOnly(route)
    decision, mapped = Loader(warehouse, bindings).decide_unit(root, day, earlier)  # type: ignore[arg-type]
    result = UnitPlan(root.name, route.target, route.config.system, skips=len(decision.skips),
                      records=sum(p.operation != "delete" for p in decision.sends) + len(decision.skips)
                      + sum(code != "NOT_DELETABLE" for _, code, _, _ in decision.held_back))
    updates = [p for p in decision.sends if p.operation == "update"]
    with warehouse.session() as session:
        result.in_doubt = len(open_intents(session, route.target, root.name))
        held = _held_versions(session, root, mapped, [p.source_key for p in updates])
    result.creates = [p.source_key for p in decision.sends if p.operation == "create"]
    result.deletes = [p.source_key for p in decision.sends if p.operation == "delete"]
    if result.deletes:
        try:
            (guard or DeleteGuard()).check(root.name, route.target, len(result.deletes),
                                sum(m.partition_day <= day for m in mapped.values()))
        except DeletesStopped as stopped:
            result.stopped = str(stopped)
    result.updates = [Update(p.source_key, p.target_id or "", _changes(root, held.get(p.source_key), p.record))
                      for p in updates]
    result.held_back = [NotSent(row["source_key"], code, message) for row, code, message, _ in decision.held_back]
    if validator is not None:
        result.verdicts = _verdicts(validator, bindings.binding(root.name), decision.sends)
    return result


def _wanted(root: EntitySpec, entity: str | None) -> bool:
    return entity in (None, root.name, root.parts.entity if root.parts else None)


def plan_day(warehouse: Warehouse, routing: Routing, day: str, entity: str | None = None,
             validators: dict[str, Validates] | None = None, guard: DeleteGuard | None = None) -> list[UnitPlan]:
    """The plan of each routed unit (or of ``entity``'s), in load order; units routed nowhere are left out.

    Every routed unit is planned, in order, so that what a unit names is as the load leaves it (an
    invoice's new customer created, a refused one held back). ``validators`` (target name -> connector)
    judge the units asked for; a create the target judged invalid is held back for the units after it.
    """
    plans = []
    earlier: dict[str, EarlierUnits] = defaultdict(lambda: EarlierUnits(defaultdict(dict), defaultdict(dict)))
    for root in units():
        route = routing.route(root.name)
        if route is None:
            continue
        wanted = _wanted(root, entity)
        told = earlier[route.target]
        plan = plan_unit(warehouse, route, root, day, told,
                         (validators or {}).get(route.target) if wanted else None, guard)
        invalid = {v.source_key: f"{v.code}: {v.message}" for v in plan.verdicts or [] if v.valid is False}
        told.created[root.name] = {key: _stand_in(root.name, key) for key in plan.creates if key not in invalid}
        told.held_back[root.name] = {**{h.source_key: f"{h.code}: {h.message}" for h in plan.held_back}, **invalid}
        if wanted:
            plans.append(plan)
    return plans


def day_has_records(warehouse: Warehouse, day: str) -> bool:
    """Whether the day was validated: it has validated records of some entity, or rejects."""
    with warehouse.session() as session:
        if session.fetch_all("SELECT COUNT(*) FROM rejects WHERE partition_day = ?", (day,))[0][0]:
            return True
        return any(session.table_exists(validated_table(name)) and session.fetch_all(
            f"SELECT COUNT(*) FROM {quote_identifier(validated_table(name))} WHERE partition_day = ?", (day,))[0][0]
            for name in ENTITIES)


def plan_json(plans: list[UnitPlan], day: str) -> str:
    return json.dumps({"day": day, "units": [p.to_dict() for p in plans]}, indent=2, ensure_ascii=False)

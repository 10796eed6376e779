"""The dry run: what a load of a day would do per unit, computed without a write or a request to a target.

Each routed unit's day is decided as ``Loader.load_unit`` decides it (the same code: payloads, the ID
map, the refusals remembered, the create-only rule), and reported: the creates, the updates with the
fields that changed since the version the target holds (old and new values, from the validated row of
the day the ID map says it holds), the records whose payload the target holds already, and those held
back with their reject. Batches a dead run left open are counted: a load would settle them first.
Asked to (``--ask-target``), a target that can judge a batch without keeping it (BigLedger's
``validateOnly``) gives its verdict on each record that would be sent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from batch_orchestration.entities.registry import EntitySpec, units
from batch_orchestration.load.loader import Loader
from batch_orchestration.load.planner import PlannedRecord
from batch_orchestration.load.state import MappedRecord, open_intents
from batch_orchestration.sequences import chunked
from batch_orchestration.targets.base import BatchLabel, Binding, Outgoing, RecordOutcome, Validates
from batch_orchestration.targets.retry import DEFAULT_POLICY
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
    changes: tuple[FieldChange, ...]  # empty: only what its payload names changed (its lines, a parent's id)


@dataclass(frozen=True)
class HeldBack:
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
    skips: int = 0
    held_back: list[HeldBack] = field(default_factory=list)
    in_doubt: int = 0  # batches a dead run left open: a load looks them up before it sends
    records: int = 0  # the day's validated records of the unit's root
    verdicts: list[Verdict] | None = None  # the target's, when asked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _PlanOnly:
    """A target's bindings, as its connector would use them, behind a connector that cannot send."""

    policy = DEFAULT_POLICY

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
    return None if value is None else str(value)


def _previous_rows(session: WarehouseSession, entity: EntitySpec, mapped: dict[str, MappedRecord],
                   keys: list[str]) -> dict[str, dict[str, Any]]:
    """source key -> the validated row of the version the target holds (the ID map's day of it)."""
    by_day: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        by_day[mapped[key].partition_day].append(key)
    table, rows = quote_identifier(validated_table(entity.name)), {}
    for day, day_keys in by_day.items():
        for chunk in chunked(day_keys, _IN_LIST):
            marks = ", ".join("?" * len(chunk))
            frame = session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? AND source_key IN ({marks})",
                                     (day, *chunk))
            rows.update({row["source_key"]: row for row in nulls_as_none(frame).to_dict(orient="records")})
    return rows


def _changes(entity: EntitySpec, old: dict[str, Any] | None, new: dict[str, Any]) -> tuple[FieldChange, ...]:
    if old is None:
        return ()
    return tuple(FieldChange(name, _text(old.get(name)), _text(new.get(name)))
                 for name in entity.fields if _text(old.get(name)) != _text(new.get(name)))


def _stand_in(entity: str, key: str) -> str:
    return f"{STAND_IN} {entity} {key}>"


def _verdicts(validator: Validates, binding: Binding, sends: list[PlannedRecord]) -> list[Verdict]:
    """The target's verdict on each send, in batches of the binding's size (the connector's budget
    applies); a record naming one the load would create first cannot be judged before it exists."""
    askable = [p for p in sends if STAND_IN not in encode_json(p.data)]
    asked = {p.reference_id for p in askable}
    verdicts = [Verdict(p.source_key, None, "NOT_ASKED", "names a record this load creates first")
                for p in sends if p.reference_id not in asked]
    for chunk in chunked(askable, binding.max_batch):
        by_reference = {p.reference_id: p for p in chunk}
        outgoing = [Outgoing(p.operation, p.reference_id, p.target_id, p.data)  # type: ignore[arg-type]
                    for p in chunk]
        for outcome in validator.validate_batch(binding, outgoing):
            verdicts.append(Verdict(by_reference[outcome.reference_id].source_key, outcome.success, outcome.code,
                                    outcome.message))
    return verdicts


def plan_unit(warehouse: Warehouse, route: Route, root: EntitySpec, day: str,
              assumed_ids: dict[str, dict[str, str]] | None = None, validator: Validates | None = None) -> UnitPlan:
    """One unit's plan; ``assumed_ids`` stand in for records the load creates before this unit, and a
    ``validator`` is asked for its verdict on what would be sent."""
    planner = _PlanOnly(route)
    decision, mapped = Loader(warehouse, planner).decide_unit(root, day, assumed_ids)  # type: ignore[arg-type]
    result = UnitPlan(root.name, route.target, route.config.system, skips=len(decision.skips),
                      records=len(decision.sends) + len(decision.skips) + len(decision.held_back))
    updates = [p for p in decision.sends if p.operation == "update"]
    with warehouse.session() as session:
        result.in_doubt = len(open_intents(session, route.target, root.name))
        previous = _previous_rows(session, root, mapped, [p.source_key for p in updates])
    result.creates = [p.source_key for p in decision.sends if p.operation == "create"]
    result.updates = [Update(p.source_key, p.target_id or "", _changes(root, previous.get(p.source_key), p.record))
                      for p in updates]
    result.held_back = [HeldBack(row["source_key"], code, message) for row, code, message, _ in decision.held_back]
    if validator is not None:
        result.verdicts = _verdicts(validator, planner.binding(root.name), decision.sends)
    return result


def plan_day(warehouse: Warehouse, routing: Routing, day: str, entity: str | None = None,
             validators: dict[str, Validates] | None = None) -> list[UnitPlan]:
    """The plan of each routed unit (or of ``entity``'s), in load order; units routed nowhere are left out.

    Every routed unit is planned, in order, so that a unit's records naming a record the load creates
    first (an invoice's new customer) are planned as sent, not as held back for want of its parent.
    ``validators`` (target name -> connector) are asked for their verdicts.
    """
    plans, created = [], defaultdict(dict)  # target -> entity -> key -> stand-in id
    for root in units():
        route = routing.route(root.name)
        if route is None:
            continue
        plan = plan_unit(warehouse, route, root, day, created[route.target], (validators or {}).get(route.target))
        created[route.target][root.name] = {key: _stand_in(root.name, key) for key in plan.creates}
        if entity in (None, root.name, root.parts.entity if root.parts else None):
            plans.append(plan)
    return plans


def plan_json(plans: list[UnitPlan], day: str) -> str:
    return json.dumps({"day": day, "units": [p.to_dict() for p in plans]}, indent=2, ensure_ascii=False)

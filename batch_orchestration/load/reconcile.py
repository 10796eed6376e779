"""Reconciliation: does the target hold what the ID map says a day loaded, to the cent?

For one unit and day, the records whose version the target holds is that day's (the ID map's
``partition_day``) are read back by their target ids (``id[in]``, 100 a request) and each compared
with the payload the load sent for it (recomputed from the validated record and the ID map, as the
load computes it: the same one, since its hash matches): every field, the parts inside their root,
amounts exactly. The sums of a money-bearing entity's amounts are compared too. One more request
compares the pipeline's records the target counts with the ID map's (fewer is a mismatch: a record of
some day is gone; more is said, not failed: a warehouse rebuilt day by day adopts them as it goes). So a
record changed or deleted
in the target behind the pipeline's back is found, with its source key and target id, reading only
what the day touched; the requests are counted, within the target's budget shared with the load.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.load.loader import Loader
from batch_orchestration.targets.base import Connector, Reads
from batch_orchestration.targets.wire import CENT, holds
from batch_orchestration.warehouse import Warehouse

SAMPLE = 20  # mismatches shown in full in a check's metadata (all are counted)
CHECK_NAME = "target_holds_what_was_loaded"  # the asset check's


@dataclass(frozen=True)
class Mismatch:
    source_key: str
    target_id: str
    problem: str  # "not in the target", or the fields whose value differs, with both values


@dataclass
class Reconciliation:
    """One unit's day, read back from its target."""

    entity: str
    target: str
    day: str
    loaded: int = 0  # records of the day the ID map says the target holds in this day's version
    found: int = 0  # of them, read back
    amounts_loaded: dict[str, Decimal] = field(default_factory=dict)  # summed over the payloads sent
    amounts_found: dict[str, Decimal] = field(default_factory=dict)  # summed over the records read back
    mismatches: list[Mismatch] = field(default_factory=list)
    held_by_pipeline: int = 0  # the pipeline's records of the entity the target counts (all days)
    mapped: int = 0  # the ID map's target ids of the entity (all days)
    not_compared: int = 0  # mapped as of the day, but the next load sends them again (another version)
    requests: int = 0

    @property
    def passed(self) -> bool:
        """Fewer of the pipeline's records than the ID map knows: some are gone (perhaps of another day). More:
        records it does not know yet (a warehouse rebuilt day by day adopts them as it goes): said, not failed."""
        return not self.mismatches and self.amounts_loaded == self.amounts_found and (
            self.held_by_pipeline >= self.mapped)

    def metadata(self) -> dict[str, Any]:
        return {"loaded": self.loaded, "found": self.found, "mismatches": len(self.mismatches),
                "held_by_pipeline": self.held_by_pipeline, "mapped": self.mapped, "not_compared": self.not_compared,
                "requests": self.requests,
                **{f"amount/{name}/loaded": shown(total) for name, total in self.amounts_loaded.items()},
                **{f"amount/{name}/found": shown(total) for name, total in self.amounts_found.items()}}

    def mismatch_sample(self) -> list[dict[str, str]]:
        return [m.__dict__ for m in self.mismatches[:SAMPLE]]


def shown(amount: Decimal) -> str:
    """An amount as a ledger shows it: two places unless it has more."""
    return f"{amount:.2f}" if amount == amount.quantize(CENT) else str(amount)


def _differences(held: dict[str, Any], sent: dict[str, Any]) -> Iterator[str]:
    for name, value in sent.items():
        if not holds(held.get(name), value):
            yield (f"{name}: the target holds {held.get(name)}, {shown(value) if isinstance(value, Decimal) else value}"
                   " was loaded"
                   if not isinstance(value, list | dict) else f"{name}: not as loaded")


def _add(totals: dict[str, Decimal], amounts: dict[str, Decimal]) -> None:
    for name, value in amounts.items():
        totals[name] = totals.get(name, Decimal(0)) + value


def reconcile_unit(warehouse: Warehouse, connector: Connector, root: EntitySpec, day: str) -> Reconciliation:
    """Read the unit's day back from a connector that can (``Reads``) and compare; nothing is written."""
    if not isinstance(connector, Reads):
        raise TypeError(f"{connector.name} cannot be read back")
    binding = connector.binding(root.name)
    result = Reconciliation(root.name, connector.name, day)
    decision, id_map = Loader(warehouse, connector).decide_unit(root, day)
    of_day = {key: mapped for key, mapped in id_map.items() if mapped.partition_day == day}
    sent = {p.source_key: p.data for p in decision.skips if p.source_key in of_day}  # its payload is the one held
    result.not_compared = len(of_day) - len(sent)
    result.loaded = len(sent)
    records, result.requests = connector.read_back(binding, sorted({of_day[key].target_id for key in sent}))
    for key, data in sent.items():
        target_id = of_day[key].target_id
        held = records.get(target_id)
        if binding.amounts is not None:
            _add(result.amounts_loaded, binding.amounts(data))
        if held is None:
            result.mismatches.append(Mismatch(key, target_id, "not in the target"))
            continue
        result.found += 1
        if binding.amounts is not None:
            _add(result.amounts_found, binding.amounts(held))
        if differences := list(_differences(held, data)):
            result.mismatches.append(Mismatch(key, target_id, "; ".join(differences)))
    result.held_by_pipeline = connector.made_by_pipeline(binding)
    result.requests += 1
    result.mapped = len({mapped.target_id for mapped in id_map.values()})
    return result

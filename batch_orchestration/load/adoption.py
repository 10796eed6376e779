"""Rebuilding the ID map from the targets (``batch-orchestration adopt``), after it was lost or restored old.

A load adopts what it would create by itself when the target counts more of the pipeline's records
than the ID map knows (``load/loader.py``). This is the same done on purpose for every day at once:
each unit after the units whose ids its payloads name, its days newest first, so a record is adopted
against the latest version the source has of it. Only reads are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.load.loader import Loader
from batch_orchestration.targets.base import Adopts, Connector
from batch_orchestration.targets.routing import Routing
from batch_orchestration.warehouse import Warehouse
from batch_orchestration.warehouse.backend import quote_identifier
from batch_orchestration.warehouse.schema import validated_table


@dataclass
class Adoption:
    """One unit's adoption from its target, over all its days."""

    entity: str
    target: str
    days: int = 0
    adopted: int = 0  # records the target held that the ID map did not know
    other_version: int = 0  # of those, held in a version other than the source's latest: the next load updates them
    unknown_to_source: int = 0  # the pipeline's records in the target that no mapped source record accounts for
    readable: bool = True  # False: the target cannot be asked (nothing adopted)


def days_newest_first(warehouse: Warehouse, root: EntitySpec) -> list[str]:
    table = quote_identifier(validated_table(root.name))
    with warehouse.session() as session:
        if not session.table_exists(validated_table(root.name)):
            return []
        rows = session.fetch_all(f"SELECT DISTINCT partition_day FROM {table} ORDER BY partition_day DESC")
    return [day for (day,) in rows]


def _mapped_ids(warehouse: Warehouse, target: str, entity: str) -> int:
    with warehouse.session() as session:
        return session.fetch_all("SELECT COUNT(DISTINCT target_id) FROM id_map WHERE target = ? AND entity = ?",
                                 (target, entity))[0][0]


def adopt(warehouse: Warehouse, routing: Routing, connectors: Mapping[str, Connector], entity: str | None = None,
          progress: Callable[[str, int], None] = lambda unit, days: None) -> list[Adoption]:
    """Adopt, unit by unit, what the targets hold; ``connectors`` by target name (a target left out is
    not asked); ``progress(unit, days done)`` after each day."""
    adoptions = []
    for root in routing.routed_units(entity):
        route = routing.route(root.name)
        assert route is not None  # a routed unit
        adoption = Adoption(root.name, route.target)
        adoptions.append(adoption)
        connector = connectors.get(route.target)
        if not isinstance(connector, Adopts):
            adoption.readable = False
            continue
        loader = Loader(warehouse, connector)
        binding = connector.binding(root.name)
        loader.reconcile_open_intents(root, binding)  # batches a dead run left open are settled first
        for day in days_newest_first(warehouse, root):
            report = loader.adopt_unit(root, day)[root.name]
            adoption.days += 1
            adoption.adopted += report.adopted
            adoption.other_version += report.adopted_other_version
            progress(root.name, adoption.days)
        made = connector.made_by_pipeline(binding)
        adoption.unknown_to_source = max(0, made - _mapped_ids(warehouse, route.target, root.name))
    return adoptions

"""Routing: which target each entity loads into, and how each target is reached.

One YAML file, named by ``BATCH_ORCHESTRATION_ROUTING``, holds it (``docs/operations.md`` shows one).
A unit routed to ``null`` is staged and validated but loaded nowhere. Without the file every entity
BigLedger takes goes to one BigLedger target named ``bigledger``, at the URL and company the environment gives
(``BATCH_ORCHESTRATION_TARGET_*``), with its key in ``$BIGLEDGER_API_KEY``.

A target's *name* is what the pipeline's state is kept under (ID map, intent log, load rejects), so
the same entity routed to two targets keeps two histories; its *system* says which plug-in loads it
(``targets/systems.py``). Credentials are named by environment variable, never written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from batch_orchestration.entities.registry import ENTITIES, EntitySpec, members, root_of, units

DEFAULT_TARGET = "bigledger"
DEFAULT_KEY_VARIABLE = "BIGLEDGER_API_KEY"
_NAME = r"^[a-z][a-z0-9_]*$"


class RoutingError(ValueError):
    """A routing file that is missing, unreadable or inconsistent."""


class TargetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(description="The plug-in that loads it: a key of targets/systems.py")
    base_url: str
    company_id: str
    api_key_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$", description="The variable holding the key")
    rate_window_seconds: float = Field(default=60.0, gt=0, description="Shorter only against a sandbox")
    options: dict[str, Any] = Field(default_factory=dict, description="The system's own settings (Bulk Payables: "
                                    "its strategy), checked by the system's options model")
    block_on_reconciliation: bool = Field(default=False, description="A target read back that does not hold what "
                                          "was loaded stops the units that name those records (else a warning)")


@dataclass(frozen=True)
class Route:
    """Where one entity loads: the target's name and config, its Dagster resource key and pool."""

    target: str
    config: TargetConfig

    @property
    def resource_key(self) -> str:
        return f"target_{self.target}"

    @property
    def pool(self) -> str:
        """One load at a time per target API (the pool's limit is the instance's)."""
        return f"{self.target}_api"


class Routing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: dict[str, TargetConfig] = Field(min_length=1)
    entities: dict[str, str | None] = Field(
        description="entity -> target name (null: not loaded); an aggregate's parts go with their root")

    @model_validator(mode="after")
    def _consistent(self) -> Routing:
        from batch_orchestration.targets.systems import SYSTEMS  # deferred: the systems use TargetConfig

        for name, config in self.targets.items():
            if not re.match(_NAME, name):
                raise ValueError(f"target name {name!r} must be a lower-case identifier")
            if config.system not in SYSTEMS:
                raise ValueError(f"target {name}: unknown system {config.system!r}; known: {', '.join(SYSTEMS)}")
            if config.block_on_reconciliation and not SYSTEMS[config.system].reads_back:
                raise ValueError(f"target {name}: {config.system} cannot be read back, so block_on_reconciliation "
                                 "has no check to block on")
            try:
                SYSTEMS[config.system].options.model_validate(config.options)
            except ValidationError as exc:
                said = "; ".join(f"{'.'.join(map(str, e['loc'])) + ': ' if e['loc'] else ''}"
                                 f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
                raise ValueError(f"target {name}: options of {config.system}: {said}") from None
        roots = [root.name for root in units()]  # in dependency order: the first error named is the same each run
        missing, unknown = set(roots) - set(self.entities), set(self.entities) - set(ENTITIES)
        if missing or unknown:
            raise ValueError(f"every unit is routed once: missing {sorted(missing)}, unknown {sorted(unknown)}")
        for entity, target in self.entities.items():
            if target is not None and target not in self.targets:
                raise ValueError(f"entity {entity} is routed to {target!r}, which is not among the targets")
        for entity, target in self.entities.items():
            root = root_of(entity)
            if root is not None and self.entities.get(root.name) != target:
                raise ValueError(f"{entity} travel with their {root.name}: route them to the same target, or leave "
                                 "them out")
        for root_name in roots:
            route = self.route(root_name)
            if route is None:
                continue
            bindings = SYSTEMS[route.config.system].bindings
            if root_name not in bindings:
                raise ValueError(f"entity {root_name} is routed to {route.target}, but {route.config.system} takes "
                                 f"only {', '.join(bindings)}")
            for parent in bindings[root_name].resolves:  # its payload names the parent by the target's id
                parent_route = self.route(parent)
                if parent_route is None or parent_route.target != route.target:
                    raise ValueError(f"{root_name} in {route.target} refer to their {parent}: route both to the "
                                     "same target")
        return self

    def route(self, entity: str) -> Route | None:
        """Where ``entity`` loads (None: nowhere); an aggregate's part loads with its root."""
        root = root_of(entity)
        target = self.entities[root.name if root is not None else entity]
        return Route(target, self.targets[target]) if target is not None else None

    def routed_units(self, entity: str | None = None) -> list[EntitySpec]:
        """The roots of the units loaded somewhere, in dependency order; with ``entity``, only its unit."""
        return [root for root in units() if self.route(root.name) is not None
                and (entity is None or entity in {member.name for member in members(root)})]

    def routes(self) -> list[Route]:
        """Each target once, in the order the file names them."""
        return [Route(name, config) for name, config in self.targets.items()]


def default_routing(base_url: str, company_id: str, rate_window_seconds: float) -> Routing:
    """Every unit BigLedger takes into one BigLedger target; the others (purchase orders, item receipts)
    are validated and loaded nowhere."""
    from batch_orchestration.targets.systems import SYSTEMS  # deferred: the systems use TargetConfig

    config = TargetConfig(system="bigledger", base_url=base_url, company_id=company_id,
                          api_key_env=DEFAULT_KEY_VARIABLE, rate_window_seconds=rate_window_seconds)
    takes = SYSTEMS["bigledger"].bindings
    return Routing(targets={DEFAULT_TARGET: config},
                   entities={root.name: DEFAULT_TARGET if root.name in takes else None for root in units()})


def load_routing(path: str | Path) -> Routing:
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RoutingError(f"{source}: cannot read the routing file: {exc}") from exc
    try:
        return Routing.model_validate(data)
    except ValidationError as exc:
        raise RoutingError(f"{source}: {exc}") from exc

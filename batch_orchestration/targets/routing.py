"""Routing: which target each entity loads into, and how each target is reached.

One YAML file, named by ``BATCH_ORCHESTRATION_ROUTING``, holds it (``docs/operations.md`` shows one).
Without it every entity goes to one BigLedger target named ``bigledger``, at the URL and company the
environment gives (``BATCH_ORCHESTRATION_TARGET_*``), with its key in ``$BIGLEDGER_API_KEY``.

A target's *name* is what the pipeline's state is kept under (ID map, intent log, load rejects), so
the same entity routed to two targets keeps two histories; its *system* says which plug-in loads it
(``targets/systems.py``). Credentials are named by environment variable, never written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from batch_orchestration.entities.registry import ENTITIES, root_of, units

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
    entities: dict[str, str] = Field(description="entity -> target name; an aggregate's parts go with their root")

    @model_validator(mode="after")
    def _consistent(self) -> Routing:
        from batch_orchestration.targets.systems import SYSTEMS  # deferred: the systems use TargetConfig

        for name, config in self.targets.items():
            if not re.match(_NAME, name):
                raise ValueError(f"target name {name!r} must be a lower-case identifier")
            if config.system not in SYSTEMS:
                raise ValueError(f"target {name}: unknown system {config.system!r}; known: {', '.join(SYSTEMS)}")
        roots = {root.name for root in units()}
        missing, unknown = roots - set(self.entities), set(self.entities) - set(ENTITIES)
        if missing or unknown:
            raise ValueError(f"every unit is routed once: missing {sorted(missing)}, unknown {sorted(unknown)}")
        for entity, target in self.entities.items():
            if target not in self.targets:
                raise ValueError(f"entity {entity} is routed to {target!r}, which is not among the targets")
        for entity, target in self.entities.items():
            root = root_of(entity)
            if root is not None and self.entities.get(root.name) != target:
                raise ValueError(f"{entity} travel with their {root.name}: route them to the same target, or leave "
                                 "them out")
        for root_name in roots:
            system = self.targets[self.entities[root_name]].system
            if root_name not in SYSTEMS[system].bindings:
                raise ValueError(f"entity {root_name} is routed to {self.entities[root_name]}, but {system} takes "
                                 f"only {', '.join(SYSTEMS[system].bindings)}")
        for entity in ENTITIES:
            for parent in ENTITIES[entity].parents:  # a record refers to its parent by the target's id
                if self.route(parent).target != self.route(entity).target:
                    raise ValueError(f"{entity} refer to their {parent}: route both to the same target")
        return self

    def route(self, entity: str) -> Route:
        """Where ``entity`` loads; an aggregate's part loads with its root."""
        root = root_of(entity)
        target = self.entities[root.name if root is not None else entity]
        return Route(target, self.targets[target])

    def routes(self) -> list[Route]:
        """Each target once, in the order the file names them."""
        return [Route(name, config) for name, config in self.targets.items()]


def default_routing(base_url: str, company_id: str, rate_window_seconds: float) -> Routing:
    config = TargetConfig(system="bigledger", base_url=base_url, company_id=company_id,
                          api_key_env=DEFAULT_KEY_VARIABLE, rate_window_seconds=rate_window_seconds)
    return Routing(targets={DEFAULT_TARGET: config},
                   entities=dict.fromkeys((root.name for root in units()), DEFAULT_TARGET))


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

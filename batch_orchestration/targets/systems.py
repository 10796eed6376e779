"""The target systems the pipeline loads into, each plugged in by one function.

A system's function turns a routed target into the Dagster resource whose ``connector()`` the loader
uses; adding a target system is one package under ``targets/`` and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import dagster as dg

from batch_orchestration.targets.base import Connector
from batch_orchestration.targets.bigledger.resource import BigLedgerResource
from batch_orchestration.targets.routing import Route


class TargetResource(Protocol):
    def connector(self) -> Connector: ...


def _bigledger(route: Route, state_dir: Path) -> dg.ConfigurableResource:
    config = route.config
    return BigLedgerResource(
        target_name=route.target,
        base_url=config.base_url,
        company_id=config.company_id,
        api_key=dg.EnvVar(config.api_key_env),
        api_key_variable=config.api_key_env,
        rate_window_seconds=config.rate_window_seconds,
        rate_state_path=str(state_dir / f"rate_limits_{route.target}.sqlite"),
    )


SYSTEMS: dict[str, Callable[[Route, Path], dg.ConfigurableResource]] = {"bigledger": _bigledger}

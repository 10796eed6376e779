"""The target systems the pipeline loads into, each plugged in here once.

A system is its bindings (which entities it takes, and how), one function that turns a routed target
into the Dagster resource whose ``connector()`` the loader uses, the model of its ``options`` in the
routing file (Bulk Payables' strategy), and the jobs an operator launches on that target by hand
(eBill's carry forward). Adding a target system is one
package under ``targets/`` (its client, connector and bindings) and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import dagster as dg
from pydantic import BaseModel, ConfigDict

from batch_orchestration.targets.base import Binding, Connector
from batch_orchestration.targets.batch_import.bindings import BINDINGS as IMPORT_BINDINGS
from batch_orchestration.targets.batch_import.resource import BatchImportResource
from batch_orchestration.targets.bigledger.bindings import BINDINGS as BIGLEDGER_BINDINGS
from batch_orchestration.targets.bigledger.resource import BigLedgerResource
from batch_orchestration.targets.ebill.bindings import BINDINGS as EBILL_BINDINGS
from batch_orchestration.targets.ebill.carry_forward_job import carry_forward_job
from batch_orchestration.targets.ebill.resource import EbillResource
from batch_orchestration.targets.payables.bindings import BINDINGS as PAYABLES_BINDINGS
from batch_orchestration.targets.payables.bindings import PayablesOptions, payables_binding
from batch_orchestration.targets.payables.resource import PayablesResource
from batch_orchestration.targets.routing import Route
from batch_orchestration.warehouse.backend import is_postgres_url


@dataclass(frozen=True)
class SharedState:
    """Where a target's resource keeps what every process loading into it must share: files in ``folder``
    (one machine), and, when the warehouse is PostgreSQL, that database (every machine that reaches it:
    BigLedger's rate budget)."""

    folder: Path
    database_url: str | None = field(default=None, repr=False)  # a URL may hold a password

    @classmethod
    def of(cls, home: Path, warehouse_url: str, configured_as: str | None = None) -> SharedState:
        """``configured_as``: how the resources are to name the warehouse's URL, when not by the URL itself
        (the ``EnvVar`` it is read from)."""
        return cls(home, (configured_as or warehouse_url) if is_postgres_url(warehouse_url) else None)


class TargetResource(Protocol):
    def connector(self) -> Connector: ...


def _api(route: Route) -> dict[str, Any]:
    """The fields of every target's resource (``TargetApiResource``), the key through ``EnvVar``."""
    config = route.config
    return {"target_name": route.target, "base_url": config.base_url, "company_id": config.company_id,
            "api_key": dg.EnvVar(config.api_key_env), "api_key_variable": config.api_key_env}


def _bigledger(route: Route, state: SharedState) -> dg.ConfigurableResource:
    return BigLedgerResource(**_api(route), rate_window_seconds=route.config.rate_window_seconds,
                             rate_state_path=str(state.folder / f"rate_limits_{route.target}.sqlite"),
                             rate_state_database=state.database_url)


def _batch_import(route: Route, state: SharedState) -> dg.ConfigurableResource:
    return BatchImportResource(**_api(route))


def _ebill(route: Route, state: SharedState) -> dg.ConfigurableResource:
    return EbillResource(**_api(route), journal_path=str(state.folder / f"ebill_uploads_{route.target}.sqlite"))


def _payables(route: Route, state: SharedState) -> dg.ConfigurableResource:
    options = PayablesOptions.model_validate(route.config.options)
    return PayablesResource(**_api(route), strategy=options.strategy, merge_key=list(options.merge_key))


class NoOptions(BaseModel):
    """A system without options of its own: the routing file gives it none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class System:
    bindings: Mapping[str, Binding]
    resource: Callable[[Route, SharedState], dg.ConfigurableResource]  # (route, its shared state) -> its resource
    operator_jobs: Callable[[Route], list[dg.JobDefinition]] = lambda route: []
    options: type[BaseModel] = NoOptions
    # options -> the bindings as a target with those options takes its entities (Bulk Payables' merge key)
    configured: Callable[[Any], Mapping[str, Binding]] | None = None
    validates: bool = False  # its connector can judge a batch without keeping it (``Validates``)
    reads_back: bool = False  # its connector counts and reads back the pipeline's records (``Adopts``, ``Reads``)

    def bindings_of(self, route: Route) -> Mapping[str, Binding]:
        """The bindings of the routed target, its options applied: what its connector sends."""
        if self.configured is None:
            return self.bindings
        return self.configured(self.options.model_validate(route.config.options))


SYSTEMS: dict[str, System] = {
    "bigledger": System(BIGLEDGER_BINDINGS, _bigledger, validates=True, reads_back=True),
    "ebill": System(EBILL_BINDINGS, _ebill, lambda route: [carry_forward_job(route)]),
    "import": System(IMPORT_BINDINGS, _batch_import),
    "payables": System(PAYABLES_BINDINGS, _payables, options=PayablesOptions,
                       configured=lambda options: {"payables": payables_binding(options)}),
}

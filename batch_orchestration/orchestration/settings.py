"""Deployment settings, read from the environment in one place (secrets are not read here)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from batch_orchestration.targets.routing import Routing

ENV_PREFIX = "BATCH_ORCHESTRATION_"


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


# The settings a resource takes as text, with the variable each is read from: a resource built from the
# environment names the variable (``EnvVar``), so the UI shows where the value comes from and a run reads it
# when it starts. (Numbers, and what shapes the definitions, such as the partitions and the routing, are read
# when the definitions load.)
RESOURCE_VARIABLES = {
    "warehouse_url": "WAREHOUSE_URL",
    "landing_kind": "LANDING_KIND",
    "landing_root": "LANDING_ROOT",
    "s3_bucket": "S3_BUCKET",
    "s3_prefix": "S3_PREFIX",
    "s3_endpoint_url": "S3_ENDPOINT_URL",
    "s3_region": "S3_REGION",
}


@dataclass(frozen=True)
class Settings:
    """``target_*`` and ``rate_window_seconds`` describe the default single target, used when no
    routing file is given."""

    home: Path
    warehouse_url: str
    landing_kind: str
    landing_root: str
    s3_bucket: str
    s3_prefix: str
    s3_endpoint_url: str | None
    s3_region: str
    target_base_url: str
    target_company_id: str
    rate_window_seconds: float
    start_date: str
    timezone: str
    max_reject_rate: float
    routing_path: str = ""  # empty: every entity into one BigLedger target (targets/routing.py)
    deployment: str = ""  # empty: named by its home folder (``deployment_name``)
    max_delete_share: float = 0.05  # the delete guard (load/loader.py, DeleteGuard)
    executor: str = "multiprocess"  # what runs a run's steps (orchestration/executors.py)
    last_day: str = ""  # empty: the partitions run to the day that ended (orchestration/partitions.py)
    # The fields of RESOURCE_VARIABLES whose variable was set (from_env): their resources read it by EnvVar.
    from_environment: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(_env("HOME", ".batch_orchestration")).resolve()
        return cls(
            home=home,
            warehouse_url=_env("WAREHOUSE_URL", f"duckdb:///{home / 'warehouse.duckdb'}"),
            landing_kind=_env("LANDING_KIND", "local"),
            landing_root=_env("LANDING_ROOT", str(home / "landing")),
            s3_bucket=_env("S3_BUCKET", ""),
            s3_prefix=_env("S3_PREFIX", ""),
            s3_endpoint_url=_env("S3_ENDPOINT_URL", "") or None,
            s3_region=_env("S3_REGION", "us-east-1"),
            target_base_url=_env("TARGET_BASE_URL", "http://127.0.0.1:8765"),
            target_company_id=_env("TARGET_COMPANY_ID", "demo-company"),
            rate_window_seconds=float(_env("RATE_WINDOW_SECONDS", "60")),
            start_date=_env("START_DATE", "2024-01-01"),
            timezone=_env("TIMEZONE", "UTC"),
            max_reject_rate=float(_env("MAX_REJECT_RATE", "0.10")),
            routing_path=_env("ROUTING", ""),
            deployment=_env("DEPLOYMENT", ""),
            max_delete_share=float(_env("MAX_DELETE_SHARE", "0.05")),
            executor=_env("EXECUTOR", "multiprocess"),
            last_day=_env("LAST_DAY", ""),
            from_environment=frozenset(name for name, variable in RESOURCE_VARIABLES.items()
                                       if os.environ.get(ENV_PREFIX + variable)),
        )

    def for_resource(self, name: str) -> str | None:
        """A resource's value of setting ``name``: the variable it came from (``EnvVar``), else the value."""
        if name in self.from_environment:
            return dg.EnvVar(ENV_PREFIX + RESOURCE_VARIABLES[name])
        return getattr(self, name)

    @property
    def deployment_name(self) -> str:
        """What the warehouse knows this deployment by: its home folder, which holds its local state (rate
        budgets, upload journals), unless named; the machines of one deployment share it."""
        return self.deployment or str(self.home)

    def routing(self) -> Routing:
        """The routing file if one is named, else every entity into the one target the settings describe."""
        from batch_orchestration.targets.routing import default_routing, load_routing  # deferred: it loads plug-ins

        if self.routing_path:
            return load_routing(self.routing_path)
        return default_routing(self.target_base_url, self.target_company_id, self.rate_window_seconds)

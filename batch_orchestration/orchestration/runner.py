"""Running the migration job for a range of days, in order, on a Dagster instance.

This is what a backfill does, from code: the demo and the end-to-end tests use it; operators use
the UI's backfill, which orders days the same way because each load depends on its previous day.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from batch_orchestration.orchestration.day_order import DAY_ORDER_TAG

log = logging.getLogger(__name__)
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
INSTANCE_YAML = Path(__file__).parents[1] / "instance" / "dagster.yaml"


def ensure_instance_yaml(dagster_home: Path) -> None:
    """A Dagster home without its ``dagster.yaml`` gets the project's (the pools that pace each target, the run
    queue that starts the days in order); one whose file has no day-order limit (an older copy) is warned of."""
    instance_yaml = dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(INSTANCE_YAML, instance_yaml)
    elif DAY_ORDER_TAG not in instance_yaml.read_text(encoding="utf-8"):
        log.warning("%s has no run queue limit on %s: a job backfill would start its days together, and the "
                    "later ones would stop, waiting for the earlier; add the limit from %s", instance_yaml,
                    DAY_ORDER_TAG, INSTANCE_YAML)


@dataclass
class DayResult:
    day: str
    success: bool
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # asset -> metadata values
    checks: dict[tuple[str, str], bool] = field(default_factory=dict)  # (asset, check name) -> passed
    check_metadata: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # -> its values

    def check_failures(self) -> list[tuple[str, str]]:
        return sorted(key for key, passed in self.checks.items() if not passed)


def _materialization_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        found[materialization.asset_key.to_user_string()] = {
            key: getattr(value, "value", value) for key, value in materialization.metadata.items()
        }
    return found


def run_days(
    defs: dg.Definitions,
    days: list[str],
    instance: dg.DagsterInstance,
    job_name: str = "migration_job",
    on_day: Callable[[DayResult], None] | None = None,
    assets: list[dg.AssetKey] | None = None,
) -> list[DayResult]:
    """Run ``job_name`` (only its ``assets``, when given) for each day, oldest first, stopping at the first
    failed day."""
    job = defs.resolve_job_def(job_name)
    results = []
    for day in sorted(days):
        outcome = job.execute_in_process(
            partition_key=day, instance=instance, run_config=QUIET_LOGS, raise_on_error=False, asset_selection=assets
        )
        evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in outcome.get_asset_check_evaluations()}
        day_result = DayResult(day=day, success=outcome.success, metadata=_materialization_metadata(outcome),
                               checks={key: e.passed for key, e in evaluations.items()},
                               check_metadata={key: {name: value.value for name, value in e.metadata.items()}
                                               for key, e in evaluations.items()})
        results.append(day_result)
        if on_day:
            on_day(day_result)
        if not outcome.success:
            break
    return results

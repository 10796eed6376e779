"""Running the migration job for a range of days, in order, on a Dagster instance.

This is what a backfill does, from code: the demo and the end-to-end tests use it; operators use
the UI's backfill, which orders days the same way because each load depends on its previous day.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from batch_orchestration.orchestration.assets import prepares
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


def _run(job: dg.JobDefinition, day: str, instance: dg.DagsterInstance,
         assets: list[dg.AssetKey] | None) -> DayResult:
    outcome = job.execute_in_process(
        partition_key=day, instance=instance, run_config=QUIET_LOGS, raise_on_error=False, asset_selection=assets
    )
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in outcome.get_asset_check_evaluations()}
    return DayResult(day=day, success=outcome.success, metadata=_materialization_metadata(outcome),
                     checks={key: e.passed for key, e in evaluations.items()},
                     check_metadata={key: {name: value.value for name, value in e.metadata.items()}
                                     for key, e in evaluations.items()})


def _merged(prepared: DayResult, loaded: DayResult) -> DayResult:
    return DayResult(day=loaded.day, success=prepared.success and loaded.success,
                     metadata={**prepared.metadata, **loaded.metadata}, checks={**prepared.checks, **loaded.checks},
                     check_metadata={**prepared.check_metadata, **loaded.check_metadata})


def prepare_in_child(definitions: Callable[[], dg.Definitions], job_name: str, day: str,
                     assets: list[dg.AssetKey]) -> DayResult:
    """A day's staging and validation, in a process of its own (its Dagster run captures its own output), in the
    instance of ``$DAGSTER_HOME``."""
    with dg.DagsterInstance.get() as instance:
        return _run(definitions().resolve_job_def(job_name), day, instance, assets)


def _submit(pool: ProcessPoolExecutor, definitions: Callable[[], dg.Definitions], job_name: str, day: str,
            assets: list[dg.AssetKey]) -> Future[DayResult] | None:
    """The day handed to the child process; None if its pool is broken (a child died): it is then prepared
    in this process."""
    try:
        return pool.submit(prepare_in_child, definitions, job_name, day, assets)
    except BrokenProcessPool:
        log.warning("no child process to prepare %s in: it is prepared in this process", day)
        return None


def _prepared(ahead: Future[DayResult], day: str) -> DayResult:
    """What the child made of the day; a child that could not run it (it died, it could not build the
    definitions) is a failed day, which then runs in turn, where Dagster tells why."""
    try:
        return ahead.result()
    except Exception:
        log.exception("preparing %s in a child process failed; the day runs in turn", day)
        return DayResult(day=day, success=False)


def run_days(
    defs: dg.Definitions,
    days: list[str],
    instance: dg.DagsterInstance,
    job_name: str = "migration_job",
    on_day: Callable[[DayResult], None] | None = None,
    assets: list[dg.AssetKey] | None = None,
    prepare_ahead: Callable[[], dg.Definitions] | None = None,
) -> list[DayResult]:
    """Run ``job_name`` (only its ``assets``, when given) for each day, oldest first, stopping at the first
    failed day.

    With ``prepare_ahead`` (a module-level function that builds these definitions again, in another process),
    the instance of ``$DAGSTER_HOME`` and more than one day, each day runs as two runs: its staging and
    validation, then its loads; and the next day's staging and validation run in a child process while this
    day loads, so the loads follow one another with no wait for them. A day whose staging or validation
    failed runs again in turn, as one run of its whole selection (Dagster then loads what its failures
    leave, as without ``prepare_ahead``). When a day's load fails, the next day may have been staged and
    validated already (nothing of it is loaded).
    """
    job = defs.resolve_job_def(job_name)
    selected = list(assets) if assets is not None else sorted(job.asset_layer.selected_asset_keys)
    preparing = [key for key in selected if prepares(key)]
    ordered = sorted(days)
    if prepare_ahead is None or instance.is_ephemeral or len(ordered) < 2 or not preparing \
            or len(preparing) == len(selected):  # (a single day, the nightly sync's, has no next day to prepare)
        return _in_turn(job, ordered, instance, on_day, assets)
    loading = [key for key in selected if not prepares(key)]
    results: list[DayResult] = []
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        prepared = _run(job, ordered[0], instance, preparing)
        for index, day in enumerate(ordered):
            following = ordered[index + 1] if index + 1 < len(ordered) else None
            ahead = None
            if prepared.success:
                if following is not None:
                    ahead = _submit(pool, prepare_ahead, job_name, following, preparing)
                day_result = _merged(prepared, _run(job, day, instance, loading))
            else:
                day_result = _run(job, day, instance, assets)
            results.append(day_result)
            if on_day:
                on_day(day_result)
            if not day_result.success or following is None:
                break  # leaving the pool waits for a day still being prepared
            prepared = _prepared(ahead, following) if ahead else _run(job, following, instance, preparing)
    return results


def _in_turn(job: dg.JobDefinition, days: list[str], instance: dg.DagsterInstance,
             on_day: Callable[[DayResult], None] | None, assets: list[dg.AssetKey] | None) -> list[DayResult]:
    results = []
    for day in days:
        day_result = _run(job, day, instance, assets)
        results.append(day_result)
        if on_day:
            on_day(day_result)
        if not day_result.success:
            break
    return results

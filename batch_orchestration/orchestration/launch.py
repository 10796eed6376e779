"""Runs of days from the command line (``migrate``, ``sync``), for people and cron alike.

They go through the same definitions and the same Dagster instance (``DAGSTER_HOME``) as the UI and the
daemon, so their runs, materializations and checks are in the UI's history and the next sensor tick or
backfill sees them. Days run oldest first (each as two runs, its staging and validation, then its loads,
while the next day is staged and validated: ``runner.run_days``), and stop at the first that fails; then
the summary the demo prints, and whether every day and every check passed.
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from batch_orchestration.entities.registry import get_entity, members, root_of
from batch_orchestration.orchestration.assets import asset_key
from batch_orchestration.orchestration.runner import DayResult, ensure_instance_yaml, run_days
from batch_orchestration.orchestration.settings import Settings
from batch_orchestration.orchestration.summary import print_summary, records_sent


class LaunchError(ValueError):
    """A run that cannot be launched as asked (no instance, days outside the partitions, an unknown entity)."""


def instance_home() -> Path:
    """The Dagster home the UI and the daemon use: the runs must land in their history, so it is not guessed."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise LaunchError("DAGSTER_HOME is not set: set it to the Dagster instance the UI and daemon use (make ui "
                          "uses $PWD/.demo/dagster_home), so these runs are in its history")
    ensure_instance_yaml(Path(home))
    return Path(home)


def day_range(first: date, last: date) -> list[str]:
    """Every day from ``first`` to ``last``, both included."""
    if last < first:
        raise LaunchError(f"--to {last} is before --from {first}")
    return [(first + timedelta(n)).isoformat() for n in range((last - first).days + 1)]


def _check_partitions(defs: dg.Definitions, job: str, days: list[str]) -> None:
    """Every day is a partition of the job: from the start date to the last day (or the day that ended)."""
    partitions = defs.resolve_job_def(job).partitions_def
    keys = partitions.get_partition_keys() if partitions is not None else []
    outside = [day for day in days if day not in set(keys)]
    if outside:
        span = f"{keys[0]} to {keys[-1]}" if keys else "none yet"
        raise LaunchError(f"{', '.join(outside[:3])}{' ...' if len(outside) > 3 else ''} not among {job}'s days "
                          f"({span}: from BATCH_ORCHESTRATION_START_DATE to BATCH_ORCHESTRATION_LAST_DAY, "
                          "or to the day that ended)")


def day_that_ended(settings: Settings, now: datetime | None = None) -> str:
    """Yesterday in the partitions' timezone: the day the nightly sync loads."""
    today = (now or datetime.now(ZoneInfo(settings.timezone))).astimezone(ZoneInfo(settings.timezone)).date()
    return (today - timedelta(1)).isoformat()


def unit_assets(settings: Settings, entity: str) -> list[dg.AssetKey]:
    """The assets of ``entity``'s unit (its header or lines with it): staged, validated and, routed, loaded."""
    try:
        spec = get_entity(entity)
    except KeyError as exc:
        raise LaunchError(exc.args[0]) from None
    root = root_of(entity) or spec
    stages = ("staged", "validated", "loaded") if settings.routing().route(root.name) else ("staged", "validated")
    return [asset_key(member.name, stage) for member in members(root) for stage in stages]


def launch(settings: Settings, days: list[str], job: str, console: Console, entity: str | None = None) -> bool:
    """Run ``job`` for ``days`` (only ``entity``'s unit, when given) and print the summary; whether all passed."""
    # reads the definitions as the UI does
    from batch_orchestration.definitions import build_definitions, definitions_from_environment

    home = instance_home()
    assets = unit_assets(settings, entity) if entity else None
    defs = build_definitions(settings)
    _check_partitions(defs, job, days)
    console.print(f"{job} for {days[0]}{f' to {days[-1]}' if len(days) > 1 else ''}"
                  f"{f' ({entity})' if entity else ''}; instance {home}")
    started = time.monotonic()
    with (dg.DagsterInstance.get() as instance,
          Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} days"),
                   TimeElapsedColumn(), console=console) as progress):
        task = progress.add_task(f"running {job}", total=len(days))

        def on_day(result: DayResult) -> None:
            progress.update(task, advance=1, description=f"day {result.day} {'done' if result.success else 'FAILED'}")

        # The next day is staged and validated while this one loads, by a process that reads the same settings.
        ahead = definitions_from_environment if settings == Settings.from_env() else None
        results = run_days(defs, days, instance, job_name=job, on_day=on_day, assets=assets, prepare_ahead=ahead)
    print_summary(console, results)
    console.print(f"records sent: {records_sent(results)}; {time.monotonic() - started:.1f} s")
    failed_days = [r.day for r in results if not r.success]
    failed_checks = [f"{r.day} {asset} {check}" for r in results for asset, check in r.check_failures()]
    if failed_days:
        console.print(f"[red]day {failed_days[0]} failed; later days were not run: see the run in the UI[/red]")
    for failure in failed_checks:
        console.print(f"[red]check failed: {failure}[/red]")
    return not failed_days and not failed_checks and len(results) == len(days)

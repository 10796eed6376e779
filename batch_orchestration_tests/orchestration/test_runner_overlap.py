"""``run_days`` with ``prepare_ahead``: the next day is staged and validated (by a child process) while a day
loads; a failure stops the days as it does when they run in turn.

The job here is small and of its own. Each day's load waits until the next day has been staged, and each
day's staging (but the first's) waits until the day before has begun to load: only the two running at once
meet both. Run in turn, the same days fail (the load gives up); so would staging a day before loading the
one before it.
"""

# No ``from __future__ import annotations``: Dagster reads the type of an asset's ``context`` at definition.
import os
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.orchestration.runner import run_days

DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]
PARTITIONS = dg.DailyPartitionsDefinition(start_date=DAYS[0], end_date="2024-03-04")
MARKS, WAIT = "OVERLAP_TEST_MARKS", "OVERLAP_TEST_WAIT_SECONDS"
FAIL_STAGING, FAIL_LOAD = "OVERLAP_TEST_FAIL_STAGING", "OVERLAP_TEST_FAIL_LOAD"


def _mark(name: str) -> Path:
    return Path(os.environ[MARKS]) / name


def _wait_for(*names: str) -> bool:
    deadline = time.monotonic() + float(os.environ[WAIT])
    while not any(_mark(name).exists() for name in names):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _next_to(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


@dg.asset(partitions_def=PARTITIONS)
def things_staged(context: dg.AssetExecutionContext) -> None:
    """Waits for the day before to begin loading; a day named in ``FAIL_STAGING`` fails."""
    day, before = context.partition_key, _next_to(context.partition_key, -1)
    if before in DAYS and not _wait_for(f"loading-{before}"):
        raise RuntimeError(f"{day} was staged while {before} was not loading")
    if day == os.environ.get(FAIL_STAGING):
        _mark(f"failed-{day}").touch()
        raise RuntimeError(f"the export of {day} is broken")
    _mark(f"staged-{day}").touch()


@dg.asset(partitions_def=PARTITIONS, deps=[things_staged])
def things_loaded(context: dg.AssetExecutionContext) -> None:
    """Waits for the next day's staging (or its failure); a day named in ``FAIL_LOAD`` fails after it."""
    day, after = context.partition_key, _next_to(context.partition_key, 1)
    _mark(f"loading-{day}").touch()
    if after in DAYS and not _wait_for(f"staged-{after}", f"failed-{after}"):
        raise RuntimeError(f"{after} was not staged while {day} loaded")
    if day == os.environ.get(FAIL_LOAD):
        raise RuntimeError(f"the target refused {day}")
    _mark(f"loaded-{day}").touch()


def definitions() -> dg.Definitions:
    job = dg.define_asset_job("migration_job", selection=[things_staged, things_loaded], partitions_def=PARTITIONS)
    return dg.Definitions(assets=[things_staged, things_loaded], jobs=[job])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Dagster home the child process finds too ($DAGSTER_HOME), and the folder of the assets' marks."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "marks").mkdir()
    monkeypatch.setenv(MARKS, str(tmp_path / "marks"))
    monkeypatch.setenv(WAIT, "120")  # a child process starts in seconds, more on a busy machine
    return tmp_path / "dagster_home"


def _runs(home: Path) -> list[tuple[str | None, list[str]]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return sorted((run.tags.get("dagster/partition"), sorted(k.to_user_string() for k in run.asset_selection or []))
                      for run in instance.get_runs())


def _marks() -> list[str]:
    return sorted(p.name for p in Path(os.environ[MARKS]).iterdir())


def test_the_next_day_is_staged_while_a_day_loads(home: Path) -> None:
    told: list[tuple[str, bool]] = []
    with dg.DagsterInstance.get() as instance:
        results = run_days(definitions(), DAYS, instance, prepare_ahead=definitions,
                           on_day=lambda result: told.append((result.day, result.success)))
    assert [(r.day, r.success) for r in results] == told == [(day, True) for day in DAYS]
    assert _marks() == sorted(f"{stage}-{day}" for day in DAYS for stage in ("staged", "loading", "loaded"))
    # Each day in two runs: its staging, then its loads.
    assert _runs(home) == [(day, [key]) for day in DAYS for key in ("things_loaded", "things_staged")]


def test_in_turn_the_load_never_sees_the_next_day_staged(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same job without ``prepare_ahead``: what the test above shows could not have happened in turn."""
    monkeypatch.setenv(WAIT, "1")
    with dg.DagsterInstance.get() as instance:
        results = run_days(definitions(), DAYS, instance)
    assert [(r.day, r.success) for r in results] == [(DAYS[0], False)]


def test_a_day_whose_staging_failed_runs_in_turn_and_stops_the_days(home: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAIL_STAGING, DAYS[1])
    with dg.DagsterInstance.get() as instance:
        results = run_days(definitions(), DAYS, instance, prepare_ahead=definitions)
    assert [(r.day, r.success) for r in results] == [(DAYS[0], True), (DAYS[1], False)]
    assert _marks() == [f"failed-{DAYS[1]}", f"loaded-{DAYS[0]}", f"loading-{DAYS[0]}", f"staged-{DAYS[0]}"]
    # The day's staging in the child, then the whole job for the day, in turn (its staging failed again, so
    # Dagster loaded nothing): a run of no asset selection.
    assert [run for run in _runs(home) if run[0] == DAYS[1]] == [(DAYS[1], []), (DAYS[1], ["things_staged"])]


def test_a_failed_load_stops_the_days_and_the_day_prepared_meanwhile_is_not_loaded(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAIL_LOAD, DAYS[0])
    with dg.DagsterInstance.get() as instance:
        results = run_days(definitions(), DAYS, instance, prepare_ahead=definitions)
    assert [(r.day, r.success) for r in results] == [(DAYS[0], False)]
    assert _marks() == [f"loading-{DAYS[0]}", f"staged-{DAYS[0]}", f"staged-{DAYS[1]}"]

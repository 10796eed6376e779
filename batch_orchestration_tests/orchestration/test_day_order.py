"""A day whose previous day failed is held back by its own steps, whoever launched it (orchestration/day_order.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.orchestration.launch import unit_assets
from batch_orchestration.orchestration.partitions import PARTITION_TAG
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, small_export

pytestmark = pytest.mark.slow


def _step_failures(instance: dg.DagsterInstance) -> dict[str, str]:
    """step key -> the message of its failure, in the latest run."""
    run = instance.get_runs(limit=1)[0]
    return {e.step_key: e.dagster_event.step_failure_data.error.message for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"}


def test_a_day_after_a_failed_load_waits_and_follows_once_that_day_is_loaded(
        tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    small_export(tmp_path / "landing", customers=40)
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    customers = unit_assets(pipeline.settings, "customers")
    with dg.DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv("BIGLEDGER_API_KEY", "a-wrong-key")  # the target refuses the first day's load
        (first,) = run_days(pipeline.defs, DAY_KEYS[:1], instance, assets=customers)
        assert not first.success

        monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
        (second,) = run_days(pipeline.defs, DAY_KEYS[1:2], instance, assets=customers)
        assert not second.success
        failures = _step_failures(instance)
        assert list(failures) == ["customers_load"], failures  # its validation followed a validated day
        assert f"customers_loaded {DAY_KEYS[1]} waits for its previous day: {DAY_KEYS[0]} failed in run" in (
            failures["customers_load"])
        assert pipeline.mapped_keys("customers") == set(), "nothing was sent for the held day"

        assert [r.success for r in run_days(pipeline.defs, DAY_KEYS[:2], instance, assets=customers)] == [True, True]
    in_target = pipeline.reference_ids_in_target("customers")
    assert len(pipeline.mapped_keys("customers")) == len(in_target) > 20 and set(in_target.values()) == {1}


def test_a_day_after_a_canceled_run_of_the_day_before_waits(tmp_path: Path, sandbox,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A canceled run leaves no failed partition behind (Dagster's status knows failures only): still held."""
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    small_export(tmp_path / "landing", customers=40)
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    customers = unit_assets(pipeline.settings, "customers")
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(pipeline.defs, DAY_KEYS[:1], instance, assets=customers)[0].success
        # Day 1 once more, canceled before it ran (as an operator cancels a queued or stuck run).
        job = pipeline.defs.resolve_job_def("migration_job")
        run = instance.create_run_for_job(job, tags={PARTITION_TAG: DAY_KEYS[0]}, asset_selection=frozenset(customers))
        instance.report_run_canceled(run)

        (second,) = run_days(pipeline.defs, DAY_KEYS[1:2], instance, assets=customers)
        assert not second.success
        failures = _step_failures(instance)
        assert list(failures) == ["customers_validation"], failures
        assert f"{DAY_KEYS[0]} was canceled in run {run.run_id}" in failures["customers_validation"]

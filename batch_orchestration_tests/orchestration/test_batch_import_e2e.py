"""Batch Import end to end through Dagster: the demo's routing (suppliers and items into Batch Import),
a generated backfill with faults on, a run killed between the answer and its recording, a wrong key."""

from __future__ import annotations

import math
from pathlib import Path

import dagster as dg
import pytest
import requests

from batch_orchestration.demo.routing import INSPECTED
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY, FaultConfig
from batch_orchestration.targets.batch_import.bindings import MAX_RECORDS
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.orchestration.harness import (
    DAY_KEYS,
    DAYS,
    routed_pipeline,
    run_day_killed_at,
    small_export,
)

pytestmark = pytest.mark.slow

LOADED = INSPECTED["import"]  # entity -> the sandbox's count of it (purchase order and receipt lines are inside)
ENTITIES = ("suppliers", "items", "purchase_orders", "purchase_order_lines", "item_receipts", "item_receipt_lines")


def _faults_off(url: str) -> None:
    requests.put(f"{url}/_sandbox/faults", json={"spec": ""}, headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
                 timeout=10).raise_for_status()


def test_a_backfill_with_faults_on_loads_exactly_the_valid_records_and_again_sends_nothing(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # A few batches a day: faults often enough that lost answers and 5xx hit some of them.
    sandbox = sandbox_factory(window_seconds=1.0, faults=FaultConfig(p_5xx=0.2, p_429=0.1, p_lost=0.3), fault_seed=4)
    summary = small_export(tmp_path / "landing", customers=60)
    pipeline = routed_pipeline("import", tmp_path, sandbox, monkeypatch)
    with dg.DagsterInstance.ephemeral() as instance:
        results = run_days(pipeline.defs, DAY_KEYS, instance)
        assert [r.success for r in results] == [True, True, True]
        assert all(all(r.checks.values()) for r in results)
        ambiguous = sum(r.metadata[f"{e}_loaded"]["ambiguous_batches"] for r in results for e in LOADED)
        assert ambiguous > 0, "the faults must have hit some batches for this test to mean anything"
        _faults_off(sandbox.url)
        before = pipeline.target_counts()
        again = run_days(pipeline.defs, DAY_KEYS, instance)
    for result in again:
        for entity in ENTITIES:
            loaded = result.metadata[f"{entity}_loaded"]
            assert (loaded["created"], loaded["updated"], loaded["batches_sent"]) == (0, 0, 0), (result.day, entity)
    assert pipeline.target_counts() == before
    expected = summary.expected_rejects("import")
    for entity in ENTITIES:
        loaded, rejected = pipeline.mapped_keys(entity), pipeline.rejected_keys(entity)
        assert rejected == set(expected[entity]), entity
        assert loaded and not loaded & rejected, entity
        if entity in LOADED:  # every valid record is there (the sandbox keys records by id: none can be twice)
            assert before[LOADED[entity]] == len(loaded), entity
    assert pipeline.query("SELECT COUNT(*) FROM intent_log WHERE status = 'open'")[0][0] == 0


def test_a_run_killed_after_the_answer_before_recording_it_sends_again_without_a_duplicate(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = sandbox_factory(window_seconds=1.0)
    small_export(tmp_path / "landing", days=DAYS[:1], customers=60)
    pipeline = routed_pipeline("import", tmp_path, sandbox, monkeypatch)
    died = run_day_killed_at(pipeline.settings, DAY_KEYS[0], "batch_answered")
    assert died.returncode == -9, died.stderr[-2000:]
    assert pipeline.query("SELECT COUNT(*) FROM intent_log WHERE status = 'open'")[0][0] == 1
    held_by_the_dead_run = pipeline.target_counts()
    assert sum(held_by_the_dead_run.get(name, 0) for name in LOADED.values()) > 0  # it had been applied
    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(pipeline.defs, DAY_KEYS[:1], instance)
    assert result.success and all(result.checks.values())
    assert sum(result.metadata[f"{e}_loaded"]["reconciled_intents"] for e in LOADED) == 1
    for entity in LOADED:  # each batch sent once by this run: the dead run's batch again, nothing more
        loaded = result.metadata[f"{entity}_loaded"]
        sent = loaded["created"] + loaded["updated"] + loaded["rejected"]
        assert loaded["batches_sent"] == math.ceil(sent / MAX_RECORDS), (entity, loaded)
    counts = pipeline.target_counts()
    for entity, inspected in LOADED.items():
        assert counts[inspected] == len(pipeline.mapped_keys(entity)), entity


def test_a_wrong_key_fails_the_day_naming_the_variable_with_nothing_marked_loaded(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = sandbox_factory(window_seconds=1.0)
    small_export(tmp_path / "landing", days=DAYS[:1], customers=60)
    pipeline = routed_pipeline("import", tmp_path, sandbox, monkeypatch)
    monkeypatch.setenv("IMPORT_API_KEY", "not-the-key")
    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(pipeline.defs, DAY_KEYS[:1], instance)
        run = instance.get_runs(limit=1)[0]
        failures = [event.dagster_event.step_failure_data.error.message for event in instance.all_logs(run.run_id)
                    if event.dagster_event and event.dagster_event.event_type_value == "STEP_FAILURE"]
    assert not result.success
    assert any("HTTP 401 Unauthorized (check the API key in $IMPORT_API_KEY)" in message for message in failures)
    assert not any("not-the-key" in message for message in failures)
    assert pipeline.query("SELECT COUNT(*) FROM id_map")[0][0] == 0

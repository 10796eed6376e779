"""Bulk Payables end to end through Dagster: the demo's routing (payables merged by statement), a
generated backfill with faults on, runs killed after each step of a batch, a day that grew after a run
killed between the answer and its recording.

What "exactly once" means here: every source row the target made a payable of is in exactly one
``Complete`` item (the sandbox keeps every item ever added, so a second batch with the same row would
show), the ID map holds each such row with the payable its item went into, and a Merge's payable is
made of exactly the rows the ID map maps to it (its lineage).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests

from batch_orchestration.demo.summary import GenerationSummary
from batch_orchestration.demo.target_seed import seed_collaborators
from batch_orchestration.load.planner import reference_id
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets.payables.connector import REFERENCE_LABEL
from batch_orchestration.warehouse.schema import validated_table
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.orchestration.harness import (
    DAY_KEYS,
    DAYS,
    Pipeline,
    routed_pipeline,
    run_day_killed_at,
    small_export,
    write_export,
)

pytestmark = pytest.mark.slow

HEADERS = {"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": DEMO_COMPANY}


def _get(sandbox: RunningSandbox, path: str) -> Any:
    answer = requests.get(f"{sandbox.url}{path}", headers=HEADERS, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]


def _set_faults(url: str, spec: str, seed: int | None = None) -> None:
    requests.put(f"{url}/_sandbox/faults", json={"spec": spec, "seed": seed},
                 headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=10).raise_for_status()


def _items(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """Every item of every bulk payable batch the target holds."""
    return [item for batch in _get(sandbox, "/v1/bulk-payables/batches")
            for item in _get(sandbox, f"/v1/bulk-payables/batches/{batch['bulkPayableBatchId']}/items")]


def _prepared(tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, summary: GenerationSummary,
              options: dict[str, Any] | None = None) -> Pipeline:
    assert seed_collaborators(sandbox.url, DEMO_COMPANY, DEMO_API_KEY, summary.collaborators) == len(
        summary.collaborators)
    return routed_pipeline("payables", tmp_path, sandbox, monkeypatch, options=options)


def _assert_exactly_once(pipeline: Pipeline, sandbox: RunningSandbox) -> dict[str, str]:
    """The checks of the module docstring; source key -> payable id."""
    mapped = dict(pipeline.query("SELECT source_key, target_id FROM id_map WHERE entity = 'payables'"))
    by_reference = {reference_id("payables", key): key for key in mapped}
    complete = [item for item in _items(sandbox) if item["status"] == "Complete"]
    references = Counter(item["labels"][REFERENCE_LABEL] for item in complete)
    assert [ref for ref, n in references.items() if n > 1] == [], "a row made a payable twice"
    assert {by_reference.get(ref) for ref in references} == set(mapped), "payables and the ID map differ"
    assert all(mapped[by_reference[item["labels"][REFERENCE_LABEL]]] == item["metadata"]["payableId"]
               for item in complete)
    payables = _get(sandbox, "/v1/payables")
    assert len(payables) == len(set(mapped.values()))
    item_reference = {item["bulkPayableItemId"]: item["labels"][REFERENCE_LABEL] for item in complete}
    rows_of: dict[str, set[str]] = defaultdict(set)
    for key, payable in mapped.items():
        rows_of[payable].add(key)
    amount = dict(pipeline.query(f"SELECT payable_key, amount FROM {validated_table('payables')}"))
    for payable in payables:  # lineage: the payable's lines are the rows the ID map maps to it, to the cent
        rows = rows_of[payable["payableId"]]
        assert {by_reference[item_reference[line["bulkPayableItemId"]]] for line in payable["lineItems"]} == rows
        assert Decimal(str(payable["amount"])) == sum((Decimal(amount[key]) for key in rows), Decimal(0))
    assert pipeline.query("SELECT COUNT(*) FROM intent_log WHERE status = 'open'")[0][0] == 0
    return mapped


def test_a_merged_backfill_with_faults_on_loads_each_statement_once_and_again_sends_nothing(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = sandbox_factory(window_seconds=1.0)
    summary = small_export(tmp_path / "landing", customers=60)
    pipeline = _prepared(tmp_path, sandbox, monkeypatch, summary)  # the collaborators, before the faults
    _set_faults(sandbox.url, "5xx=0.1,429=0.05,lost=0.2", seed=3)
    with dg.DagsterInstance.ephemeral() as instance:
        results = run_days(pipeline.defs, DAY_KEYS, instance)
        assert [r.success for r in results] == [True, True, True]
        assert all(all(r.checks.values()) for r in results)
        assert sum(r.metadata["payables_loaded"]["ambiguous_batches"] for r in results) > 0, (
            "the faults must have hit some batches for this test to mean anything")
        _set_faults(sandbox.url, "")
        before = pipeline.target_counts()
        again = run_days(pipeline.defs, DAY_KEYS, instance)
    for result in again:
        loaded = result.metadata["payables_loaded"]
        assert (loaded["created"], loaded["batches_sent"]) == (0, 0), result.day
    assert pipeline.target_counts() == before
    assert pipeline.rejected_keys("payables") == set(summary.expected_rejects("payables")["payables"])
    mapped = _assert_exactly_once(pipeline, sandbox)
    statements = pipeline.query(f"SELECT payable_key, statement_key FROM {validated_table('payables')}")
    payables_of: dict[str, set[str]] = defaultdict(set)
    for key, statement in statements:
        if key in mapped:
            payables_of[statement].add(mapped[key])
    assert all(len(ids) == 1 for ids in payables_of.values()), "a statement is one payable"
    assert len(set(mapped.values())) < len(mapped), "some statements merged several vouchers"


def test_runs_killed_after_each_step_of_a_batch_in_turn_load_each_row_once_in_the_end(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """One day's run dies (SIGKILL) after the batch is created; the next run, resuming it, dies after
    adding its items; the next after submitting it. Each finds the same batch by its label (there is
    only ever one), and the last run waits for it to be processed and records it."""
    sandbox = sandbox_factory(window_seconds=1.0)
    summary = small_export(tmp_path / "landing", days=DAYS[:1], customers=60)
    pipeline = _prepared(tmp_path, sandbox, monkeypatch, summary, options={"strategy": "Single"})
    for point in ("payables_created", "payables_items_added", "payables_submitted"):
        died = run_day_killed_at(pipeline.settings, DAY_KEYS[0], point)
        assert died.returncode == -9, (point, died.stderr[-2000:])
        assert pipeline.query("SELECT COUNT(*) FROM intent_log WHERE status = 'open'")[0][0] == 1, point
        assert pipeline.target_counts()["payable_batches"] == 1, point
    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(pipeline.defs, DAY_KEYS[:1], instance)
    assert result.success and all(result.checks.values())
    assert result.metadata["payables_loaded"]["reconciled_intents"] == 1
    mapped = _assert_exactly_once(pipeline, sandbox)
    assert len(set(mapped.values())) == len(mapped)  # Single: a payable per row
    assert pipeline.rejected_keys("payables") == set(summary.expected_rejects("payables")["payables"])


def test_a_day_that_grew_after_a_dead_run_does_not_send_the_dead_runs_rows_again(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dead run's batch was processed, its outcome not recorded; then another file of the same day
    landed. The batch sent now holds other content, so its label is new: the dead run's rows must be
    found by lookup, not sent again."""
    sandbox = sandbox_factory(window_seconds=1.0, job_record_delay_seconds=0.02)
    summary = small_export(tmp_path / "landing", days=DAYS[:1], customers=60)
    pipeline = _prepared(tmp_path, sandbox, monkeypatch, summary, options={"strategy": "Single"})
    assert run_day_killed_at(pipeline.settings, DAY_KEYS[0], "batch_answered").returncode == -9
    email = summary.collaborators[0]["email"]
    write_export(tmp_path / "landing", DAY_KEYS[0], {"payables": [
        "VOUCHER_NO,COLLAB_EMAIL,COLLAB_ID,COLLAB_REF,AMOUNT,STATUS,DUE_DATE,PAID_DATE,DESCRIPTION,STATEMENT_NO",
        f"LATE-1,{email},,,250.00,open,2024-03-31,,Late voucher,ST-LATE-1",
        f"LATE-2,{email},,,-50.00,open,2024-03-31,,Late deduction,ST-LATE-1"]})
    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(pipeline.defs, DAY_KEYS[:1], instance)
    assert result.success and all(result.checks.values())
    assert result.metadata["payables_loaded"]["reconciled_intents"] == 1
    mapped = _assert_exactly_once(pipeline, sandbox)
    assert {"LATE-1", "LATE-2"} <= set(mapped)

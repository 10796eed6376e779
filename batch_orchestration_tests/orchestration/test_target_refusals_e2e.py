"""What the target refuses, through Dagster and over HTTP: a refused parent, and a final answer."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.orchestration.runner import run_days
from batch_orchestration_tests.load.conftest import create_in_target
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, small_export

pytestmark = pytest.mark.slow


def _rows(path: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for file in sorted(path.glob("*.csv")):
        with file.open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def test_a_customer_the_target_refuses_fails_only_itself_and_its_invoices(
        tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")
    small_export(tmp_path / "landing", customers=60)
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    day = DAY_KEYS[0]
    landing = tmp_path / "landing"
    invoices = _rows(landing / "invoices" / day)
    customers = {row["CUST_NO"]: row for row in _rows(landing / "customers" / day)}
    # A customer of the day with an email and invoices; the target already holds that email.
    victim = next(row["CUST_NO"] for row in invoices
                  if row["CUST_NO"] in customers and "@" in customers[row["CUST_NO"]]["EMAIL_ADDR"])
    taken = customers[victim]["EMAIL_ADDR"].upper()
    created = create_in_target(pipeline.connector(), "customers", "created-elsewhere",
                               {"name": "Elsewhere", "email": taken})
    assert created.success

    with dg.DagsterInstance.ephemeral() as instance:  # a real instance, its storage in memory
        results = run_days(pipeline.defs, [day], instance)

    assert results[0].success
    rejects = pipeline.query("SELECT entity, source_key, code, message FROM rejects WHERE stage = 'load'")
    by_entity: dict[str, dict[str, tuple[str, str]]] = {}
    for entity, key, code, message in rejects:
        by_entity.setdefault(entity, {})[key] = (code, message)
    assert by_entity["customers"][victim][0].startswith("DUPLICATE")
    validated_victim_invoices = {key for (key,) in pipeline.query(
        "SELECT source_key FROM validated_invoices WHERE customer_key = ?", (victim,))}
    refused_invoices = {key for key, (code, message) in by_entity["invoices"].items()
                        if code == "PARENT_REJECTED" and f"customers {victim} " in message}
    assert refused_invoices and refused_invoices == validated_victim_invoices
    assert not validated_victim_invoices & pipeline.mapped_keys("invoices")
    line_rejects = {key.split("/")[0] for key, (code, _) in by_entity["invoice_line_items"].items()
                    if code == "HEADER_REJECTED"}
    assert refused_invoices <= line_rejects
    assert pipeline.mapped_keys("invoices"), "every other invoice of the day loads"


def test_a_wrong_key_fails_the_load_at_once_without_step_retries(
        tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "a-wrong-key-5150")
    small_export(tmp_path / "landing", customers=20)
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)

    with dg.DagsterInstance.ephemeral() as instance:  # a real instance, its storage in memory
        results = run_days(pipeline.defs, DAY_KEYS[:1], instance)
        run = instance.get_runs(limit=1)[0]
        events = instance.all_logs(run.run_id)

    assert not results[0].success
    failures = [e for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"]
    retries = [e for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"]
    # The first loads of the day with records to send (units that refer to nothing) each fail at their
    # first answer; every later load waits for them and never runs.
    assert {"customers_load", "items_load"} <= {e.step_key for e in failures}
    assert all(e.step_key in ("customers_load", "suppliers_load", "items_load", "accounts_load") for e in failures)
    assert retries == []
    for failure in failures:
        text = failure.dagster_event.step_failure_data.user_failure_data.description
        assert "HTTP 401" in text and "$BIGLEDGER_API_KEY" in text
    assert all("a-wrong-key-5150" not in str(e) for e in events)

"""Reconciliation against the target (issue 11, part 3), through Dagster and the sandbox: a day loaded into
BigLedger reconciles; then, in the sandbox's own database and behind the pipeline's back, one invoice's
total is changed and another invoice deleted. The command line names both by source key and target id and
exits 1; the asset check fails, says how many requests it read, and, blocking as the routing asks, keeps
the payments that name those invoices from loading."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import yaml
from typer.testing import CliRunner

from batch_orchestration.cli import app
from batch_orchestration.orchestration.runner import QUIET_LOGS, run_days
from batch_orchestration.orchestration.settings import ENV_PREFIX
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.targets.routing import default_routing
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

CHECK = "target_holds_what_was_loaded"


def test_an_amount_changed_and_an_invoice_deleted_behind_the_pipelines_back_are_found(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    database = tmp_path / "sandbox.sqlite"
    sandbox = sandbox_factory(window_seconds=1.0, db_path=str(database))
    day = DAY_KEYS[0]
    write_export(tmp_path / "landing", day, {
        "customers": ["CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY", "C1,Acme,ap@acme.example,MY",
                      "C2,Beta,ap@beta.example,MY"],
        "invoices": ["INV_NO,CUST_NO,INV_DATE,INV_TOTAL", "I1,C1,2024-03-01,30.00", "I2,C2,2024-03-01,12.50",
                     "I3,C1,2024-03-01,5.05"],
        "invoice_line_items": ["INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_PRICE", "I1,1,,Widgets,2,10.00",
                               "I1,2,,Gadget,1,10.00", "I2,1,,Service,1,12.50", "I3,1,,Stamp,1,5.05"]})
    routing = default_routing(sandbox.url, DEMO_COMPANY, 1.0).model_dump()
    routing["targets"]["bigledger"]["block_on_reconciliation"] = True
    routing_file = tmp_path / "routing.yaml"
    routing_file.write_text(yaml.safe_dump(routing), encoding="utf-8")
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}",
                                            routing_path=str(routing_file)), sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        (loaded,) = run_days(pipeline.defs, [day], instance)
    assert loaded.success and not loaded.check_failures()
    assert loaded.checks[("invoices_loaded", CHECK)] and loaded.checks[("customers_loaded", CHECK)]
    for name, value in {"WAREHOUSE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}", "HOME": str(tmp_path),
                        "ROUTING": str(routing_file)}.items():
        monkeypatch.setenv(f"{ENV_PREFIX}{name}", value)
    monkeypatch.setenv("COLUMNS", "200")  # rich's width off a terminal
    clean = CliRunner().invoke(app, ["reconcile", "--day", day])
    assert clean.exit_code == 0, clean.output
    assert clean.output.count("total 47.55") == 2  # 30.00 + 12.50 + 5.05, loaded and found

    ids = dict(pipeline.query("SELECT source_key, target_id FROM id_map WHERE entity = 'invoices'"))
    with sqlite3.connect(database) as db:  # behind the pipeline's back
        db.execute("UPDATE records SET data = json_set(data, '$.total', 31.0) WHERE entity = 'invoices' AND id = ?",
                   (ids["I1"],))
        db.execute("DELETE FROM records WHERE entity = 'invoices' AND id = ?", (ids["I2"],))

    found = CliRunner().invoke(app, ["reconcile", "--day", day, "--entity", "invoices"])
    assert found.exit_code == 1, found.output
    assert f"invoices I1 ({ids['I1']}): total: the target holds 31.0, 30.00 was loaded" in found.output
    assert f"invoices I2 ({ids['I2']}): not in the target" in found.output
    assert "invoices I3" not in found.output
    assert DEMO_API_KEY not in found.output

    with dg.DagsterInstance.ephemeral() as instance:  # the day again: the check fails and blocks
        again = pipeline.defs.resolve_job_def("migration_job").execute_in_process(
            partition_key=day, instance=instance, run_config=QUIET_LOGS, raise_on_error=False)
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in again.get_asset_check_evaluations()}
    invoices = evaluations[("invoices_loaded", CHECK)]
    assert not invoices.passed and invoices.severity == dg.AssetCheckSeverity.ERROR
    metadata = {key: value.value for key, value in invoices.metadata.items()}
    assert (metadata["loaded"], metadata["found"], metadata["mismatches"]) == (3, 2, 2)
    assert (metadata["amount/total/loaded"], metadata["amount/total/found"]) == ("47.55", "36.05")
    assert metadata["requests"] == 2  # one page of ids, and the count of the pipeline's records
    assert {m["source_key"] for m in metadata["sample"]} == {"I1", "I2"}
    assert evaluations[("customers_loaded", CHECK)].passed
    materialized = {e.asset_key.to_user_string() for e in again.get_asset_materialization_events()}
    assert "invoices_loaded" in materialized and "payments_loaded" not in materialized  # blocked

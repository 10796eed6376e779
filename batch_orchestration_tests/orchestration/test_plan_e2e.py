"""The dry run (issue 11, "plan before sending") on a real pipeline: after day 1 is loaded into
BigLedger, day 2 is staged and validated without a load, and its plan (from the command line, as JSON
and as a table, and as ``plan_job`` in Dagster) names the create, the update with its changed field and
the records the target holds already, sending nothing."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
import yaml
from typer.testing import CliRunner

from batch_orchestration.cli import app
from batch_orchestration.entities.registry import units
from batch_orchestration.load.plan import FieldChange, plan_day
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.orchestration.settings import ENV_PREFIX
from batch_orchestration.sandbox.config import DEMO_API_KEY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration_tests.load.conftest import create_in_target
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY"
TAKEN = "accounts@elsewhere.example"


def test_the_plan_of_a_validated_day_names_its_creates_updates_and_skips_and_sends_nothing(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    first, second = DAY_KEYS[:2]
    landing = tmp_path / "landing"
    write_export(landing, first, {"customers": [HEADER, "C1,Acme Trading,ap@acme.example,MY",
                                                "C2,Beta Foods,ap@beta.example,MY"]})
    write_export(landing, second, {
        "customers": [HEADER, "C1,Acme Trading Sdn Bhd,ap@acme.example,MY", "C2,Beta Foods,ap@beta.example,MY",
                      "C3,Gamma,,MY", "C4,Delta,not-an-email,MY", f"C5,Epsilon,{TAKEN},MY"],
        # invoices of customers the same load creates first (C5's the target will refuse)
        "invoices": ["INV_NO,CUST_NO,INV_DATE,INV_TOTAL", "I1,C3,2024-03-02,10.00", "I2,C5,2024-03-02,5.00"],
        "invoice_line_items": ["INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_PRICE", "I1,1,,Widgets,1,10.00",
                               "I2,1,,Gadget,1,5.00"]})
    warehouse_url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    loading = Pipeline.build(make_settings(tmp_path, sandbox, warehouse_url), sandbox)  # BigLedger, by default
    nowhere = tmp_path / "validate_only.yaml"
    nowhere.write_text(yaml.safe_dump({"targets": {"unused": {"system": "bigledger", "base_url": sandbox.url,
                                                              "company_id": "c", "api_key_env": "UNUSED_KEY"}},
                                       "entities": {root.name: None for root in units()}}), encoding="utf-8")
    validating = Pipeline.build(make_settings(tmp_path, sandbox, warehouse_url, routing_path=str(nowhere)), sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(loading.defs, [first], instance)[0].success
        assert run_days(validating.defs, [second], instance)[0].success
    # The target holds a customer the export does not know, with the email C5 reuses: only it can tell.
    assert create_in_target(loading.connector(), "customers", "created-elsewhere",
                            {"name": "Elsewhere", "email": TAKEN}).success
    held_before = loading.target_counts()
    state_before = _state(warehouse_url)

    (customers,) = plan_day(open_warehouse(warehouse_url), loading.settings.routing(), second, "customers")
    assert (customers.entity, customers.target, customers.system) == ("customers", "bigledger", "bigledger")
    assert (customers.records, customers.creates, customers.skips) == (4, ["C3", "C5"], 1)  # C4: not valid
    (update,) = customers.updates
    assert update.source_key == "C1" and update.target_id
    assert update.changes == (FieldChange("name", "Acme Trading", "Acme Trading Sdn Bhd"),)
    assert customers.held_back == [] and customers.in_doubt == 0 and customers.verdicts is None
    (invoices,) = plan_day(open_warehouse(warehouse_url), loading.settings.routing(), second, "invoices")
    assert (invoices.creates, invoices.held_back) == (["I1", "I2"], [])  # their customers are created first

    for name, value in {"WAREHOUSE_URL": warehouse_url, "HOME": str(tmp_path), "TARGET_BASE_URL": sandbox.url,
                        "TARGET_COMPANY_ID": loading.settings.target_company_id,
                        "RATE_WINDOW_SECONDS": str(sandbox.config.window_seconds)}.items():
        monkeypatch.setenv(f"{ENV_PREFIX}{name}", value)  # the command reads the settings as any run does
    answer = CliRunner().invoke(app, ["plan", "--day", second, "--json"])
    assert answer.exit_code == 0, answer.output
    assert answer.stderr == f"warehouse: {warehouse_url}\n"  # which one it read, beside the JSON on stdout
    units_planned = {unit["entity"]: unit for unit in json.loads(answer.stdout)["units"]}
    assert set(units_planned) == {root.name for root in units() if loading.settings.routing().route(root.name)}
    assert units_planned["customers"]["updates"][0]["changes"] == [
        {"field": "name", "old": "Acme Trading", "new": "Acme Trading Sdn Bhd"}]
    table = CliRunner().invoke(app, ["plan", "--day", second, "--entity", "customers"])
    assert table.exit_code == 0 and "update customers C1" in table.output, table.output
    asked = CliRunner().invoke(app, ["plan", "--day", second, "--ask-target", "--json"])
    assert asked.exit_code == 0, asked.output
    verdicts = {unit["entity"]: {v["source_key"]: (v["valid"], v["code"]) for v in unit["verdicts"]}
                for unit in json.loads(asked.stdout)["units"]}
    assert verdicts["customers"] == {"C1": (True, None), "C3": (True, None), "C5": (False, "DUPLICATE_ERROR")}
    assert verdicts["invoices"] == {"I1": (None, "NOT_ASKED")}  # its customer does not exist yet
    (asked_invoices,) = [unit for unit in json.loads(asked.stdout)["units"] if unit["entity"] == "invoices"]
    assert [(h["source_key"], h["code"]) for h in asked_invoices["held_back"]] == [("I2", "PARENT_REJECTED")]
    only = CliRunner().invoke(app, ["plan", "--day", second, "--entity", "invoices", "--ask-target", "--json"])
    assert [unit["entity"] for unit in json.loads(only.stdout)["units"]] == ["invoices"]
    unvalidated = CliRunner().invoke(app, ["plan", "--day", DAY_KEYS[2]])
    assert unvalidated.exit_code != 0 and "has no validated records of" in unvalidated.output
    assert DEMO_API_KEY not in asked.output + table.output

    with dg.DagsterInstance.ephemeral() as instance:  # the same plan in Dagster: observations of _loaded
        run = loading.defs.resolve_job_def("plan_job").execute_in_process(partition_key=second, instance=instance)
        observed = {event.asset_key.to_user_string(): event.event_specific_data.asset_observation
                    for event in run.all_events if event.event_type_value == "ASSET_OBSERVATION"}
    assert run.success
    customers_observed = observed["customers_loaded"]
    assert customers_observed.partition == second
    assert {key: customers_observed.metadata[key].value for key in (
        "plan/creates", "plan/updates", "plan/skips", "plan/held_back")} == {
        "plan/creates": 2, "plan/updates": 1, "plan/skips": 1, "plan/held_back": 0}
    assert "Acme Trading Sdn Bhd" in customers_observed.metadata["plan/changes"].value

    assert loading.target_counts() == held_before  # nothing was sent
    assert _state(warehouse_url) == state_before  # and nothing recorded

    # Day 1 validated again (a corrected file): the version the target holds of C1 is gone from the
    # warehouse, so its update cannot be compared, and says so.
    write_export(landing, first, {"customers": [HEADER, "C1,Acme Trading Co,ap@acme.example,MY",
                                                "C2,Beta Foods,ap@beta.example,MY"]})
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(validating.defs, [first], instance)[0].success
    (again,) = plan_day(open_warehouse(warehouse_url), loading.settings.routing(), second, "customers")
    assert [(u.source_key, u.changes) for u in again.updates] == [("C1", None)]


def _state(warehouse_url: str) -> list[list[tuple[object, ...]]]:
    """The pipeline's state: ID map, rejects and intents, whole."""
    with open_warehouse(warehouse_url).session() as session:
        return [session.fetch_all(f"SELECT * FROM {table} ORDER BY 1, 2, 3") for table in (
            "id_map", "rejects", "intent_log")]

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
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY"


def test_the_plan_of_a_validated_day_names_its_creates_updates_and_skips_and_sends_nothing(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    first, second = DAY_KEYS[:2]
    landing = tmp_path / "landing"
    write_export(landing, first, {"customers": [HEADER, "C1,Acme Trading,ap@acme.example,MY",
                                                "C2,Beta Foods,ap@beta.example,MY"]})
    write_export(landing, second, {"customers": [HEADER, "C1,Acme Trading Sdn Bhd,ap@acme.example,MY",
                                                 "C2,Beta Foods,ap@beta.example,MY", "C3,Gamma,,MY",
                                                 "C4,Delta,not-an-email,MY"]})
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
    held_before = loading.target_counts()

    (customers, *_) = plan_day(open_warehouse(warehouse_url), loading.settings.routing(), second, "customers")
    assert (customers.entity, customers.target, customers.system) == ("customers", "bigledger", "bigledger")
    assert (customers.records, customers.creates, customers.skips) == (3, ["C3"], 1)  # C4 rejected at validation
    (update,) = customers.updates
    assert update.source_key == "C1" and update.target_id
    assert update.changes == (FieldChange("name", "Acme Trading", "Acme Trading Sdn Bhd"),)
    assert customers.held_back == [] and customers.in_doubt == 0

    monkeypatch.setenv(f"{ENV_PREFIX}WAREHOUSE_URL", warehouse_url)
    answer = CliRunner().invoke(app, ["plan", "--day", second, "--json"])
    assert answer.exit_code == 0, answer.output
    units_planned = {unit["entity"]: unit for unit in json.loads(answer.output)["units"]}
    assert set(units_planned) == {root.name for root in units() if loading.settings.routing().route(root.name)}
    assert units_planned["customers"]["updates"][0]["changes"] == [
        {"field": "name", "old": "Acme Trading", "new": "Acme Trading Sdn Bhd"}]
    table = CliRunner().invoke(app, ["plan", "--day", second, "--entity", "customers"])
    assert table.exit_code == 0 and "update customers C1" in table.output, table.output

    with dg.DagsterInstance.ephemeral() as instance:  # the same plan in Dagster: observations of _loaded
        run = loading.defs.resolve_job_def("plan_job").execute_in_process(partition_key=second, instance=instance)
        observed = {event.asset_key.to_user_string(): event.event_specific_data.asset_observation
                    for event in run.all_events if event.event_type_value == "ASSET_OBSERVATION"}
    assert run.success
    customers_observed = observed["customers_loaded"]
    assert customers_observed.partition == second
    assert {key: customers_observed.metadata[key].value for key in (
        "plan/creates", "plan/updates", "plan/skips", "plan/held_back")} == {
        "plan/creates": 1, "plan/updates": 1, "plan/skips": 1, "plan/held_back": 0}
    assert "Acme Trading Sdn Bhd" in customers_observed.metadata["plan/changes"].value

    assert loading.target_counts() == held_before  # nothing was sent
    with open_warehouse(warehouse_url).session() as session:  # and nothing recorded
        assert session.fetch_all("SELECT COUNT(*) FROM id_map WHERE partition_day = ?", (second,))[0][0] == 0

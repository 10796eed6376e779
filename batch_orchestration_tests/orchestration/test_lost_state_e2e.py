"""Lost local state never duplicates (issue 11, part 5), through Dagster and the sandbox: two days loaded
into BigLedger, then the warehouse deleted and the same days run again: nothing is created, the ID map is
rebuilt with the same target ids. Then deleted once more, the days only validated, and the ID map rebuilt
on purpose with ``batch-orchestration adopt``: the load after it sends nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
import yaml
from typer.testing import CliRunner

from batch_orchestration.cli import app
from batch_orchestration.entities.registry import units
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.orchestration.settings import ENV_PREFIX
from batch_orchestration.sandbox.config import DEMO_API_KEY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.orchestration.harness import (
    DAY_KEYS,
    Pipeline,
    loaded_metadata,
    make_settings,
    write_export,
)

pytestmark = pytest.mark.slow

CUSTOMERS = "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY"
INVOICES = "INV_NO,CUST_NO,INV_DATE,INV_TOTAL"
LINES = "INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_PRICE"
PAYMENTS = "RECEIPT_NO,CUST_NO,SUPP_NO,INV_NO,BILL_NO,PAY_DATE,AMOUNT,PAY_METHOD"
LOADED = ("customers", "invoices", "invoice_line_items", "payments")


def _write_days(landing: Path) -> None:
    first, second = DAY_KEYS[:2]
    write_export(landing, first, {
        "customers": [CUSTOMERS, "C1,Acme,ap@acme.example,MY", "C2,Beta,ap@beta.example,MY",
                      "C3,Gamma,ap@gamma.example,MY"],
        "invoices": [INVOICES, "I1,C1,2024-03-01,30.00"],
        "invoice_line_items": [LINES, "I1,1,,Widgets,2,10.00", "I1,2,,Gadget,1,10.00"],
        "payments": [PAYMENTS, "P1,C1,,I1,,2024-03-01,30.00,bank_transfer"]})
    write_export(landing, second, {  # C2 renamed, C4 and its invoice new
        "customers": [CUSTOMERS, "C2,Beta Foods,ap@beta.example,MY", "C4,Delta,ap@delta.example,MY"],
        "invoices": [INVOICES, "I2,C4,2024-03-02,12.50"],
        "invoice_line_items": [LINES, "I2,1,,Service,1,12.50"]})


def _ids(pipeline: Pipeline) -> dict[tuple[str, str], str]:
    return {(entity, key): target_id for entity, key, target_id in pipeline.query(
        "SELECT entity, source_key, target_id FROM id_map WHERE entity IN (?, ?, ?, ?)", LOADED)}


def _lose(warehouse: Path) -> None:
    """The warehouse is gone; the next one is a new file (a process keeps the schema of a URL it has seen)."""
    warehouse.unlink()
    warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)


def test_a_deleted_warehouse_creates_nothing_again_and_adopt_rebuilds_its_id_map(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    _write_days(tmp_path / "landing")
    warehouse = tmp_path / "w1.duckdb"
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{warehouse}"), sandbox)
    days = DAY_KEYS[:2]
    with dg.DagsterInstance.ephemeral() as instance:
        assert all(day.success for day in run_days(pipeline.defs, days, instance))
    ids = _ids(pipeline)
    held = pipeline.target_counts()
    assert len(ids) == 4 + 2 + 3 + 1

    _lose(warehouse)
    warehouse = tmp_path / "w2.duckdb"
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{warehouse}"), sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        again = run_days(pipeline.defs, days, instance)
    assert all(day.success and not day.check_failures() for day in again)
    for day in again:
        for entity in LOADED:
            assert loaded_metadata(day.metadata, entity).get("created", 0) == 0, (day.day, entity)
    first_day = again[0].metadata
    # C2 is held in day 2's version, which this warehouse has not seen yet: held back on day 1, not rolled
    # back, and adopted on day 2
    assert (loaded_metadata(first_day, "customers")["adopted"], loaded_metadata(first_day, "customers")["rejected"],
            loaded_metadata(first_day, "customers")["rejects/HELD_IN_ANOTHER_VERSION"]) == (2, 1, 1)
    assert loaded_metadata(first_day, "invoice_line_items")["adopted"] == 2
    assert loaded_metadata(first_day, "payments")["adopted"] == 1  # create-only: adopted, not resent
    assert loaded_metadata(again[1].metadata, "customers")["adopted"] == 2  # C2 and C4
    assert sum(loaded_metadata(day.metadata, "customers")["updated"] for day in again) == 0
    assert _ids(pipeline) == ids
    assert pipeline.target_counts() == held
    for entity in ("customers", "invoices", "payments"):
        assert max(pipeline.reference_ids_in_target(entity).values()) == 1
    # C2's history in this warehouse: held back on day 1, adopted in day 2's version
    traced = CliRunner().invoke(app, ["trace", "customers", ids[("customers", "C2")], "--json",
                                      "--warehouse-url", f"duckdb:///{warehouse}"])
    assert traced.exit_code == 0, traced.output
    history = json.loads(traced.stdout)
    assert history["source_keys"] == ["C2"]
    assert [(r["day"], r["source_row"]) for r in history["rows"]] == [(days[0], 2), (days[1], 1)]  # data rows
    assert [(v["operation"], v["day"], v["target_id"]) for v in history["versions"]] == [
        ("adopt", days[1], ids[("customers", "C2")])]
    assert [(r["day"], r["stage"], r["code"]) for r in history["rejects"]] == [
        (days[0], "load", "HELD_IN_ANOTHER_VERSION")]
    assert [(h["target"], h["day"]) for h in history["held"]] == [("bigledger", days[1])]
    line = CliRunner().invoke(app, ["trace", "invoice_line_items", "I1/2", "--json",
                                    "--warehouse-url", f"duckdb:///{warehouse}"])
    assert [v["operation"] for v in json.loads(line.stdout)["versions"]] == ["adopt"]  # with its invoice
    unknown = CliRunner().invoke(app, ["trace", "customers", "C404", "--warehouse-url", f"duckdb:///{warehouse}"])
    assert unknown.exit_code == 1 and "knows no customers 'C404'" in unknown.output

    _lose(warehouse)
    warehouse = tmp_path / "w3.duckdb"
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{warehouse}"), sandbox)
    nowhere = tmp_path / "validate_only.yaml"
    nowhere.write_text(yaml.safe_dump({"targets": {"unused": {"system": "bigledger", "base_url": sandbox.url,
                                                              "company_id": "c", "api_key_env": "UNUSED_KEY"}},
                                       "entities": {root.name: None for root in units()}}), encoding="utf-8")
    validating = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{warehouse}",
                                              routing_path=str(nowhere)), sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        assert all(day.success for day in run_days(validating.defs, days, instance))
    for name, value in {"WAREHOUSE_URL": f"duckdb:///{warehouse}", "HOME": str(tmp_path),
                        "TARGET_BASE_URL": sandbox.url, "TARGET_COMPANY_ID": pipeline.settings.target_company_id,
                        "RATE_WINDOW_SECONDS": str(sandbox.config.window_seconds)}.items():
        monkeypatch.setenv(f"{ENV_PREFIX}{name}", value)
    adopted = CliRunner().invoke(app, ["adopt"])
    assert adopted.exit_code == 0, adopted.output
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in adopted.output.splitlines() if line.count("│") > 3}
    assert rows["customers"] == ["bigledger", "2", "4", "0", "0"]  # days, adopted, other version, unknown
    assert rows["invoices"] == ["bigledger", "2", "2", "0", "0"]
    assert rows["payments"] == ["bigledger", "1", "1", "0", "0"]
    assert _ids(pipeline) == ids
    assert DEMO_API_KEY not in adopted.output

    with dg.DagsterInstance.ephemeral() as instance:
        after = run_days(pipeline.defs, days, instance)
    sent = Counter()
    for day in after:
        for entity in LOADED:
            metadata = loaded_metadata(day.metadata, entity)
            sent.update({k: metadata.get(k, 0) for k in ("created", "updated", "adopted", "batches_sent")})
    assert sent == Counter({"created": 0, "updated": 0, "adopted": 0, "batches_sent": 0})
    assert pipeline.target_counts() == held


def test_a_warehouse_another_deployment_loads_from_is_refused_by_name(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    first, second = DAY_KEYS[:2]
    url = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    for day in (first, second):
        row = f"C-{day},Acme {day},ap-{day}@acme.example,MY"
        write_export(tmp_path / "landing", day, {"customers": [CUSTOMERS, row]})
    one = Pipeline.build(make_settings(tmp_path / "one", sandbox, url, landing_root=str(tmp_path / "landing")),
                         sandbox)
    other = Pipeline.build(make_settings(tmp_path / "other", sandbox, url, landing_root=str(tmp_path / "landing")),
                           sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(one.defs, [first], instance)[0].success
        refused = other.defs.resolve_job_def("migration_job").execute_in_process(
            partition_key=second, instance=instance, raise_on_error=False)
    assert not refused.success
    said = " ".join(error.to_string() for event in refused.all_events  # the errors Dagster recorded, with causes
                    if (error := getattr(event.event_specific_data, "error", None)) is not None)
    assert f"loaded from by the deployment {str(tmp_path / 'one')!r}" in said, said
    assert f"BATCH_ORCHESTRATION_DEPLOYMENT={str(tmp_path / 'one')!r}" in said
    assert one.query("SELECT COUNT(*) FROM staged_customers WHERE partition_day = ?", (second,)) == [(0,)]

    moved = Pipeline.build(make_settings(tmp_path / "other", sandbox, url, landing_root=str(tmp_path / "landing"),
                                         deployment=str(tmp_path / "one")), sandbox)  # the same one, moved
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(moved.defs, [second], instance)[0].success
    assert one.mapped_keys("customers") == {f"C-{first}", f"C-{second}"}

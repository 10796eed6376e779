"""eBill end to end through Dagster: the demo's routing (customers and invoices into eBill), a
generated backfill, a row eBill refuses, and runs killed with ``kill -9`` after each upload step."""

from __future__ import annotations

import csv
from pathlib import Path

import boto3
import dagster as dg
import pytest
import requests

from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, FaultConfig
from batch_orchestration.sandbox.ebill.csv_files import CUSTOMERS, INVOICES, LINE_ITEMS
from batch_orchestration.sandbox.server import RunningSandbox
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

LOADED = {"customers": CUSTOMERS, "invoices": INVOICES, "invoice_line_items": LINE_ITEMS}


def _ebill_pipeline(tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    return routed_pipeline("ebill", tmp_path, sandbox, monkeypatch)


def _refuse_a_due_date(landing: Path) -> str:
    """Give the first invoice of the first day a due date before its date: valid for the pipeline (and
    BigLedger, which only warns), refused by eBill. Returns its key."""
    path = next((landing / "invoices" / DAY_KEYS[0]).glob("*.csv"))
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    row = rows[0]
    row["DUE_DATE"] = "2000-01-01"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return row["INV_NO"]


def test_a_backfill_into_ebill_loads_exactly_the_valid_records_and_again_uploads_nothing(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = small_export(tmp_path / "landing", customers=60)
    refused = _refuse_a_due_date(tmp_path / "landing")
    pipeline = _ebill_pipeline(tmp_path, sandbox, monkeypatch)
    assert "payments_loaded" not in {key.to_user_string() for key in pipeline.defs.resolve_all_asset_keys()}

    with dg.DagsterInstance.ephemeral() as instance:
        results = run_days(pipeline.defs, DAY_KEYS, instance)
        assert [r.success for r in results] == [True, True, True]
        assert all(all(r.checks.values()) for r in results)
        before = pipeline.target_counts()
        again = run_days(pipeline.defs, DAY_KEYS, instance)
    assert all(r.success for r in again)
    for result in again:
        for entity in LOADED:
            loaded = result.metadata[f"{entity}_loaded"]
            assert (loaded["created"], loaded["updated"], loaded["batches_sent"]) == (0, 0, 0), (result.day, entity)
    assert pipeline.target_counts() == before  # no batch either

    expected = summary.expected_rejects("ebill")
    lines_of_refused = {key for key in pipeline.mapped_keys("invoice_line_items") | pipeline.rejected_keys(
        "invoice_line_items") if key.startswith(f"{refused}/")}
    expected["invoices"] = sorted({*expected["invoices"], refused})
    expected["invoice_line_items"] = sorted({*expected["invoice_line_items"], *lines_of_refused})
    for entity, inspected in LOADED.items():
        loaded, rejected = pipeline.mapped_keys(entity), pipeline.rejected_keys(entity)
        assert rejected == set(expected[entity]), (entity, sorted(rejected ^ set(expected[entity]))[:5])
        # eBill takes no deletes: the customers the export deleted stay there, mapped, and NOT_DELETABLE
        kept = {key for keys in summary.customer_deletes.values() for key in keys} if entity == "customers" else set()
        assert loaded & rejected == kept and (entity != "customers" or kept)
        assert before[inspected] == len(loaded), entity
    (message,) = pipeline.query("SELECT message FROM rejects WHERE entity = 'invoices' AND source_key = ? "
                                "AND code = 'ROW_FAILED'", (refused,))[0]
    assert message == "dueDate must not be before invoiceDate"
    assert {entity for (entity,) in pipeline.query("SELECT DISTINCT entity FROM id_map")} == set(LOADED)


# -- killed runs ------------------------------------------------------------------------------------

HEADERS = {"customers": "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY", "invoices": "INV_NO,CUST_NO,INV_DATE,INV_TOTAL",
           "invoice_line_items": "INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_PRICE"}
def test_runs_killed_after_each_upload_step_in_turn_resume_without_a_second_batch_or_a_duplicate(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second day's run dies (SIGKILL) after its invoices' batch is created; the next run, resuming
    the upload, dies after uploading; the next after finalizing; the next once eBill has processed it.
    Each carries on the same ``jobId`` from the step the last one reached; the last records it."""
    first, second = DAY_KEYS[:2]
    landing = tmp_path / "landing"
    write_export(landing, first, {"customers": [HEADERS["customers"], "C1,Acme Trading,ap@acme.example,MY",
                                                "C2,Beta Foods,ap@beta.example,MY"]})
    write_export(landing, second, {
        "invoices": [HEADERS["invoices"], "I1,C1,2024-02-15,25.00", "I2,C2,2024-02-16,57.50"],
        "invoice_line_items": [HEADERS["invoice_line_items"], "I1,1,,Widgets,2,10.00", "I1,2,,Freight,1,5.00",
                               "I2,1,,Gadget,1,7.50", "I2,2,,Half day on site,1,50.00"]})
    pipeline = _ebill_pipeline(tmp_path, sandbox, monkeypatch)
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(pipeline.defs, [first], instance)[0].success
    assert pipeline.target_counts()["ebill_batch_processes"] == 1

    for step in ("created", "uploaded", "finalized", "processed"):
        died = run_day_killed_at(pipeline.settings, second, f"ebill_{step}")
        assert died.returncode == -9, (step, died.stderr[-2000:])
        assert pipeline.query("SELECT COUNT(*) FROM intent_log WHERE status = 'open'")[0][0] == 1, step
        assert pipeline.target_counts()["ebill_batch_processes"] == 1 + 2, step  # never a second batch

    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(pipeline.defs, [second], instance)
    assert result.success and all(result.checks.values())
    assert result.metadata["invoices_loaded"]["reconciled_intents"] == 1
    counts = pipeline.target_counts()
    assert counts["ebill_batch_processes"] == 1 + 2  # the invoice batch and its one child: never a second
    assert (counts[INVOICES], counts[LINE_ITEMS]) == (2, 4)
    assert pipeline.mapped_keys("invoices") == {"I1", "I2"}
    assert pipeline.mapped_keys("invoice_line_items") == {"I1/1", "I1/2", "I2/1", "I2/2"}
    assert {target for (target,) in pipeline.query(
        "SELECT target_id FROM id_map WHERE entity = 'invoice_line_items'")} == {"I1:1", "I1:2", "I2:1", "I2:2"}


# -- carry forward ----------------------------------------------------------------------------------


def test_carry_forward_is_its_own_job_and_sends_nothing_without_confirmation(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    write_export(landing, DAY_KEYS[0], {
        "customers": [HEADERS["customers"], "C1,Acme Trading,ap@acme.example,MY"],
        "invoices": [HEADERS["invoices"], "I1,C1,2024-02-15,25.00", "I2,C1,2024-02-16,7.50"],
        "invoice_line_items": [HEADERS["invoice_line_items"], "I1,1,,Widgets,2,12.50", "I2,1,,Gadget,1,7.50"]})
    pipeline = _ebill_pipeline(tmp_path, sandbox, monkeypatch)
    job = pipeline.defs.resolve_job_def("ebill_carry_forward_job")
    assert "ebill_batch_init" not in {node.name for node in pipeline.defs.resolve_job_def("migration_job").nodes}
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(pipeline.defs, DAY_KEYS[:1], instance)[0].success
        batches = pipeline.target_counts()["ebill_batch_processes"]
        config = {"ops": {"ebill_batch_init": {"config": {"carry_forward_invoices": True}}}}
        unconfirmed = job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
        assert not unconfirmed.success
        assert "confirm: true" in unconfirmed.failure_data_for_node("ebill_batch_init").error.message
        assert pipeline.target_counts()["ebill_batch_processes"] == batches  # nothing was sent

        config["ops"]["ebill_batch_init"]["config"]["confirm"] = True
        confirmed = job.execute_in_process(run_config=config, instance=instance)
    assert confirmed.output_for_node("ebill_batch_init") == {"invoices": 2, "credit_memos": 0, "debit_memos": 0}
    # the init batch and one child batch for the one type requested
    assert pipeline.target_counts()["ebill_batch_processes"] == batches + 2


def test_faults_on_every_valid_record_lands_in_ebill_and_nothing_stays_in_doubt(
        tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = sandbox_factory(window_seconds=1.0, faults=FaultConfig(p_5xx=0.15, p_429=0.15, p_lost=0.15),
                              fault_seed=3)
    summary = small_export(tmp_path / "landing", days=DAYS[:1], customers=60)
    pipeline = _ebill_pipeline(tmp_path, sandbox, monkeypatch)
    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(pipeline.defs, DAY_KEYS[:1], instance)
    assert result.success and all(result.checks.values())
    ambiguous = sum(result.metadata[f"{entity}_loaded"]["ambiguous_batches"] for entity in ("customers", "invoices"))
    assert ambiguous > 0, "the faults must have hit some uploads for this test to mean anything"
    requests.put(f"{sandbox.url}/_sandbox/faults", json={"spec": ""},
                 headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=10).raise_for_status()
    counts = pipeline.target_counts()
    expected = summary.expected_rejects("ebill")
    for entity, inspected in LOADED.items():
        assert counts[inspected] == len(pipeline.mapped_keys(entity)), entity
        assert pipeline.rejected_keys(entity) == set(expected[entity]), entity
    assert pipeline.query("SELECT COUNT(*) FROM intent_log WHERE status = 'open'")[0][0] == 0


def test_uploads_through_s3_presigned_urls(tmp_path: Path, sandbox_factory: SandboxFactory, moto_s3_endpoint: str,
                                           moto_s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox presigns against moto's S3 server, as eBill does against AWS: the files go there."""
    sandbox = sandbox_factory(window_seconds=1.0, s3_endpoint_url=moto_s3_endpoint, s3_bucket=moto_s3_bucket)
    write_export(tmp_path / "landing", DAY_KEYS[0], {
        "customers": [HEADERS["customers"], "C1,Acme Trading,ap@acme.example,MY"],
        "invoices": [HEADERS["invoices"], "I1,C1,2024-02-15,25.00"],
        "invoice_line_items": [HEADERS["invoice_line_items"], "I1,1,,Widgets,2,12.50"]})
    pipeline = _ebill_pipeline(tmp_path, sandbox, monkeypatch)
    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(pipeline.defs, DAY_KEYS[:1], instance)
    assert result.success and all(result.checks.values())
    s3 = boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1")
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=moto_s3_bucket)["Contents"])
    uploaded = [key for key in keys if key.startswith(f"{DEMO_COMPANY}/in/")]
    assert len(uploaded) == 3 and len([key for key in keys if "/out/" in key]) == 3  # customers, invoices, lines
    line_file = next(key for key in uploaded if key.endswith(".1.csv"))
    body = s3.get_object(Bucket=moto_s3_bucket, Key=line_file)["Body"].read().decode()
    assert body.splitlines() == ["invoiceNumber,lineNumber,itemCode,description,quantity,unitPrice,amount",
                                 "I1,1,,Widgets,2.00,12.50,25.00"]
    assert pipeline.mapped_keys("invoice_line_items") == {"I1/1"}

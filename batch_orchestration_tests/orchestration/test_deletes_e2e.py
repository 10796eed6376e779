"""Deletes through Dagster (issue 11, part 2): customers exported as snapshots. A day whose export drops 3 of
the 50 (6 %, above the guard's 5 %) is stopped by the delete guard, with nothing sent and the invoices
waiting; the same day launched with the run config that confirms deletes deletes exactly those 3."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.ingest.mapping import MAPPINGS_DIR_ENV
from batch_orchestration.load.plan import plan_day
from batch_orchestration.load.planner import reference_id
from batch_orchestration.orchestration.runner import QUIET_LOGS, run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration_tests.load.conftest import declare_sync, sent
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY"
CONFIRMED = {**QUIET_LOGS, "resources": {"settings": {"config": {"confirm_deletes": True}}}}


def test_the_guard_stops_a_day_that_drops_too_many_until_the_run_confirms(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    declare_sync(tmp_path / "mappings", "snapshot", "customers")
    monkeypatch.setenv(MAPPINGS_DIR_ENV, str(tmp_path / "mappings"))
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    first, second = DAY_KEYS[:2]
    rows = {n: f"C{n},Customer {n},c{n}@example.com,MY" for n in range(1, 51)}
    dropped = {10, 20, 30}
    write_export(tmp_path / "landing", first, {"customers": [HEADER, *rows.values()]})
    write_export(tmp_path / "landing", second, {"customers": [HEADER, *(row for n, row in rows.items()
                                                                        if n not in dropped)],
                                                "invoices": ["INV_NO,CUST_NO,INV_DATE,INV_TOTAL",
                                                             "I1,C1,2024-03-02,10.00"],
                                                "invoice_line_items": ["INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,"
                                                                       "UNIT_PRICE", "I1,1,,Widget,1,10.00"]})
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    job = pipeline.defs.resolve_job_def("migration_job")
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_days(pipeline.defs, [first], instance)[0].success
        posts = len(sent(pipeline.sandbox, "POST", "/v1/batch/customers"))
        stopped = job.execute_in_process(partition_key=second, instance=instance, run_config=QUIET_LOGS,
                                         raise_on_error=False)
        said = " ".join(event.event_specific_data.error.message for event in stopped.all_events
                        if event.is_step_failure and event.step_key == "customers_load")
        materialized = {e.asset_key.to_user_string() for e in stopped.get_asset_materialization_events()}
        (planned,) = plan_day(open_warehouse(pipeline.settings.warehouse_url), pipeline.settings.routing(), second,
                              "customers")  # the day is validated: the dry run says the same before sending
        confirmed = job.execute_in_process(partition_key=second, instance=instance, run_config=CONFIRMED,
                                           raise_on_error=False)

    assert not stopped.success
    assert "would delete 3 of the 50 records bigledger holds (6%" in said and "confirm_deletes" in said
    assert "invoices_loaded" not in materialized  # the units that name customers wait
    assert planned.deletes == ["C10", "C20", "C30"] and "would delete 3 of the 50" in (planned.stopped or "")
    assert len(sent(pipeline.sandbox, "POST", "/v1/batch/customers")) == posts + 1  # only the confirmed run's
    assert confirmed.success
    loaded = {e.asset_key.to_user_string(): e.materialization.metadata
              for e in confirmed.get_asset_materialization_events()}
    assert loaded["customers_loaded"]["deleted"].value == 3
    held = pipeline.reference_ids_in_target("customers")
    assert set(held) == {reference_id("customers", f"C{n}") for n in rows if n not in dropped}  # exactly those 3
    assert pipeline.mapped_keys("customers") == {f"C{n}" for n in rows if n not in dropped}
    assert pipeline.mapped_keys("invoices") == {"I1"}

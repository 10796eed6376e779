"""A changes export through Dagster (issue 11, part 2): the packaged customers mapping is one, its rows
carrying an operation column as in seed 000's daily sync loop. The second day updates, deletes, corrects
itself within the file, and names a record never loaded; the plan says what the load then does; a replay
of the first day brings nothing back."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.load.plan import plan_day
from batch_orchestration.load.planner import reference_id
from batch_orchestration.load.trace import trace
from batch_orchestration.orchestration.runner import QUIET_LOGS, run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY,CHANGE_TYPE"
CONSERVATION = ("customers_loaded", "every_record_loaded_or_rejected")


def _row(n: int, operation: str = "", name: str | None = None) -> str:
    return f"C{n:02d},{name or f'Customer {n}'},c{n}@example.com,MY,{operation}"


def test_a_changes_day_creates_updates_and_deletes_what_its_rows_say(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    first, second = DAY_KEYS[:2]
    write_export(tmp_path / "landing", first, {"customers": [
        HEADER, *(_row(n, "create" if n % 2 else "") for n in range(1, 51))]})  # an empty operation: an upsert
    write_export(tmp_path / "landing", second, {"customers": [
        HEADER,
        _row(2, "update", "Customer 2 Renamed"),
        "C03,,,,DELETE",                        # a delete needs only its key (and any case)
        _row(4, "delete"), _row(4, "update", "Customer 4 Kept"),  # corrected later in the file: it stays
        _row(5, "update", "Customer 5 Gone"), "C05,,,,delete",    # ...and the other way round: it goes
        "C99,,,,delete",                        # never loaded: nothing to send
        _row(6, "remove"),                      # not an operation
        ",,,,delete",                           # a delete that names nothing
        _row(51, "create"),
    ]})
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    job = pipeline.defs.resolve_job_def("migration_job")
    warehouse = open_warehouse(pipeline.settings.warehouse_url)
    with dg.DagsterInstance.ephemeral() as instance:
        (day_one,) = run_days(pipeline.defs, [first], instance)
        validated = job.execute_in_process(partition_key=second, instance=instance, run_config=QUIET_LOGS,
                                           asset_selection=[dg.AssetKey("customers_staged"),
                                                            dg.AssetKey("customers_validated")])
        (planned,) = plan_day(warehouse, pipeline.settings.routing(), second, "customers")
        (day_two,) = run_days(pipeline.defs, [second], instance)
        (replayed,) = run_days(pipeline.defs, [first], instance)

    assert day_one.success and validated.success and day_two.success and replayed.success
    assert (planned.deletes, planned.creates, sorted(u.source_key for u in planned.updates)) == (
        ["C03", "C05"], ["C51"], ["C02", "C04"])
    assert planned.stopped is None  # 2 of 50: within the guard's 5 %
    validation = day_two.metadata["customers_validated"]
    assert (validation["rows_in"], validation["deletes"], validation["dagster/row_count"]) == (10, 3, 3)
    assert {(key, code) for key, code in pipeline.query(
        "SELECT source_key, code FROM rejects WHERE entity = 'customers' AND partition_day = ?", (second,))} == {
        ("C04", "DUPLICATE_KEY"), ("C05", "DUPLICATE_KEY"), ("C06", "UNKNOWN_OPERATION"), (None, "REQUIRED")}
    loaded = day_two.metadata["customers_loaded"]
    assert (loaded["created"], loaded["updated"], loaded["deleted"], loaded["rejected"]) == (1, 2, 2, 0)
    # what the step spent of the target's budget: the count of the pipeline's records (a create is due), one batch
    assert (loaded["requests"], loaded["responses_429"], loaded["batches_sent"]) == (2, 0, 1)
    held = pipeline.reference_ids_in_target("customers")
    assert len(held) == 49 and not {reference_id("customers", k) for k in ("C03", "C05")} & set(held)
    assert pipeline.mapped_keys("customers") == {f"C{n:02d}" for n in range(1, 52)} - {"C03", "C05"}
    assert day_two.checks[CONSERVATION]
    # The first day again: the records a later day deleted are not created again, and it stays accounted for.
    again = replayed.metadata["customers_loaded"]
    assert (again["created"], again["updated"], again["deleted"], again["skipped"]) == (0, 0, 0, 50)
    assert replayed.checks[CONSERVATION] and len(pipeline.reference_ids_in_target("customers")) == 49
    deleted = trace(warehouse, ENTITIES["customers"], "C03")
    assert [(v["operation"], v["day"], v["source_row"]) for v in deleted.versions] == [("create", first, 3),
                                                                                      ("delete", second, 2)]

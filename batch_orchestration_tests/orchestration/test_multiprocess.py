"""The way the UI runs a job: every step in its own process (the multiprocess executor) on a new warehouse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, small_export

INSTANCE_YAML = Path(__file__).parents[2] / "batch_orchestration" / "instance" / "dagster.yaml"

pytestmark = pytest.mark.slow


def test_validation_in_its_own_process_finds_the_schema_on_a_new_warehouse(tmp_path: Path, sandbox) -> None:
    """Before the schema had one owner, invoices_validated met no id_map until a loader had created it."""
    small_export(tmp_path / "landing", customers=40)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BIGLEDGER_API_KEY": DEMO_API_KEY,
        "BATCH_ORCHESTRATION_HOME": str(tmp_path),
        "BATCH_ORCHESTRATION_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        "BATCH_ORCHESTRATION_LANDING_ROOT": str(tmp_path / "landing"),
        "BATCH_ORCHESTRATION_TARGET_BASE_URL": sandbox.url,
        "BATCH_ORCHESTRATION_TARGET_COMPANY_ID": DEMO_COMPANY,
        "BATCH_ORCHESTRATION_START_DATE": DAY_KEYS[0],
        "BATCH_ORCHESTRATION_MAX_REJECT_RATE": "0.5",
    }
    selection = ("customers_staged,customers_validated,items_staged,items_validated,invoices_staged,"
                 "invoice_line_items_staged,invoices_validated,invoice_line_items_validated")  # the last two: one step
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "batch_orchestration.definitions",
         "--select", selection, "--partition", DAY_KEYS[0]],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        events = instance.all_logs(run.run_id)
    assert run.is_success
    succeeded = {e.step_key for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"}
    assert {"customers_validation", "invoices_validation"} <= succeeded
    assert any("multiprocess executor" in e.user_message for e in events), "each step ran in its own process"

"""``migrate`` and ``sync`` (issue 13, "a command line for runs"): days through the same definitions and the
instance of ``$DAGSTER_HOME``, oldest first, with the summary, and an exit code a cron job can act on."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from batch_orchestration.cli import app
from batch_orchestration.orchestration.launch import day_that_ended
from batch_orchestration.orchestration.settings import ENV_PREFIX
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

HEADER = "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY"


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox: RunningSandbox, start: str) -> Path:
    """The settings a command reads, as a deployment sets them; the Dagster home it records its runs in."""
    home = tmp_path / "dagster_home"
    for name, value in {"WAREHOUSE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}", "HOME": str(tmp_path),
                        "LANDING_ROOT": str(tmp_path / "landing"), "TARGET_BASE_URL": sandbox.url,
                        "TARGET_COMPANY_ID": DEMO_COMPANY, "START_DATE": start,
                        "RATE_WINDOW_SECONDS": str(sandbox.config.window_seconds)}.items():
        monkeypatch.setenv(f"{ENV_PREFIX}{name}", value)
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _runs(home: Path) -> list[tuple[str, str | None, bool]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return sorted((run.job_name, run.tags.get("dagster/partition"), run.is_success) for run in instance.get_runs())


def _check_executions(home: Path, defs: dg.Definitions) -> dict[str, list[tuple[str, str | None]]]:
    """check -> its executions' (status, partition), newest first."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return {key.to_user_string(): [(r.status.value, r.partition) for r in
                                       instance.event_log_storage.get_asset_check_execution_history(key, limit=20)]
                for key in defs.resolve_asset_graph().asset_check_keys}


def test_migrate_runs_the_days_in_order_into_the_instance_and_again_sends_nothing(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = DAY_KEYS[:2]
    for n, day in enumerate((first, second)):
        write_export(tmp_path / "landing", day, {
            "customers": [HEADER, f"C{n},Customer {n},c{n}@example.com,MY"],
            "invoices": ["INV_NO,CUST_NO,INV_DATE,INV_TOTAL", f"I{n},C0,{day},10.00"],
            "invoice_line_items": ["INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_PRICE", f"I{n},1,,Widget,2,5.00"]})
    home = _environment(monkeypatch, tmp_path, sandbox, first)

    ran = CliRunner().invoke(app, ["migrate", "--from", first, "--to", second])
    again = CliRunner().invoke(app, ["migrate", "--from", first, "--to", second, "--entity", "invoice_line_items"])

    assert ran.exit_code == 0, ran.output
    # two customers, two invoices and their two lines
    assert f"migration_job for {first} to {second}" in ran.output and "records sent: 6;" in ran.output
    assert "customers" in ran.output and "invoices" in ran.output  # the summary's rows
    assert (home / "dagster.yaml").exists()  # the project's instance settings (its pools) in a new home
    # Each migrate runs a day as two runs: its staging and validation (the next day's while this one loads), then
    # its loads.
    assert _runs(home) == [("migration_job", day, True) for day in [first] * 4 + [second] * 4]
    # Each check ran once a run, for its day: not planned for the day and answered for none (issue 13).
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    executions = _check_executions(home, pipeline.defs)
    assert executions["customers_validated:reject_rate_under_threshold"] == [("SUCCEEDED", second),
                                                                            ("SUCCEEDED", first)]
    assert executions["invoices_loaded:target_holds_what_was_loaded"] == [("SUCCEEDED", day) for day in
                                                                           (second, first, second, first)]
    assert all(partition for runs in executions.values() for _, partition in runs)
    assert again.exit_code == 0 and "records sent: 0;" in again.output, again.output  # its unit only, nothing new
    assert "invoices" in again.output and "customers " not in again.output
    assert pipeline.mapped_keys("invoices") == {"I0", "I1"}


def test_sync_runs_the_day_that_ended_and_a_failure_is_an_exit_code(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    yesterday = (datetime.now(UTC).date() - timedelta(1)).isoformat()
    write_export(tmp_path / "landing", yesterday, {"customers": [HEADER, "C1,Acme,ap@acme.example,MY"]})
    home = _environment(monkeypatch, tmp_path, sandbox, (date.fromisoformat(yesterday) - timedelta(3)).isoformat())

    synced = CliRunner().invoke(app, ["sync", "--entity", "customers"])
    write_export(tmp_path / "landing", yesterday, {"customers": [HEADER, "C1,Acme Sdn Bhd,ap@acme.example,MY"]})
    monkeypatch.setenv("BIGLEDGER_API_KEY", "not-the-key")  # the update is refused
    refused = CliRunner().invoke(app, ["sync", "--entity", "customers"])

    assert synced.exit_code == 0, synced.output
    assert f"daily_sync_job for {yesterday}" in synced.output and "records sent: 1;" in synced.output
    assert refused.exit_code == 1 and f"day {yesterday} failed" in refused.output, refused.output
    assert "not-the-key" not in refused.output
    assert _runs(home) == [("daily_sync_job", yesterday, False), ("daily_sync_job", yesterday, True)]


def test_what_cannot_be_run_is_refused_before_anything_runs(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, tmp_path, sandbox, DAY_KEYS[0])
    today = datetime.now(UTC).date()
    today, tomorrow = today.isoformat(), (today + timedelta(1)).isoformat()
    cases = {("migrate", "--from", DAY_KEYS[1], "--to", DAY_KEYS[0]): "is before --from",
             ("migrate", "--from", "2024-02-28", "--to", DAY_KEYS[0]): "2024-02-28, 2024-02-29 not among",
             ("migrate", "--from", DAY_KEYS[0], "--to", tomorrow): f"{today}, {tomorrow} not among migration_job",
             ("migrate", "--from", DAY_KEYS[0], "--to", DAY_KEYS[0], "--entity", "widgets"): "unknown entity",
             ("migrate", "--from", "01/03/2024", "--to", DAY_KEYS[0]): "YYYY-MM-DD"}
    for args, says in cases.items():
        refused = CliRunner().invoke(app, list(args))
        assert refused.exit_code == 2 and says in refused.output, (args, refused.output)
    monkeypatch.delenv("DAGSTER_HOME")
    unset = CliRunner().invoke(app, ["sync"])
    assert unset.exit_code == 2 and "DAGSTER_HOME is not set" in unset.output
    assert not (tmp_path / "w.duckdb").exists()  # nothing ran


def test_the_day_that_ended_is_yesterday_in_the_partitions_timezone(tmp_path: Path, sandbox: RunningSandbox) -> None:
    settings = make_settings(tmp_path, sandbox, "duckdb:///unused", timezone="Asia/Kuala_Lumpur")
    late_evening_utc = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Kuala Lumpur
    assert day_that_ended(settings, late_evening_utc) == "2026-03-01"
    assert day_that_ended(make_settings(tmp_path, sandbox, "duckdb:///unused"), late_evening_utc) == "2026-02-28"


def test_dg_launch_runs_a_day_into_the_instance_and_leaves_ranges_to_backfills_and_migrate(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """``dg launch`` (Dagster's dg CLI, as the README gives it) runs one day; a range of days in one run is
    refused by Dagster before anything runs, as each asset is one day (docs/operations.md, "Backfills")."""
    write_export(tmp_path / "landing", DAY_KEYS[0], {"customers": [HEADER, "C1,Customer 1,c1@example.com,MY"]})
    home = _environment(monkeypatch, tmp_path, sandbox, DAY_KEYS[0])
    root = Path(__file__).parents[2]
    dg_cli = str(Path(sys.executable).parent / "dg")
    # One asset: each step is a process of its own there (the job's whole day is the same, minutes longer).
    one_day = subprocess.run([dg_cli, "launch", "--assets", "customers_staged", "--partition", DAY_KEYS[0]],
                             cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert one_day.returncode == 0, one_day.stderr[-2000:]
    a_range = subprocess.run([dg_cli, "launch", "--job", "migration_job", "--partition-range",
                              f"{DAY_KEYS[0]}...{DAY_KEYS[1]}"],
                             cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert a_range.returncode != 0 and "BackfillPolicy.single_run()" in a_range.stderr, a_range.stderr[-2000:]
    assert _runs(home) == [("__ASSET_JOB", DAY_KEYS[0], True)]

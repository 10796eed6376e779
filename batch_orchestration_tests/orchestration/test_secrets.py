"""The target's API key lives in the environment only: never in a repr, a log line, the event log or the warehouse."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from batch_orchestration.definitions import build_definitions
from batch_orchestration.orchestration.settings import Settings
from batch_orchestration.sandbox.config import DEMO_COMPANY
from batch_orchestration.targets.base import BatchLabel
from batch_orchestration.targets.bigledger import BigLedgerConnector, BigLedgerSettings
from batch_orchestration.targets.bigledger.resource import BigLedgerResource
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, small_export

INSTANCE_YAML = Path(__file__).parents[2] / "batch_orchestration" / "instance" / "dagster.yaml"
API_KEY = "bl-live-7Qz3-distinctive-api-key-9wXk"
# Every Dagster log line to stderr, so that capfd sees them all.
VERBOSE_LOGS = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
# The failing run fails once and stops (the step retry policy would only wait and fail again).
NO_RETRIES = {**VERBOSE_LOGS, "execution": {"config": {"in_process": {"retries": {"disabled": {}}}}}}

log = logging.getLogger("batch_orchestration.tests.secrets")

pytestmark = pytest.mark.slow


def migration_job_from_env() -> dg.JobDefinition:
    """The job as a deployed code location builds it: every setting from the environment."""
    return build_definitions(Settings.from_env()).resolve_job_def("migration_job")


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [path for path in sorted(root.rglob("*")) if path.is_file() and needle in path.read_bytes()]


def test_the_key_is_in_no_repr(tmp_path: Path) -> None:
    settings = BigLedgerSettings(base_url="http://127.0.0.1:1", company_id=DEMO_COMPANY, api_key=API_KEY,
                                 rate_state_path=tmp_path / "rate.sqlite")
    resource = BigLedgerResource(target_name="bigledger", base_url="http://127.0.0.1:1", company_id=DEMO_COMPANY,
                                 api_key=API_KEY, api_key_variable="BIGLEDGER_API_KEY")
    connector = BigLedgerConnector(settings)
    for value in (settings, resource, connector, connector.http):
        assert API_KEY not in repr(value) and API_KEY not in str(value), type(value).__name__


def test_a_run_and_a_failing_run_leave_the_key_nowhere(
    tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("BIGLEDGER_API_KEY", API_KEY)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(INSTANCE_YAML, dagster_home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    sandbox = sandbox_factory(companies={DEMO_COMPANY: API_KEY}, window_seconds=1.0)
    small_export(tmp_path / "landing", customers=40)
    warehouse_url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    good = Pipeline.build(make_settings(tmp_path, sandbox, warehouse_url), sandbox)
    # The same pipeline pointed at a path the target does not serve: the loads fail with an HTTP error.
    wrong_settings = make_settings(tmp_path, sandbox, warehouse_url, target_base_url=f"{sandbox.url}/nope")
    for name, value in (("HOME", tmp_path), ("WAREHOUSE_URL", warehouse_url), ("LANDING_ROOT", tmp_path / "landing"),
                        ("TARGET_BASE_URL", wrong_settings.target_base_url), ("RATE_WINDOW_SECONDS", 1.0),
                        ("START_DATE", DAY_KEYS[0]), ("MAX_REJECT_RATE", 0.5)):
        monkeypatch.setenv(f"BATCH_ORCHESTRATION_{name}", str(value))

    with dg.DagsterInstance.get() as instance:
        ran = good.defs.resolve_job_def("migration_job").execute_in_process(
            partition_key=DAY_KEYS[0], instance=instance, run_config=VERBOSE_LOGS)
        assert ran.success
        created = ran.asset_materializations_for_node("customers_load")[0].metadata["created"].value
        assert created > 0  # the key did authenticate
        with dg.execute_job(dg.reconstructable(migration_job_from_env), instance, run_config=NO_RETRIES,
                            tags={"dagster/partition": DAY_KEYS[1]}) as failed:
            assert not failed.success
        # An error handler that formats the resource the run used, as it was resolved from the environment.
        target = build_definitions(wrong_settings).resources["target_bigledger"]
        with dg.build_resources({"target": target}) as resources:
            try:
                resources.target.connector().send_batch("customers", [], BatchLabel("2024-01-01", 0))
            except Exception:
                log.exception("loading through %r (%s) failed", resources.target, resources.target)
        stored = [serialize_value(entry) for run_id in (ran.run_id, failed.run_id)
                  for entry in instance.all_logs(run_id)]
        stored += [serialize_value(instance.get_run_by_id(run_id)) for run_id in (ran.run_id, failed.run_id)]

    assert any(failed.run_id in text for text in stored)  # what is searched is the runs' record
    assert not [text for text in stored if API_KEY in text]
    # Event log and run storage (SQLite), compute logs, the warehouse, the rate-limit state, the landing zone.
    assert _files_holding(dagster_home, failed.run_id.encode()), "the search must reach the event log"
    assert list(dagster_home.glob(f"storage/{failed.run_id}/compute_logs/*.err")), "and the compute logs"
    assert _files_holding(tmp_path, API_KEY.encode()) == []
    out, err = capfd.readouterr()
    assert "RUN_FAILURE" in err or "STEP_FAILURE" in err  # the console logger wrote here
    assert API_KEY not in out and API_KEY not in err
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        assert API_KEY not in text, record.name


def test_a_warehouse_url_from_the_environment_reaches_its_resources_as_that_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The UI shows the variable, never the URL's password (the warehouse and the rate budget kept there)."""
    url = "postgresql://pipeline:pg-secret-8Tq@127.0.0.1:5432/test"
    monkeypatch.setenv("BATCH_ORCHESTRATION_HOME", str(tmp_path))
    monkeypatch.setenv("BATCH_ORCHESTRATION_WAREHOUSE_URL", url)
    monkeypatch.setenv("BATCH_ORCHESTRATION_LANDING_ROOT", str(tmp_path / "landing"))
    monkeypatch.delenv("BATCH_ORCHESTRATION_S3_BUCKET", raising=False)
    resources = build_definitions(Settings.from_env()).resources
    variable = dg.EnvVar("BATCH_ORCHESTRATION_WAREHOUSE_URL")
    for value in (resources["warehouse"].url, resources["target_bigledger"].rate_state_database):
        assert isinstance(value, dg.EnvVar) and value == variable
    assert isinstance(resources["landing"].root, dg.EnvVar)
    assert resources["landing"].s3_bucket == "" and not isinstance(resources["landing"].s3_bucket, dg.EnvVar)
    assert "pg-secret-8Tq" not in repr(resources)

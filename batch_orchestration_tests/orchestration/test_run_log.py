"""The project's standard-library log lines reach the run's event log (what the UI's run log shows)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.orchestration.runner import QUIET_LOGS
from batch_orchestration.sandbox.config import FaultConfig
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, small_export

INSTANCE_DIR = Path(__file__).parents[2] / "batch_orchestration" / "instance"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("instance_yaml", [
    "dagster.yaml",
    pytest.param("dagster.postgres.yaml", marks=pytest.mark.postgres),
])
def test_an_ambiguous_batch_and_its_lookup_are_in_the_run_log(
    instance_yaml: str, tmp_path: Path, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")
    if instance_yaml == "dagster.postgres.yaml":
        monkeypatch.setenv("DAGSTER_PG_URL", request.getfixturevalue("postgres_url"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_DIR / instance_yaml, home / "dagster.yaml")
    # Lost responses: the batch was applied but its answer never arrives, so the loader looks it up.
    sandbox = sandbox_factory(faults=FaultConfig(p_lost=0.3), fault_seed=3, window_seconds=1.0)
    small_export(tmp_path / "landing", customers=60)
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = pipeline.defs.resolve_job_def("migration_job").execute_in_process(
            partition_key=DAY_KEYS[0], instance=instance, run_config=QUIET_LOGS)
        ambiguous = sum(int(event.materialization.metadata["ambiguous_batches"].value)
                        for event in result.get_asset_materialization_events()
                        if "ambiguous_batches" in event.materialization.metadata)
        assert ambiguous > 0, "the lost responses must have hit a batch for this test to mean anything"
        entries = instance.all_logs(result.run_id)

    warnings = [entry.user_message for entry in entries
                if entry.dagster_event is None and entry.level == logging.WARNING]
    lookups = [message for message in warnings if "looking the records up" in message]
    assert len(lookups) == ambiguous, warnings

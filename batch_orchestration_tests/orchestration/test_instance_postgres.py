"""The PostgreSQL Dagster instance (dagster.postgres.yaml) runs a partitioned materialization."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.orchestration.runner import run_days
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, small_export

INSTANCE_YAML = Path(__file__).parents[2] / "batch_orchestration" / "instance" / "dagster.postgres.yaml"

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_partitioned_run_on_the_postgres_instance(tmp_path: Path, sandbox, postgres_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    small_export(tmp_path / "landing", customers=60)
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        results = run_days(pipeline.defs, DAY_KEYS[:1], instance)
        run_id = instance.get_runs(limit=1)[0].run_id
    assert results[0].success

    with dg.DagsterInstance.from_config(str(home)) as reopened:  # what was recorded is in PostgreSQL
        run = reopened.get_run_by_id(run_id)
        assert run is not None and run.is_success
        assert run.tags["dagster/partition"] == DAY_KEYS[0]
        event = reopened.get_latest_materialization_event(dg.AssetKey("customers_loaded"))
        assert event is not None and event.dagster_event.partition == DAY_KEYS[0]

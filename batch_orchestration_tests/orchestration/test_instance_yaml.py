"""Both instance files load, and their settings mean what their comments say."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.definitions import build_definitions
from batch_orchestration.orchestration.settings import Settings

INSTANCE_DIR = Path(__file__).parents[2] / "batch_orchestration" / "instance"


def test_the_target_pool_is_the_only_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default routing has one target, so its loads have one pool, which ``pools.default_limit`` limits."""
    monkeypatch.setenv("BATCH_ORCHESTRATION_HOME", str(tmp_path))
    defs = build_definitions(Settings.from_env())
    pools = {ad.op.pool for ad in defs.resolve_asset_graph().assets_defs if ad.is_executable} - {None}
    assert pools == {"bigledger_api"}


@pytest.mark.parametrize("instance_yaml", [
    "dagster.yaml",
    pytest.param("dagster.postgres.yaml", marks=pytest.mark.postgres),
])
def test_the_instance_limits_pools_retries_runs_and_captures_the_project_loggers(
    instance_yaml: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if instance_yaml == "dagster.postgres.yaml":
        monkeypatch.setenv("DAGSTER_PG_URL", request.getfixturevalue("postgres_url"))
    shutil.copyfile(INSTANCE_DIR / instance_yaml, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.global_op_concurrency_default_limit == 1
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert instance.run_retries_retry_on_asset_or_op_failure is False  # a crashed run only
        assert instance.managed_python_loggers == ["batch_orchestration"]
        assert instance.python_log_level == "INFO"

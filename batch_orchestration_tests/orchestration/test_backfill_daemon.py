"""Backfills launched as the UI launches them, run by the daemon, apply the days in order.

``batch-orchestration ui`` (what ``make ui`` runs) starts the sandbox beside ``dagster dev``; each test
asks its webserver for a backfill over the export's three days (of ``migration_job``, or of assets from
the graph) and reads from the event log when each day's validation and load ran.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
import yaml

from batch_orchestration.entities.registry import get_entity, members, units
from batch_orchestration.orchestration.settings import ENV_PREFIX
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.targets.bigledger.bindings import BINDINGS as BIGLEDGER_BINDINGS
from batch_orchestration_tests.orchestration.daemon import (
    DagsterDev,
    assert_days_in_order,
    dagster_dev,
    free_port,
    step_spans,
    target_matches_id_map,
)
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, small_export

pytestmark = [pytest.mark.slow, pytest.mark.daemon, pytest.mark.timeout(1200)]

# The units BigLedger takes (the demo's routing): each has a validation step and a load step per day.
LOADED_UNITS = [root.name for root in units() if root.name in BIGLEDGER_BINDINGS]
# One unit: the daemon advances a self-dependent asset one day per tick (30 s), so each unit more costs minutes.
ASSET_BACKFILL_UNITS = ("customers",)


def _steps(units: tuple[str, ...] | list[str]) -> list[str]:
    return [f"{unit}_{stage}" for unit in units for stage in ("validation", "load")]


@contextmanager
def demo_ui(tmp_path: Path) -> Iterator[DagsterDev]:
    """``batch-orchestration ui`` on a small export: the sandbox and ``dagster dev`` as ``make ui`` starts them."""
    summary = small_export(tmp_path / "landing", customers=40)
    (tmp_path / "export_summary.json").write_text(summary.to_json(), encoding="utf-8")
    port = free_port()
    env = {**os.environ, f"{ENV_PREFIX}EXECUTOR": "in_process", f"{ENV_PREFIX}MAX_REJECT_RATE": "0.5"}
    command = [str(Path(sys.executable).parent / "batch-orchestration"), "ui", "--dir", str(tmp_path),
               "--port", str(port)]
    with dagster_dev(command, env, port, tmp_path / "ui.log") as dev:
        yield dev


def test_a_job_backfill_from_the_ui_applies_the_days_in_order_and_loads_each_record_once(tmp_path: Path) -> None:
    with demo_ui(tmp_path) as dev:
        assert dev.partition_keys("migration_job") == DAY_KEYS, "the UI opens on the export's days, no others"
        # The UI shows which variable feeds which setting (and no URL or key).
        assert dev.resource_config("warehouse")["url"] == ("ENV_VAR", f"{ENV_PREFIX}WAREHOUSE_URL")
        assert dev.resource_config("landing")["root"] == ("ENV_VAR", f"{ENV_PREFIX}LANDING_ROOT")
        assert dev.resource_config("target_bigledger")["api_key"] == ("ENV_VAR", "BIGLEDGER_API_KEY")
        sandbox_url = yaml.safe_load((tmp_path / "routing_bigledger.yaml").read_text())["targets"]["bigledger"][
            "base_url"]
        with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
            backfill = dev.launch_backfill(DAY_KEYS, job="migration_job")
            runs = dev.wait_for_backfill(instance, backfill, runs=len(DAY_KEYS))
            assert [(r.tags["dagster/partition"], r.status) for r in runs] == [
                (day, dg.DagsterRunStatus.SUCCESS) for day in DAY_KEYS], dev.tail()
            assert_days_in_order(step_spans(instance, runs), _steps(LOADED_UNITS), DAY_KEYS)
        loaded = target_matches_id_map(sandbox_url, DEMO_COMPANY, DEMO_API_KEY,
                                       f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
        assert loaded["customers"] > 30 and loaded["invoices"] > 60, loaded


def test_an_asset_backfill_from_the_graph_validates_and_loads_each_day_after_the_day_before(tmp_path: Path) -> None:
    assets = [f"{m.name}_{stage}" for unit in ASSET_BACKFILL_UNITS for m in members(get_entity(unit))
              for stage in ("staged", "validated", "loaded")]
    with demo_ui(tmp_path) as dev, dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        # "All partitions": the export's days (LAST_DAY), as an operator picks them from the graph.
        backfill = dev.launch_backfill(None, assets=assets)
        runs = dev.wait_for_backfill(instance, backfill)
        assert dev.backfill_status(backfill) == "COMPLETED_SUCCESS", dev.tail()
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert_days_in_order(step_spans(instance, runs), _steps(ASSET_BACKFILL_UNITS), DAY_KEYS)

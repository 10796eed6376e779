"""A distributed engine, for real: a 2-day backfill whose steps run on two Celery workers.

Redis is the broker and results backend, the Dagster instance and the warehouse are in PostgreSQL (so the
target's rate budget is one budget in PostgreSQL, whichever worker sends), ``dagster dev`` serves the
webserver and the daemon, and the backfill is launched as the UI launches it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import dagster as dg
import pytest
import requests

from batch_orchestration.entities.registry import get_entity, members
from batch_orchestration.orchestration.executors import CELERY_BACKEND_VARIABLE, CELERY_BROKER_VARIABLE
from batch_orchestration.orchestration.settings import ENV_PREFIX
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration_tests.conftest import fresh_postgres_schema
from batch_orchestration_tests.orchestration.daemon import (
    assert_days_in_order,
    dagster_dev,
    free_port,
    step_spans,
    target_matches_id_map,
)
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, DAYS, small_export

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.daemon, pytest.mark.timeout(1200)]

PACKAGE = Path(__file__).parents[2] / "batch_orchestration"
WORKERS = ("worker-a", "worker-b")
BACKFILL_DAYS = DAY_KEYS[:2]
UNITS = ("customers", "items", "invoices")  # invoices with their lines, which name customers and items


@contextmanager
def celery_workers(env: dict[str, str], log_dir: Path) -> Iterator[None]:
    """Two workers (one task at a time each) on the broker, started as docs/operations.md says."""
    with ExitStack() as stack:
        for name in WORKERS:
            log = stack.enter_context((log_dir / f"{name}.log").open("w", encoding="utf-8"))
            worker = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                 "-y", str(PACKAGE / "instance" / "celery.yaml"), "-n", name, "--", "--concurrency=1"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            stack.callback(_kill_session, worker)  # the worker command and the Celery worker it started
        yield


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def test_a_backfill_on_two_celery_workers_loads_exactly_once_in_day_order(
        tmp_path: Path, sandbox, postgres_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    small_export(tmp_path / "landing", days=DAYS[:2], customers=40)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PACKAGE / "instance" / "dagster.postgres.yaml", home / "dagster.yaml")
    port = free_port()
    with fresh_postgres_schema(postgres_url) as instance_url, fresh_postgres_schema(postgres_url) as warehouse_url:
        monkeypatch.setenv("DAGSTER_PG_URL", instance_url)  # this process reads the instance too
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the worker runs `celery`
            "DAGSTER_HOME": str(home),
            "BIGLEDGER_API_KEY": DEMO_API_KEY,
            f"{ENV_PREFIX}HOME": str(tmp_path),
            f"{ENV_PREFIX}WAREHOUSE_URL": warehouse_url,
            f"{ENV_PREFIX}LANDING_ROOT": str(tmp_path / "landing"),
            f"{ENV_PREFIX}TARGET_BASE_URL": sandbox.url,
            f"{ENV_PREFIX}TARGET_COMPANY_ID": DEMO_COMPANY,
            f"{ENV_PREFIX}RATE_WINDOW_SECONDS": str(sandbox.config.window_seconds),
            f"{ENV_PREFIX}START_DATE": BACKFILL_DAYS[0],
            f"{ENV_PREFIX}LAST_DAY": BACKFILL_DAYS[-1],
            f"{ENV_PREFIX}MAX_REJECT_RATE": "0.5",
            f"{ENV_PREFIX}EXECUTOR": "celery",
            CELERY_BROKER_VARIABLE: redis_url,
            CELERY_BACKEND_VARIABLE: redis_url,
        }
        command = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(PACKAGE.parent / "workspace.yaml"),
                   "--host", "127.0.0.1", "--port", str(port)]
        with dg.DagsterInstance.from_config(str(home)):
            pass  # the instance's tables, made once before the processes that share them start together
        with celery_workers(env, tmp_path), dagster_dev(command, env, port, tmp_path / "dev.log") as dev:
            # The job's backfill of three units, as the job page launches it for a selection of its assets.
            backfill = dev.launch_backfill(BACKFILL_DAYS, job="migration_job", assets=[
                f"{m.name}_{stage}" for unit in UNITS for m in members(get_entity(unit))
                for stage in ("staged", "validated", "loaded")])
            with dg.DagsterInstance.from_config(str(home)) as instance:
                runs = dev.wait_for_backfill(instance, backfill, runs=len(BACKFILL_DAYS), timeout=600)
                assert [(r.tags["dagster/partition"], r.status) for r in runs] == [
                    (day, dg.DagsterRunStatus.SUCCESS) for day in BACKFILL_DAYS], dev.tail()
                steps = [f"{unit}_{stage}" for unit in UNITS for stage in ("validation", "load")]
                assert_days_in_order(step_spans(instance, runs), steps, BACKFILL_DAYS)
                workers = {record.dagster_event.engine_event_data.metadata["Celery worker"].value
                           for run in runs for record in instance.all_logs(run.run_id)
                           if record.dagster_event and record.dagster_event.is_engine_event
                           and "Celery worker" in record.dagster_event.engine_event_data.metadata}
            assert {name.split("@")[0] for name in workers} == set(WORKERS), workers

        loaded = target_matches_id_map(sandbox.url, DEMO_COMPANY, DEMO_API_KEY, warehouse_url)
        assert loaded["customers"] > 30 and loaded["items"] > 0 and loaded["invoices"] > 40, loaded
        statuses = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/responses",
                                headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=10).json()["statuses"]
        assert statuses.get("200", 0) > 0 and statuses.get("429", 0) == 0, statuses

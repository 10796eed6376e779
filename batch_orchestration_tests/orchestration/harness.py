"""Building a real pipeline for tests: a generated export, the sandbox, a warehouse, Definitions."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import requests
import yaml

from batch_orchestration.definitions import build_definitions
from batch_orchestration.demo.generate import generate_export
from batch_orchestration.demo.routing import demo_routing, key_variable
from batch_orchestration.demo.summary import GenerationSummary
from batch_orchestration.entities.registry import members, units
from batch_orchestration.orchestration.settings import ENV_PREFIX, Settings
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets import kill_points
from batch_orchestration.targets.bigledger import BigLedgerConnector, BigLedgerSettings
from batch_orchestration.targets.bigledger.bindings import BINDINGS as BIGLEDGER_BINDINGS
from batch_orchestration.targets.systems import SharedState
from batch_orchestration.warehouse import open_warehouse

DAYS = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
DAY_KEYS = [d.isoformat() for d in DAYS]
# What the default routing loads (into BigLedger): the units it takes, with their parts. The others
# (purchase orders, item receipts) are validated and loaded nowhere.
BIGLEDGER_ENTITIES = tuple(member.name for root in units() if root.name in BIGLEDGER_BINDINGS
                           for member in members(root))


def make_settings(home: Path, sandbox: RunningSandbox, warehouse_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "warehouse_url": warehouse_url,
        "landing_kind": "local",
        "landing_root": str(home / "landing"),
        "s3_bucket": "",
        "s3_prefix": "",
        "s3_endpoint_url": None,
        "s3_region": "us-east-1",
        "target_base_url": sandbox.url,
        "target_company_id": DEMO_COMPANY,
        "rate_window_seconds": sandbox.config.window_seconds,
        "start_date": DAY_KEYS[0],
        "timezone": "UTC",
        "max_reject_rate": 0.5,
    }
    values.update(overrides)
    return Settings(**values)


# Every entity, large enough that each day's reject rate stays under make_settings' threshold.
SMALL_SIZES = {"suppliers": 20, "bills": 60, "journal_entries": 45, "stock_adjustments": 30, "payments": 60,
               "purchase_orders": 40, "item_receipts": 40, "new_items_per_day": 6, "payables": 40}


def small_export(root: Path, days: list[date] = DAYS, customers: int = 120) -> GenerationSummary:
    return generate_export(root, days=days, customers=customers, invoices_per_customer=2.0,
                           lines_per_invoice=(1, 3), bad_fraction=0.05, seed=11, sizes=SMALL_SIZES)


@dataclass
class Pipeline:
    settings: Settings
    defs: dg.Definitions
    sandbox: RunningSandbox

    @classmethod
    def build(cls, settings: Settings, sandbox: RunningSandbox) -> Pipeline:
        return cls(settings, build_definitions(settings), sandbox)

    def connector(self) -> BigLedgerConnector:
        """A connector drawing from the pipeline's own rate budget (its file, or its PostgreSQL warehouse)."""
        state = SharedState.of(self.settings.home, self.settings.warehouse_url)
        return BigLedgerConnector(BigLedgerSettings(
            base_url=self.sandbox.url, company_id=DEMO_COMPANY, api_key=DEMO_API_KEY,
            rate_window_seconds=self.sandbox.config.window_seconds,
            rate_state_path=state.folder / "rate_limits_bigledger.sqlite", rate_state_database=state.database_url))

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with open_warehouse(self.settings.warehouse_url).session() as session:
            return session.fetch_all(sql, params)

    def target_counts(self) -> dict[str, int]:
        answer = requests.get(f"{self.sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/counts",
                              headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=10)
        answer.raise_for_status()
        return answer.json()["counts"]

    def reference_ids_in_target(self, entity: str) -> Counter[str]:
        connector = self.connector()
        return Counter(record.get("referenceId") for record in connector.read_all(connector.binding(entity)))

    def mapped_keys(self, entity: str) -> set[str]:
        return {key for (key,) in self.query("SELECT source_key FROM id_map WHERE entity = ?", (entity,))}

    def rejected_keys(self, entity: str) -> set[str]:
        rows = self.query("SELECT DISTINCT source_key FROM rejects WHERE entity = ? AND source_key IS NOT NULL",
                          (entity,))
        return {key for (key,) in rows}


def loaded_metadata(result_metadata: dict[str, dict[str, Any]], entity: str) -> dict[str, Any]:
    return result_metadata.get(f"{entity}_loaded", {})


# -- hand-written exports and checked runs (test_entities_e2e*.py) ---------------------------------


def write_export(landing: Path, day: str, files: dict[str, list[str]]) -> None:
    """``files`` is entity -> CSV lines (header first, legacy column names): one export file per entity."""
    for entity, lines in files.items():
        folder = landing / entity / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- routed pipelines and killed runs (test_ebill_e2e.py, test_batch_import_e2e.py, test_payables_e2e.py) --


def routed_pipeline(system: str, tmp_path: Path, sandbox: RunningSandbox, monkeypatch: Any,
                    options: dict[str, Any] | None = None) -> Pipeline:
    """The demo's routing for ``system`` (every unit it takes, the rest nowhere; the demo's options for
    the target unless ``options`` are given), its key set."""
    monkeypatch.setenv(key_variable(system), DEMO_API_KEY)
    routing = tmp_path / "routing.yaml"
    routing.write_text(yaml.safe_dump(demo_routing(system, sandbox.url, DEMO_COMPANY, 1.0, options)),
                       encoding="utf-8")
    settings = make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}", routing_path=str(routing),
                             max_reject_rate=1.0)
    return Pipeline.build(settings, sandbox)


_RUN_A_DAY = """
import sys
import dagster as dg
from batch_orchestration.definitions import build_definitions
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.orchestration.settings import Settings

with dg.DagsterInstance.ephemeral() as instance:
    run_days(build_definitions(Settings.from_env()), [sys.argv[1]], instance)
"""


def run_day_killed_at(settings: Settings, day: str, point: str) -> subprocess.CompletedProcess[str]:
    """Run the day's job in a process of its own that SIGKILLs itself at ``point`` (targets/kill_points.py)."""
    env = {**os.environ, f"{ENV_PREFIX}HOME": str(settings.home), f"{ENV_PREFIX}WAREHOUSE_URL": settings.warehouse_url,
           f"{ENV_PREFIX}LANDING_ROOT": settings.landing_root, f"{ENV_PREFIX}ROUTING": settings.routing_path,
           f"{ENV_PREFIX}START_DATE": settings.start_date, f"{ENV_PREFIX}MAX_REJECT_RATE": "1.0",
           kill_points.VARIABLE: point}
    return subprocess.run([sys.executable, "-c", _RUN_A_DAY, day], timeout=120, capture_output=True, text=True,
                          env=env)

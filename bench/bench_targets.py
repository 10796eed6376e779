"""Benchmark loading the same validated export through BigLedger batches and through eBill files.

One generated day (customers, invoices and their lines) is staged and validated once, through Dagster,
with a routing that loads nothing. Then each run loads it into a fresh sandbox, under the target's
documented limits (BigLedger: 10 batches a minute, 5 above 100 records; eBill has no rate limit),
timing the loader alone (``Loader.load_unit`` of customers, then of invoices with their lines; BigLedger
first loads the items its invoice lines name, one batch). Records per second count the customers,
invoices and lines both targets hold. Each run loads under a target name of its own, so the ID map
starts empty every time. See README.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg
import yaml

from batch_orchestration.definitions import build_definitions
from batch_orchestration.demo.generate import generate_export
from batch_orchestration.entities.registry import ENTITIES, units
from batch_orchestration.load.loader import Loader
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.orchestration.settings import Settings
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import start_in_thread
from batch_orchestration.targets.base import Connector
from batch_orchestration.targets.bigledger import BigLedgerConnector, BigLedgerSettings
from batch_orchestration.targets.ebill.connector import EbillConnector, EbillSettings
from batch_orchestration.warehouse import open_warehouse

DAY = date(2024, 3, 1)
COMPARED = ("customers", "invoices", "invoice_line_items")
LOADED = {"bigledger": ("items", "customers", "invoices"), "ebill": ("customers", "invoices")}

ConnectorFactory = Callable[[str, str, Path, float], Connector]  # (url, target name, state folder, window)


def bigledger(url: str, name: str, state: Path, window: float) -> Connector:
    return BigLedgerConnector(BigLedgerSettings(base_url=url, company_id=DEMO_COMPANY, api_key=DEMO_API_KEY,
                                                target_name=name, rate_window_seconds=window,
                                                rate_state_path=state / f"{name}.sqlite"))


def ebill(url: str, name: str, state: Path, window: float) -> Connector:
    return EbillConnector(EbillSettings(base_url=url, company_id=DEMO_COMPANY, api_key=DEMO_API_KEY,
                                        target_name=name, journal_path=state / f"{name}.sqlite"))


TARGETS: dict[str, ConnectorFactory] = {"bigledger": bigledger, "ebill": ebill}


def stage_and_validate(work: Path, customers: int, invoices_per_customer: float) -> Settings:
    """The export's one day, staged and validated into a DuckDB warehouse; nothing loaded."""
    generate_export(work / "landing", days=[DAY], customers=customers, invoices_per_customer=invoices_per_customer,
                    lines_per_invoice=(1, 5), seed=7, bad_fraction=0.0)
    routing = work / "routing.yaml"  # a target, and no unit routed to it
    routing.write_text(yaml.safe_dump({
        "targets": {"unused": {"system": "bigledger", "base_url": "http://127.0.0.1:1", "company_id": DEMO_COMPANY,
                               "api_key_env": "UNUSED_KEY"}},
        "entities": {root.name: None for root in units()}}), encoding="utf-8")
    settings = Settings(home=work, warehouse_url=f"duckdb:///{work / 'w.duckdb'}", landing_kind="local",
                        landing_root=str(work / "landing"), s3_bucket="", s3_prefix="", s3_endpoint_url=None,
                        s3_region="us-east-1", target_base_url="http://127.0.0.1:1", target_company_id=DEMO_COMPANY,
                        rate_window_seconds=60.0, start_date=DAY.isoformat(), timezone="UTC", max_reject_rate=1.0,
                        routing_path=str(routing))
    with dg.DagsterInstance.ephemeral() as instance:
        (result,) = run_days(build_definitions(settings), [DAY.isoformat()], instance)
    if not result.success:
        raise SystemExit("staging and validation of the benchmark's export failed")
    return settings


def load_once(settings: Settings, target: str, run: int, window: float) -> tuple[float, int]:
    """Seconds to load the day into a fresh sandbox, and the records loaded (lines included)."""
    sandbox = start_in_thread(SandboxConfig(window_seconds=window))
    try:
        connector = TARGETS[target](sandbox.url, f"{target}_{run}", settings.home, window)
        loader = Loader(open_warehouse(settings.warehouse_url), connector)
        started = time.monotonic()
        reports = [report for root in LOADED[target]
                   for report in loader.load_unit(ENTITIES[root], DAY.isoformat()).values()]
        seconds = time.monotonic() - started
    finally:
        sandbox.stop()
    if any(report.rejected for report in reports):
        raise SystemExit(f"{target}: the target rejected records of a valid export")
    return seconds, sum(report.created for report in reports if report.entity in COMPARED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--invoices-per-customer", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--window", type=float, default=60.0, help="the rate-limit minute (60 s: as documented)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_targets_") as folder:
        settings = stage_and_validate(Path(folder), args.customers, args.invoices_per_customer)
        print(f"window {args.window:g} s; {args.repeat} runs per target")
        print("{:<10} {:>8} {:>9} {:>7} {:>7} {:>12} {:>12}".format(
            "target", "records", "median s", "min s", "max s", "records/s", "x bigledger"))
        baseline = None
        for target in TARGETS:
            runs = [load_once(settings, target, run, args.window) for run in range(args.repeat)]
            times = [seconds for seconds, _ in runs]
            records = runs[0][1]
            median = statistics.median(times)
            baseline = baseline or records / median
            print(f"{target:<10} {records:>8} {median:>9.2f} {min(times):>7.2f} {max(times):>7.2f} "
                  f"{records / median:>12.1f} {records / median / baseline:>12.2f}")


if __name__ == "__main__":
    main()

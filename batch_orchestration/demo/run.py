"""The demo: a realistic legacy export through the whole pipeline into the sandbox, then a summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import requests
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from batch_orchestration.demo.generate import generate_export
from batch_orchestration.demo.routing import INSPECTED, demo_routing, key_variable
from batch_orchestration.demo.summary import GenerationSummary
from batch_orchestration.demo.target_seed import seed_collaborators, seed_target, target_record_counts
from batch_orchestration.entities.registry import members, units
from batch_orchestration.load.reconcile import CHECK_NAME as RECONCILIATION_CHECK
from batch_orchestration.load.reconcile import shown
from batch_orchestration.orchestration.runner import DayResult, ensure_instance_yaml, run_days
from batch_orchestration.orchestration.settings import ENV_PREFIX, Settings
from batch_orchestration.orchestration.summary import print_summary, records_sent
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import RunningSandbox, start_in_thread
from batch_orchestration.targets.routing import load_routing
from batch_orchestration.warehouse import open_warehouse

DEMO_START = date(2024, 3, 1)


@dataclass(frozen=True)
class DemoOptions:
    directory: Path
    days: int = 3
    customers: int = 3000
    invoices_per_customer: float = 6.67
    window_seconds: float = 1.0
    seed: int = 7
    target: str = "bigledger"  # the system every unit it takes is routed to (targets/systems.py)
    # The other entities: a few thousand records in all beside the customers and invoices.
    suppliers: int = 150
    bills: int = 600
    journal_entries: int = 300
    stock_adjustments: int = 300
    payments: int = 750
    purchase_orders: int = 300
    item_receipts: int = 300
    new_items_per_day: int = 10
    payables: int = 600

    @property
    def sizes(self) -> dict[str, int]:
        return {"suppliers": self.suppliers, "bills": self.bills, "purchase_orders": self.purchase_orders,
                "item_receipts": self.item_receipts, "journal_entries": self.journal_entries,
                "stock_adjustments": self.stock_adjustments, "payments": self.payments,
                "new_items_per_day": self.new_items_per_day, "payables": self.payables}


def _configure_environment(options: DemoOptions, sandbox_url: str, days: list[str]) -> None:
    home = options.directory.resolve()
    routing = home / f"routing_{options.target}.yaml"
    routing.write_text(yaml.safe_dump(demo_routing(options.target, sandbox_url, DEMO_COMPANY,
                                                   options.window_seconds)), encoding="utf-8")
    os.environ.update(
        {
            "DAGSTER_HOME": str(home / "dagster_home"),
            key_variable(options.target): DEMO_API_KEY,
            f"{ENV_PREFIX}ROUTING": str(routing),
            f"{ENV_PREFIX}HOME": str(home),
            f"{ENV_PREFIX}WAREHOUSE_URL": f"duckdb:///{home / 'warehouse.duckdb'}",
            f"{ENV_PREFIX}LANDING_ROOT": str(home / "landing"),
            f"{ENV_PREFIX}TARGET_BASE_URL": sandbox_url,
            f"{ENV_PREFIX}TARGET_COMPANY_ID": DEMO_COMPANY,
            f"{ENV_PREFIX}RATE_WINDOW_SECONDS": str(options.window_seconds),
            f"{ENV_PREFIX}START_DATE": days[0],  # the partitions are the export's days, no more
            f"{ENV_PREFIX}LAST_DAY": days[-1],
        }
    )
    ensure_instance_yaml(home / "dagster_home")


def _inspection_counts(url: str) -> dict[str, int]:
    answer = requests.get(f"{url}/_sandbox/companies/{DEMO_COMPANY}/counts",
                          headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=30)
    answer.raise_for_status()
    return answer.json()["counts"]


def _loaded_counts(warehouse_url: str, target: str) -> dict[str, int]:
    """entity -> records the pipeline holds as loaded into ``target``: the target ids its ID map holds
    (each record's own, but one payable for all the source rows a Merge put in it)."""
    with open_warehouse(warehouse_url).session() as session:
        rows = session.fetch_all("SELECT entity, COUNT(DISTINCT target_id) FROM id_map WHERE target = ? "
                                 "GROUP BY entity", (target,))
    return {entity: int(n) for entity, n in rows}


def check_target_counts(console: Console, url: str, settings: Settings, pre_existing: dict[str, int]) -> bool:
    """Compare what the sandbox holds per entity with what the pipeline loaded plus what it held before."""
    routing = load_routing(settings.routing_path)
    held = _inspection_counts(url)
    console.print("target counts (sandbox inspection) against the pipeline's ID map:")
    ok = True
    for root in units():
        route = routing.route(root.name)
        if route is None:  # validated, loaded nowhere
            continue
        inspected = INSPECTED[route.config.system]
        loaded = _loaded_counts(settings.warehouse_url, route.target)
        ok &= _compare(console, [(m.name, inspected[m.name]) for m in members(root) if m.name in inspected],
                       held, loaded, pre_existing)
    return ok


def _compare(console: Console, entities: list[tuple[str, str]], held: dict[str, int], loaded: dict[str, int],
             pre_existing: dict[str, int]) -> bool:
    ok = True
    for entity, name in entities:
        expected = loaded.get(entity, 0) + pre_existing.get(name, 0)
        before = f" + {pre_existing[name]} held before the migration" if pre_existing.get(name) else ""
        match = held.get(name, 0) == expected
        ok &= match
        mark = "ok" if match else "[red]MISMATCH[/red]"
        console.print(f"  {name}: target holds {held.get(name, 0)}; loaded {loaded.get(entity, 0)}{before}: {mark}")
    return ok


def print_reconciliation(console: Console, results: list[DayResult]) -> bool:
    """Each unit's reconciliation over the days (the asset check read the target back after each load)."""
    sums: dict[str, Counter[str]] = {}
    amounts: dict[str, dict[str, list[Decimal]]] = {}
    held: dict[str, tuple[int, int]] = {}
    passed: dict[str, bool] = {}  # the check's own verdict, every day
    for result in results:
        for (asset, check), values in result.check_metadata.items():
            if check != RECONCILIATION_CHECK:
                continue
            unit = asset.removesuffix("_loaded")
            passed[unit] = passed.get(unit, True) and result.checks[(asset, check)]
            sums.setdefault(unit, Counter()).update({k: int(values[k]) for k in ("loaded", "found", "mismatches",
                                                                                 "requests")})
            held[unit] = (int(values["held_by_pipeline"]), int(values["mapped"]))  # the last day's: all days
            for name, value in values.items():
                if name.startswith("amount/"):
                    _, amount, side = name.split("/")
                    pair = amounts.setdefault(unit, {}).setdefault(amount, [Decimal(0), Decimal(0)])
                    pair[0 if side == "loaded" else 1] += Decimal(value)
    if sums:
        console.print("reconciliation (the target read back after each day's load):")
    for unit, counted in sums.items():
        money = "".join(f"; {name} loaded {shown(pair[0])}, found {shown(pair[1])}"
                        for name, pair in amounts.get(unit, {}).items())
        mark = "ok" if passed[unit] else "[red]MISMATCH[/red]"
        console.print(f"  {unit}: {counted['found']} of {counted['loaded']} read back as loaded{money}; the target "
                      f"holds {held[unit][0]} of the pipeline's, the ID map {held[unit][1]}; "
                      f"{counted['requests']} requests: {mark}")
    return all(passed.values())


def demo_days(options: DemoOptions) -> list[date]:
    return [date.fromordinal(DEMO_START.toordinal() + i) for i in range(options.days)]


def generate_demo_export(options: DemoOptions, landing: Path) -> GenerationSummary:
    """The demo's legacy export, as ``options`` size it."""
    return generate_export(landing, days=demo_days(options), customers=options.customers,
                           invoices_per_customer=options.invoices_per_customer, lines_per_invoice=(1, 5),
                           seed=options.seed, sizes=options.sizes)


@dataclass(frozen=True)
class DemoEnvironment:
    """The demo's export and sandbox, served, with the environment the definitions read set for them."""

    sandbox: RunningSandbox
    generated: dict  # what the generator wrote of the export (its summary file)
    pre_existing: dict[str, int]  # records the target held before the migration, per inspected name
    labels: list[str]  # the export's days


def _prepare_export(options: DemoOptions, console: Console) -> tuple[GenerationSummary | None, dict]:
    """Generate the export once; return the fresh summary (None when reused) and the summary file's content."""
    landing = options.directory / "landing"
    summary_path = options.directory / "export_summary.json"
    summary: GenerationSummary | None = None
    if not landing.exists():
        with console.status("generating the legacy export..."):
            summary = generate_demo_export(options, landing)
        summary_path.write_text(summary.to_json(), encoding="utf-8")
        console.print(f"generated {summary.totals} in {landing}; what it holds: {summary_path}")
    else:
        console.print(f"reusing the export in {landing} (delete the folder for a fresh one)")
    return summary, json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}


@contextmanager
def demo_environment(options: DemoOptions, console: Console) -> Iterator[DemoEnvironment]:
    """Generate (once), serve the sandbox holding what the target held before the migration, and set the
    environment (``DAGSTER_HOME``, the key, the routing, the partitions' first and last day) for the demo's
    folder."""
    summary, generated = _prepare_export(options, console)
    into_bigledger = options.target == "bigledger"  # only BigLedger is given records the export does not know
    sandbox = start_in_thread(
        SandboxConfig(db_path=str(options.directory / "sandbox.sqlite"), window_seconds=options.window_seconds)
    )
    console.print(
        f"sandbox at {sandbox.url}; its rate-limit minute is shortened to {options.window_seconds:g} s "
        "for the demo (the real API counts 60 s)"
    )
    try:
        if into_bigledger and summary is not None and summary.target_records:
            held = seed_target(sandbox.url, DEMO_COMPANY, DEMO_API_KEY, summary)
            console.print(f"the target already holds records the export does not know: {held}")
        if options.target == "payables":  # from the summary file: a second run on the folder reuses them
            collaborators = generated.get("collaborators", [])
            count = seed_collaborators(sandbox.url, DEMO_COMPANY, DEMO_API_KEY, collaborators)
            console.print(f"Bulk Payables holds {count} of the export's {len(collaborators)} collaborators "
                          "(created before the migration: payables name them)")
        # The export's own days when it says them (an export generated with other options is reused as it is).
        labels = generated.get("days") or [d.isoformat() for d in demo_days(options)]
        _configure_environment(options, sandbox.url, labels)
        yield DemoEnvironment(sandbox, generated, target_record_counts(generated) if into_bigledger else {}, labels)
    finally:
        sandbox.stop()


def run_demo(options: DemoOptions, console: Console) -> bool:
    """Generate (once), serve the sandbox, run every day through Dagster, print the summary."""
    with demo_environment(options, console) as demo:
        expected = demo.generated.get("expected_rejects", {}).get(options.target)
        if expected is None:
            console.print(f"[yellow]{options.directory / 'export_summary.json'} says nothing of what "
                          f"{options.target} must reject (written by an earlier version?): the summary shows no "
                          "expected rejects; delete the folder for a fresh export[/yellow]")
            expected = {}
        # reads the environment just set
        from batch_orchestration.definitions import definitions_from_environment

        defs = definitions_from_environment()
        with (
            dg.DagsterInstance.get() as instance,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} days"),
                TimeElapsedColumn(),
                console=console,
            ) as progress,
        ):
            task = progress.add_task("running migration_job", total=len(demo.labels))
            started = time.monotonic()

            def on_day(result: DayResult) -> None:
                state = "done" if result.success else "FAILED"
                progress.update(task, advance=1, description=f"day {result.day} {state}")

            results = run_days(defs, demo.labels, instance, on_day=on_day, prepare_ahead=definitions_from_environment)
        print_summary(console, results, expected)
        console.print(f"records sent to the target this run: {records_sent(results)}; "
                      f"wall time {time.monotonic() - started:.1f} s")
        ok = all(r.success for r in results) and len(results) == len(demo.labels)
        if not ok:
            console.print("[red]a day failed: open the Dagster UI (see README) for the run's logs[/red]")
        counts_ok = check_target_counts(console, demo.sandbox.url, Settings.from_env(), demo.pre_existing)
        if not counts_ok:
            console.print("[red]the target's counts differ from what the pipeline loaded[/red]")
        reconciled = print_reconciliation(console, results)
        return ok and counts_ok and reconciled


def serve_ui(options: DemoOptions, console: Console, port: int) -> int:
    """The Dagster UI (``dagster dev``: webserver and daemon) on the demo's folder, with its sandbox beside it.

    The environment the definitions read is the demo's, so the partitions begin on the export's first
    day and a run launched from the UI loads into the sandbox. Returns ``dagster dev``'s exit code.
    """
    with demo_environment(options, console) as demo:
        console.print(f"the Dagster UI on http://127.0.0.1:{port}: the export's days are {demo.labels[0]} to "
                      f"{demo.labels[-1]}; Ctrl-C stops it and the sandbox")
        workspace = Path(__file__).parents[2] / "workspace.yaml"
        command = [str(Path(sys.executable).parent / "dagster"), "dev", "--host", "127.0.0.1", "--port", str(port),
                   *(["-w", str(workspace)] if workspace.exists() else ["-m", "batch_orchestration.definitions"])]
        dev = subprocess.Popen(command)
        # SIGTERM (a service manager's stop) is handled as Ctrl-C is: dagster dev stops its servers first.
        signal.signal(signal.SIGTERM, lambda *_: dev.send_signal(signal.SIGINT))
        try:
            while True:
                try:
                    return dev.wait()
                except KeyboardInterrupt:  # the terminal sent dagster dev the same SIGINT: let it finish
                    continue
        finally:
            if dev.poll() is None:
                dev.terminate()
                dev.wait(30)

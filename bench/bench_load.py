"""How close a whole multi-day backfill into BigLedger runs to the documented rate ceiling, and its 429s.

Each run generates the demo's export (3 days, 3,000 customers, about 20,000 invoices by default) in a
fresh folder, serves the sandbox with a shortened rate-limit window, and runs every day through Dagster
as ``make demo`` does, in a process of its own. The sandbox's timeline (when each request came and was
answered, and how) and the warehouse's load history (what the target took) then give, per entity and for
the whole run: records a second, the ceiling the documented limits allow, the share of it, and the 429
answers. See README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"
BATCH_PATH = "/v1/batch/"


def child_main(directory: Path, days: int, customers: int, window: float) -> None:
    """One backfill; prints what the sandbox and the warehouse saw, as JSON."""
    import dagster as dg
    import requests
    from rich.console import Console

    from batch_orchestration.definitions import definitions_from_environment
    from batch_orchestration.demo.run import DemoOptions, demo_environment
    from batch_orchestration.orchestration.runner import run_days
    from batch_orchestration.orchestration.settings import Settings
    from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
    from batch_orchestration.warehouse import open_warehouse

    options = DemoOptions(directory=directory, days=days, customers=customers, window_seconds=window)
    with demo_environment(options, Console(stderr=True, quiet=True)) as demo:
        settings = Settings.from_env()
        with dg.DagsterInstance.get() as instance:
            results = run_days(definitions_from_environment(), demo.labels, instance,
                               prepare_ahead=definitions_from_environment)
        answer = requests.get(f"{demo.sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/timeline",
                              headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=60)
        answer.raise_for_status()
        timeline = answer.json()["answers"]
    with open_warehouse(settings.warehouse_url).session() as session:
        taken = dict(session.fetch_all("SELECT entity, COUNT(*) FROM load_history GROUP BY entity"))
    print(json.dumps({"days_ok": sum(r.success for r in results), "days": len(results),
                      "timeline": timeline, "taken": {k: int(v) for k, v in taken.items()}}))


def analyse(outcome: dict[str, Any], window: float) -> dict[str, dict[str, float]]:
    """Per entity loaded through batches, and for ``all``: records, seconds, records/s, ceiling, share, 429s."""
    from batch_orchestration.targets.bigledger.bindings import BINDINGS
    from batch_orchestration.targets.bigledger.connector import records_ceiling

    by_endpoint = {binding.endpoint: binding for binding in BINDINGS.values()}
    answers = outcome["timeline"]
    report: dict[str, dict[str, float]] = {}
    ceiling_seconds = 0.0
    for endpoint, binding in by_endpoint.items():
        batches = [a for a in answers if a["method"] == "POST" and a["path"] == BATCH_PATH + endpoint]
        records = outcome["taken"].get(binding.entity, 0)
        if not batches or not records:
            continue
        seconds = max(a["answered_at"] for a in batches) - min(a["received_at"] for a in batches)
        ceiling = records_ceiling(binding.max_batch, window)
        ceiling_seconds += records / ceiling
        report[binding.entity] = {"records": records, "seconds": seconds, "per_second": records / seconds,
                                  "ceiling": ceiling, "share": records / seconds / ceiling,
                                  "responses_429": sum(a["status"] == 429 for a in batches)}
    batches = sorted((a for a in answers if a["method"] == "POST" and a["path"].startswith(BATCH_PATH)),
                     key=lambda a: a["received_at"])
    seconds = max(a["answered_at"] for a in batches) - batches[0]["received_at"]
    records = sum(entry["records"] for entry in report.values())
    report["all"] = {"records": records, "seconds": seconds, "per_second": records / seconds,
                     "ceiling": records / ceiling_seconds, "share": ceiling_seconds / seconds,
                     "responses_429": sum(a["status"] == 429 for a in answers),
                     "idle_seconds": idle_seconds(batches, window)}
    return report


def idle_seconds(batches: list[dict[str, Any]], window: float) -> float:
    """Seconds in gaps between batches longer than a window and a tenth: no wait for a rate slot lasts that
    long, so such a gap is time between loads (staging and validation, steps starting), not pacing."""
    idle, answered = 0.0, batches[0]["answered_at"]
    for batch in batches[1:]:
        if batch["received_at"] - answered > window * 1.1:
            idle += batch["received_at"] - answered
        answered = max(answered, batch["answered_at"])
    return idle


def measure(workdir: Path, run: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    directory = workdir / f"run{run}"
    command = [sys.executable, __file__, "--child", str(directory), "--days", str(args.days),
               "--customers", str(args.customers), "--window", str(args.window)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    outcome = json.loads(output.strip().splitlines()[-1])
    if outcome["days_ok"] != outcome["days"]:
        raise RuntimeError(f"run {run}: {outcome['days'] - outcome['days_ok']} day(s) failed; see {directory}")
    return analyse(outcome, args.window)


def parent_main(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_load_"))
    runs = [measure(workdir, run, args) for run in range(args.repeat)]
    names = list(runs[0])
    medians = {name: {key: statistics.median(run[name][key] for run in runs) for key in runs[0][name]}
               for name in names}
    print(f"{'entity':<18} {'records':>8} {'seconds':>8} {'rec/s':>8} {'ceiling':>8} {'share':>6} {'429s':>5}")
    for name in names:
        m = medians[name]
        print(f"{name:<18} {m['records']:8.0f} {m['seconds']:8.1f} {m['per_second']:8.1f} {m['ceiling']:8.1f} "
              f"{m['share']:6.1%} {m['responses_429']:5.0f}")
    print(f"between loads (no batch for over a window): {medians['all']['idle_seconds']:.1f} s "
          f"of the run's {medians['all']['seconds']:.1f} s")
    for name in names:  # machine-readable: medians of the runs
        print(f"share_of_ceiling {name} {medians[name]['share']:.3f}")
        print(f"responses_429 {name} {medians[name]['responses_429']:.0f}")
    document = {"benchmark": "load", "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "days": args.days, "customers": args.customers, "window_seconds": args.window,
                "repeat": args.repeat, "runs": runs, "medians": medians}
    out = Path(args.out) if args.out else OUT_DIR / f"bench_load_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--customers", type=int, default=3000, help="about 6.7 invoices each")
    parser.add_argument("--window", type=float, default=6.0, help="the sandbox's rate-limit window, seconds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", help="where the runs' folders go (default: a new temporary folder)")
    parser.add_argument("--out", help="where to write the JSON results (default: bench/out/bench_load_<UTC>.json)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(Path(args.child), args.days, args.customers, args.window)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()

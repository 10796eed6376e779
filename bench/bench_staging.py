"""Benchmark staging of a large customers export against DuckDB's own CSV reader.

Each measurement runs in its own subprocess, and its peak memory is that child's ``ru_maxrss`` as
reported by ``os.wait4`` — not polluted by the parent or by the other measurements. See README.md.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

ENTITY = "customers"
DAY = "2024-01-15"
OUT_DIR = Path(__file__).resolve().parent / "out"
MODES = ("baseline", "staging", "staging_validate")
CITIES = ["Springfield", "Riverton", "Lakeside", "Fairview", "Georgetown", "Salem", "Madison", "Clinton"]


# -- data ------------------------------------------------------------------------------------------


def customer_row(i: int, rng: random.Random, bad_fraction: float) -> list[str]:
    """One legacy customer row; a ``bad_fraction`` of rows are broken in one of several ways."""
    row = [
        f"C{i:08d}",
        f"Customer {i} Ltd",
        f"billing{i}@example.com",
        f"+1 555 {i % 10_000_000:07d}",
        f"{i % 999 + 1} Main Street",
        rng.choice(CITIES),
        "CA",
        f"{90000 + i % 9999:05d}",
        "US",
        f"{rng.randrange(0, 50_000)}.00",
        rng.choice(["0", "15", "30", "45", "60"]),
        f"TX{i:09d}",
        rng.choice(["active", "active", "active", "on_hold"]),
    ]
    if rng.random() < bad_fraction:
        flaw = rng.randrange(4)
        if flaw == 0:
            row = row[:7]  # ragged: staging rejects it
        elif flaw == 1:
            row[1] = ""  # missing required name
        elif flaw == 2:
            row[2] = "not-an-email"
        else:
            row[9] = "lots"  # credit limit not a number
    return row


def write_customers_csv(path: Path, rows: int, bad_fraction: float, seed: int = 7) -> None:
    from batch_orchestration.ingest.mapping import load_mapping

    header = list(load_mapping(ENTITY).columns.values())
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(1, rows + 1):
            writer.writerow(customer_row(i, rng, bad_fraction))


# -- the measured work (runs in a child process) -------------------------------------------------


def run_baseline(csv_path: Path, db_path: Path, memory_limit: str | None) -> int:
    import duckdb

    con = duckdb.connect(str(db_path))
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(
        "CREATE TABLE staged AS SELECT * FROM read_csv(?, header = true, all_varchar = true, ignore_errors = true)",
        [str(csv_path)],
    )
    (count,) = con.execute("SELECT COUNT(*) FROM staged").fetchone()
    con.close()
    return int(count)


class _ValidatingSink:
    """Runs row validation on each chunk before handing it on, as the pipeline would."""

    def __init__(self, inner: Any, validate: Callable[[Any, pd.DataFrame], Any]) -> None:
        self.inner = inner
        self.validate = validate
        self.entity = _entity_argument()

    def begin_partition(self, mapping: Any, day: str) -> None:
        self.inner.begin_partition(mapping, day)

    def append(self, frame: pd.DataFrame) -> None:
        self.validate(self.entity, frame)
        self.inner.append(frame)

    def discard_file(self, source_file: str) -> None:
        self.inner.discard_file(source_file)

    def finish_partition(self) -> None:
        self.inner.finish_partition()


def _entity_argument() -> Any:
    """What ``validate_frame`` takes as its entity: the registry's spec if there is one, else the name."""
    try:
        registry = importlib.import_module("batch_orchestration.entities.registry")
    except ImportError:
        return ENTITY
    get_entity = getattr(registry, "get_entity", None)
    return get_entity(ENTITY) if callable(get_entity) else ENTITY


def run_staging(landing_root: Path, db_path: Path, validate: bool, memory_limit: str | None) -> int:
    from batch_orchestration.ingest.landing import LocalLandingZone
    from batch_orchestration.ingest.mapping import load_mapping
    from batch_orchestration.ingest.sinks import WarehouseStagingSink
    from batch_orchestration.ingest.staging import stage_partition
    from batch_orchestration.warehouse.backend import DuckDBWarehouse

    warehouse = DuckDBWarehouse(str(db_path), memory_limit)
    with WarehouseStagingSink() as inner:
        sink: Any = inner
        if validate:
            rows_module = importlib.import_module("batch_orchestration.validate.rows")
            sink = _ValidatingSink(inner, rows_module.validate_frame)
        result = stage_partition(LocalLandingZone(landing_root), load_mapping(ENTITY), DAY, sink)
        with warehouse.session() as session:
            inner.replace_day(session)
    return result.rows_staged


def child_main(mode: str, workdir: Path, memory_limit: str | None) -> None:
    db_path = workdir / f"{mode}.duckdb"
    for stale in (db_path, Path(str(db_path) + ".wal")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    if mode == "baseline":
        rows = run_baseline(csv_path(workdir), db_path, memory_limit)
    else:
        rows = run_staging(workdir / "landing", db_path, mode == "staging_validate", memory_limit)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


# -- the parent: orchestration and reporting -----------------------------------------------------


def csv_path(workdir: Path) -> Path:
    return workdir / "landing" / ENTITY / DAY / "export.csv"


def measure(mode: str, workdir: Path, memory_limit: str) -> dict[str, float]:
    """Run one mode in a fresh interpreter; wall time from the child, peak RSS from wait4."""
    command = [sys.executable, __file__, "--child", mode, "--workdir", str(workdir)]
    command += ["--duckdb-memory-limit", memory_limit]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    total = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{mode} failed with exit code {process.returncode}")
    child = json.loads(output.strip().splitlines()[-1])
    return {
        "seconds": child["seconds"],
        "process_seconds": total,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "rows": child["rows"],
    }


def validation_available() -> bool:
    try:
        module = importlib.import_module("batch_orchestration.validate.rows")
    except ImportError:
        return False
    return callable(getattr(module, "validate_frame", None))


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "median_seconds": statistics.median(r["seconds"] for r in runs),
        "median_process_seconds": statistics.median(r["process_seconds"] for r in runs),
        "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "rows_out": runs[0]["rows"],
    }


def parent_main(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_staging_"))
    path = csv_path(workdir)
    if not path.exists():
        print(f"generating {args.rows:,} rows into {path} ...", flush=True)
        write_customers_csv(path, args.rows, args.bad_fraction)
    modes = [m for m in MODES if m != "staging_validate" or validation_available()]
    if "staging_validate" not in modes:
        print("batch_orchestration.validate.rows.validate_frame not found: skipping staging_validate")
    results: dict[str, Any] = {}
    for mode in modes:
        runs = [measure(mode, workdir, args.duckdb_memory_limit) for _ in range(args.repeat)]
        results[mode] = {"runs": runs, **summarize(runs)}
        print(f"{mode:>17}: {results[mode]['median_seconds']:7.2f} s  {results[mode]['median_peak_rss_mb']:7.0f} MB")
    base = results["baseline"]
    for mode in modes:
        results[mode]["time_vs_baseline"] = results[mode]["median_seconds"] / base["median_seconds"]
        results[mode]["rss_vs_baseline"] = results[mode]["median_peak_rss_mb"] / base["median_peak_rss_mb"]
    print_table(results)
    document = {
        "benchmark": "staging",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "bad_fraction": args.bad_fraction,
        "file_mb": path.stat().st_size / 1e6,
        "repeat": args.repeat,
        "duckdb_memory_limit": args.duckdb_memory_limit or None,
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "results": results,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"bench_staging_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(document, indent=2))
    print(f"wrote {out}")


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'mode':<17} {'median s':>9} {'peak MB':>8} {'rows out':>10} {'time x':>7} {'rss x':>6}")
    for mode, r in results.items():
        print(
            f"{mode:<17} {r['median_seconds']:9.2f} {r['median_peak_rss_mb']:8.0f} {r['rows_out']:10,d} "
            f"{r['time_vs_baseline']:7.2f} {r['rss_vs_baseline']:6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad-fraction", type=float, default=0.03)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", help="reuse a folder (the generated CSV is kept there)")
    parser.add_argument(
        "--duckdb-memory-limit",
        default="512MB",
        help="DuckDB memory_limit for baseline and staging alike ('' = DuckDB's default, 80%% of RAM)",
    )
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, Path(args.workdir), args.duckdb_memory_limit or None)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()

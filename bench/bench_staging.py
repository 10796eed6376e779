"""Benchmark staging of a large customers export against DuckDB's own CSV reader.

Each measurement runs in its own subprocess, and its peak memory is that child's ``ru_maxrss`` as
reported by ``os.wait4`` — not polluted by the parent or by the other measurements. See README.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
        rng.choice(["active", "active", "active", "inactive"]),
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

    mapping = load_mapping(ENTITY)
    header = [mapping.columns[field] for field in mapping.record_fields]  # no operation column: all upserts
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


def run_staging(landing_root: Path, db_path: Path, validate: bool, memory_limit: str | None) -> dict[str, Any]:
    """The pipeline's own work for one day: stage the export, then (``validate``) validate its unit."""
    from batch_orchestration.entities.registry import ENTITIES
    from batch_orchestration.ingest.landing import LocalLandingZone
    from batch_orchestration.orchestration.stages import stage_day
    from batch_orchestration.validate.unit import validate_unit
    from batch_orchestration.warehouse.backend import DuckDBWarehouse
    from batch_orchestration.warehouse.schema import ensure_schema

    warehouse = DuckDBWarehouse(str(db_path), memory_limit)
    ensure_schema(warehouse)
    started = time.perf_counter()
    result = stage_day(warehouse, LocalLandingZone(landing_root), ENTITIES[ENTITY], DAY)
    outcome: dict[str, Any] = {"rows": result.rows_staged}
    if validate:
        validation = validate_unit(warehouse, ENTITIES[ENTITY], DAY)[ENTITY]
        outcome["valid_rows"] = validation.valid_rows
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _digest(connection: Any, query: str, params: tuple[Any, ...] = ()) -> tuple[int, str]:
    """How many rows ``query`` gives, and a sha256 of them in order, read a batch at a time."""
    digest, count = hashlib.sha256(), 0
    cursor = connection.execute(query, list(params))
    while batch := cursor.fetchmany(100_000):
        count += len(batch)
        for row in batch:
            digest.update(repr(row).encode("utf-8"))
    return count, digest.hexdigest()


def digests(db_path: Path, validated: bool) -> dict[str, Any]:
    """What a run left, as counts and sha256 digests, to compare runs and code versions.

    Run in a process of its own after the measured one, so neither its time nor its memory counts.
    Staged rows with their lineage and content hash, every reject (staging's, validation's and the set
    rules') with its row, code and message, and the validated rows: any difference in any of them changes
    its digest.
    """
    import duckdb

    from batch_orchestration.entities.registry import ENTITIES
    from batch_orchestration.warehouse.backend import quote_identifier
    from batch_orchestration.warehouse.schema import staged_table, validated_columns, validated_table

    connection = duckdb.connect(str(db_path), read_only=True)
    _, staged = _digest(connection, f"SELECT * FROM {quote_identifier(staged_table(ENTITY))} "
                                    "ORDER BY source_file, source_row")
    rejects, rejected = _digest(
        connection, "SELECT source_file, source_row, source_key, stage, code, message FROM rejects WHERE entity = ? "
        "AND partition_day = ? ORDER BY source_file, source_row NULLS FIRST, stage, code, message", (ENTITY, DAY))
    out: dict[str, Any] = {"staged_sha256": staged, "rejects": rejects, "rejects_sha256": rejected}
    if validated:
        columns = ", ".join(quote_identifier(c) for c in validated_columns(ENTITIES[ENTITY]))
        _, out["validated_sha256"] = _digest(
            connection, f"SELECT {columns} FROM {quote_identifier(validated_table(ENTITY))} "
                        "ORDER BY source_file, source_row")
    connection.close()
    return out


def child_main(mode: str, workdir: Path, memory_limit: str | None, digest: bool) -> None:
    db_path = workdir / f"{mode}.duckdb"
    if digest:
        print(json.dumps(digests(db_path, mode == "staging_validate")))
        return
    for stale in (db_path, Path(str(db_path) + ".wal")):
        stale.unlink(missing_ok=True)
    if mode == "baseline":
        started = time.perf_counter()
        outcome: dict[str, Any] = {"rows": run_baseline(csv_path(workdir), db_path, memory_limit)}
        outcome["seconds"] = time.perf_counter() - started
    else:
        outcome = run_staging(workdir / "landing", db_path, mode == "staging_validate", memory_limit)
    print(json.dumps(outcome))


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
    if mode != "baseline":
        digest = subprocess.run([*command, "--digest"], check=True, capture_output=True, text=True).stdout
        child.update(json.loads(digest.strip().splitlines()[-1]))
    return {**child, "process_seconds": total, "peak_rss_mb": usage.ru_maxrss / 1024}  # kilobytes on Linux


OUTCOME_KEYS = ("rows", "valid_rows", "rejects", "staged_sha256", "rejects_sha256", "validated_sha256")


def summarize(mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the measurements; what the runs produced, which must be the same in every run."""
    outcomes = [{k: r[k] for k in OUTCOME_KEYS if k in r} for r in runs]
    if any(outcome != outcomes[0] for outcome in outcomes):
        raise RuntimeError(f"{mode}: the runs did not produce the same rows and rejects: {outcomes}")
    return {
        "median_seconds": statistics.median(r["seconds"] for r in runs),
        "median_process_seconds": statistics.median(r["process_seconds"] for r in runs),
        "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "rows_out": runs[0]["rows"],
        "outcome": outcomes[0],
    }


def parent_main(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_staging_"))
    path = csv_path(workdir)
    if not path.exists():
        print(f"generating {args.rows:,} rows into {path} ...", flush=True)
        write_customers_csv(path, args.rows, args.bad_fraction)
    modes = ["baseline", *(m for m in args.modes if m != "baseline")]
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for repeat in range(args.repeat):  # the modes take turns, so a machine that drifts slows them alike
        for mode in modes:
            runs[mode].append(measure(mode, workdir, args.duckdb_memory_limit))
            print(f"run {repeat + 1} {mode:>17}: {runs[mode][-1]['seconds']:7.2f} s "
                  f"{runs[mode][-1]['peak_rss_mb']:7.0f} MB", flush=True)
    results: dict[str, Any] = {mode: {"runs": runs[mode], **summarize(mode, runs[mode])} for mode in modes}
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
    out = Path(args.out) if args.out else OUT_DIR / f"bench_staging_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
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
    parser.add_argument("--out", help="where to write the JSON results (default: bench/out/bench_staging_<UTC>.json)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="the modes to run")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--digest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, Path(args.workdir), args.duckdb_memory_limit or None, args.digest)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()

"""How long a day takes to fail when the target cannot take it, against a healthy day in the same run.

Scenarios, each a fresh export of one small day run through Dagster (in process, with the assets'
real step retry policy) against the sandbox on loopback:

- ``healthy``: the baseline, the day loads;
- ``wrong_key``: the target answers 401 (final: the load step must fail at once, no step retry);
- ``target_down``: nothing listens at the target URL (retried under the policy, then the step retries).

Prints the median seconds to the run's end, the step retries the run took, and the ratio to the
healthy run. Usage: ``.venv/bin/python bench/bench_failure_bound.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import dagster as dg

from batch_orchestration.definitions import build_definitions
from batch_orchestration.demo.generate import generate_export
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.orchestration.settings import Settings
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import start_in_thread

DAY = date(2024, 3, 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_once(scenario: str) -> tuple[float, bool, int]:
    sandbox = start_in_thread(SandboxConfig(window_seconds=1.0))
    try:
        with tempfile.TemporaryDirectory() as directory:
            home = Path(directory)
            generate_export(home / "landing", days=[DAY], customers=40, invoices_per_customer=1.0,
                            lines_per_invoice=(1, 2), bad_fraction=0.0, seed=3)
            url = f"http://127.0.0.1:{_free_port()}" if scenario == "target_down" else sandbox.url
            os.environ["BIGLEDGER_API_KEY"] = "not-the-key" if scenario == "wrong_key" else DEMO_API_KEY
            settings = Settings(home=home, warehouse_url=f"duckdb:///{home / 'w.duckdb'}", landing_kind="local",
                                landing_root=str(home / "landing"), s3_bucket="", s3_prefix="",
                                s3_endpoint_url=None, s3_region="us-east-1", target_base_url=url,
                                target_company_id=DEMO_COMPANY, rate_window_seconds=1.0,
                                start_date=DAY.isoformat(), timezone="UTC", max_reject_rate=0.5)
            with dg.instance_for_test() as instance:
                started = time.monotonic()
                (result,) = run_days(build_definitions(settings), [DAY.isoformat()], instance)
                seconds = time.monotonic() - started
                run = instance.get_runs(limit=1)[0]
                retries = sum(1 for event in instance.all_logs(run.run_id)
                              if event.dagster_event and event.dagster_event.event_type_value == "STEP_UP_FOR_RETRY")
            return seconds, result.success, retries
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    medians: dict[str, float] = {}
    header = ("scenario", "median s", "min s", "max s", "ok", "step retries", "x healthy")
    print("{:<12} {:>9} {:>7} {:>7} {:>4} {:>13} {:>10}".format(*header))
    for scenario in ("healthy", "wrong_key", "target_down"):
        runs = [run_once(scenario) for _ in range(args.repeat)]
        times = [seconds for seconds, _, _ in runs]
        medians[scenario] = statistics.median(times)
        ratio = medians[scenario] / medians["healthy"]
        print(f"{scenario:<12} {medians[scenario]:>9.2f} {min(times):>7.2f} {max(times):>7.2f} "
              f"{all(ok for _, ok, _ in runs)!s:>4} {max(r for _, _, r in runs):>13} {ratio:>10.2f}")


if __name__ == "__main__":
    main()

"""The staging benchmark at CI size (issue 12): 50,000 generated customers, 3 % bad, staged and validated
by the pipeline's own functions, must leave exactly what the code before the fast paths left: the same
staged rows (lineage and content hash included), the same rejects row for row (file, row, key, stage,
code, message) and the same validated rows. Correctness only: the benchmark's times are not looked at."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_staging.py"

# What `bench/bench_staging.py --rows 50000` left on a033b61, before any fast path: the reference.
BEFORE_THE_FAST_PATHS = {
    "rows": 49_614,
    "valid_rows": 48_477,
    "rejects": 1_523,
    "staged_sha256": "94054b057a9fcd1058e3e4a9549e604edf15666a03d2e55756af3f3e22e12a37",
    "rejects_sha256": "ab3bb5d4ace8779b3b1522ec38847cffa263eee0d2fa57e8863c04e33ab85f31",
    "validated_sha256": "cc3dd9ea927b7f76d37612dde902f100ea31f3162ca1170d6c9ca7823ee60e13",
}


@pytest.mark.slow
def test_the_ci_sized_benchmark_stages_rejects_and_validates_exactly_as_before(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    subprocess.run([sys.executable, str(BENCH), "--rows", "50000", "--repeat", "1", "--workdir", str(tmp_path),
                    "--modes", "staging_validate", "--out", str(out)], check=True, capture_output=True, timeout=600)
    outcome = json.loads(out.read_text())["results"]["staging_validate"]["outcome"]
    assert outcome == BEFORE_THE_FAST_PATHS

"""A built wheel is complete: it carries the SQL models and runs them from a fresh virtual environment."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]
MODELS = sorted(path.relative_to(REPO).as_posix() for path in (REPO / "dbt_like_sql").glob("*/*.sql"))

# Runs in the fresh environment, from a folder outside the repository: discover the installed models
# and run one of them on a DuckDB file.
SCRIPT = """
import json, sys
from pathlib import Path
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.sql_models import DEFAULT_MODELS_DIR, model_graph, run_models

graph = model_graph()
with open_warehouse(f"duckdb:///{Path.cwd() / 'w.duckdb'}").session() as session:
    session.execute(
        "CREATE TEMP TABLE candidate_invoice_line_items AS SELECT * FROM (VALUES"
        " ('a.csv', 1, 'INV-1/1', 'INV-1', 2, 5.0), ('a.csv', 2, 'INV-1/2', 'INV-1', 1, 3.0),"
        " ('b.csv', 1, 'INV-1/2', 'INV-1', 1, 4.0))"
        " AS t(source_file, source_row, source_key, invoice_key, quantity, unit_price)")
    runs = run_models(session, select=["invoice_line_totals"], graph=graph)
    totals = session.fetch_all("SELECT invoice_key, line_count, lines_total FROM invoice_line_totals")
print(json.dumps({
    "models_dir": str(DEFAULT_MODELS_DIR.resolve()), "prefix": str(Path(sys.prefix).resolve()),
    "models": sorted(f"{node.layer}/{node.name}.sql" for node in graph.models),
    "ran": [run.name for run in runs], "totals": [[key, count, float(total)] for key, count, total in totals],
}))
"""


def _declared_packages() -> set[str]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return set(tomllib.load(handle)["tool"]["setuptools"]["packages"])


def test_the_declared_packages_are_the_source_tree() -> None:
    """The package list in pyproject.toml is written out (a mapped package cannot be found): keep it whole."""
    found = set(find_packages(str(REPO), include=["batch_orchestration", "batch_orchestration.*"]))
    assert _declared_packages() == found | {"batch_orchestration.dbt_like_sql"}


@pytest.mark.slow
def test_a_built_wheel_runs_the_sql_models_outside_the_repository(tmp_path: Path) -> None:
    # Build from a copy, so that the build leaves nothing in the working tree.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".demo", ".dagster_home",
        ".batch_orchestration", ".pytest_cache", ".ruff_cache", ".hypothesis"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)],
                   check=True)
    [wheel] = dist.glob("batch_orchestration-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(name.removeprefix("batch_orchestration/") for name in names if name.endswith(".sql")) == MODELS
    assert not [name for name in names if name.startswith("batch_orchestration_tests")]

    # A fresh environment with only the wheel installed; the dependencies come from this environment's
    # site-packages through a .pth line (its own .pth files, the editable install's among them, are not run).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "outer_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": str(venv / "bin"), "HOME": str(elsewhere)}
    answer = subprocess.run([str(python), "-c", SCRIPT], cwd=elsewhere, env=env, check=True,
                            capture_output=True, text=True)
    found = json.loads(answer.stdout.strip().splitlines()[-1])
    assert Path(found["models_dir"]).is_relative_to(found["prefix"])  # the installed copy, not the repository
    assert ["dbt_like_sql/" + model for model in found["models"]] == MODELS
    assert found["ran"] == ["invoice_line_item_candidates_ranked", "invoice_line_totals"]
    assert found["totals"] == [["INV-1", 2, 14.0]]  # the later version of line 2 replaces the earlier one

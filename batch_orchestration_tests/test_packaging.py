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
        "CREATE TEMP TABLE candidate_journal_entries AS SELECT * FROM (VALUES ('j.csv', 1, 'J1'), ('j.csv', 2, 'J2'))"
        " AS t(source_file, source_row, source_key)")
    session.execute(
        "CREATE TEMP TABLE candidate_journal_entry_lines AS SELECT * FROM (VALUES"
        " ('l.csv', 1, 'J1/1', 'J1', 5.0, NULL), ('l.csv', 2, 'J1/2', 'J1', NULL, 5.0),"
        " ('l.csv', 3, 'J2/1', 'J2', 5.0, NULL), ('l.csv', 4, 'J2/2', 'J2', NULL, 4.0))"
        " AS t(source_file, source_row, source_key, entry_key, debit, credit)")
    runs = run_models(session, select=["journal_entries_set_rejects"], graph=graph)
    totals = session.fetch_all("SELECT source_key, code, message FROM journal_entries_set_rejects")
print(json.dumps({
    "models_dir": str(DEFAULT_MODELS_DIR.resolve()), "prefix": str(Path(sys.prefix).resolve()),
    "models": sorted(f"{node.layer}/{node.name}.sql" for node in graph.models),
    "ran": [run.name for run in runs], "totals": [list(row) for row in totals],
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
    assert found["ran"] == ["journal_entries_set_rejects"]
    assert found["totals"] == [["J2", "UNBALANCED", "debits 5.0000 do not equal credits 4.0000"]]

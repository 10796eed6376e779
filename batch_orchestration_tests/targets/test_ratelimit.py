"""The rate budget is one budget for every process that opens the same state: a SQLite file on one machine,
a PostgreSQL database across machines. The multi-process test loads from several processes against the
sandbox and counts the 429s it answered: none with one budget, some with a budget per process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets.ratelimit import Budget, SharedRateLimiter, held_seconds
from batch_orchestration_tests.conftest import SandboxFactory, fresh_postgres_schema


def test_two_limiters_on_one_file_draw_from_one_budget(tmp_path: Path) -> None:
    state = tmp_path / "budget.sqlite"
    budgets = [Budget("batches", 10, 60.0)]
    first, second = SharedRateLimiter(budgets, state), SharedRateLimiter(budgets, state)
    first.acquire("batches")
    first.acquire("batches")
    second.acquire("batches")
    with sqlite3.connect(state) as con:
        tables = [name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "budget_batches" in tables
        assert con.execute("SELECT COUNT(*) FROM budget_batches").fetchone()[0] == 3


def test_two_limiters_on_one_database_draw_from_one_budget_per_target(postgres_url: str) -> None:
    budgets = [Budget("batches", 10, 60.0)]
    with fresh_postgres_schema(postgres_url) as url:
        first = SharedRateLimiter(budgets, database_url=url, scope=("https://a.example", "c1"))
        second = SharedRateLimiter(budgets, database_url=url, scope=("https://a.example", "c1"))
        other = SharedRateLimiter(budgets, database_url=url, scope=("https://b.example", "c1"))
        first.acquire("batches")
        second.acquire("batches")
        other.acquire("batches")
        with psycopg.connect(url) as con:
            tables = [name for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "ORDER BY table_name")]
            counts = [con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables]
    assert len(tables) == 2 and all(name.startswith("ratelimit___bo_") for name in tables)
    assert sorted(counts) == [1, 2]  # one budget for the two limiters of one target, another for the other


# Each process sends BATCHES one-customer batches as fast as its connector lets it, under the retry policy.
LOADER = """
import sys
from pathlib import Path
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.targets.base import BatchLabel, NotApplied, Outgoing
from batch_orchestration.targets.bigledger import BigLedgerConnector, BigLedgerSettings

url, window, name, database, state_file = sys.argv[1:6]
connector = BigLedgerConnector(BigLedgerSettings(
    base_url=url, company_id=DEMO_COMPANY, api_key=DEMO_API_KEY, rate_window_seconds=float(window),
    rate_state_database=database or None, rate_state_path=Path(state_file) if state_file else None))
for n in range(int(sys.argv[6])):
    data = {"name": f"Customer {name}-{n}", "email": f"{name}-{n}@example.com", "status": "active"}
    batch = [Outgoing("create", f"bo_{name}_{n}", None, data)]
    (outcome,) = connector.policy.retrying((NotApplied,))(  # a 429 is sent again, as the loader does
        connector.send_batch, connector.binding("customers"), batch, BatchLabel("2024-03-01", n))
    assert outcome.success, outcome
"""
PROCESSES, BATCHES = 3, 6  # 18 batches: nearly two windows of 10
WARM_UP = ("warm-up", "warm-up-key")  # a company of its own, with its own windows


def _sandbox(factory: SandboxFactory) -> RunningSandbox:
    """A sandbox whose first batch has been answered: a cold server's first answer takes long enough (its
    lazy set-up) that it counts that batch later than the client did, and may then count one too many."""
    sandbox = factory(window_seconds=2.0, companies={DEMO_COMPANY: DEMO_API_KEY, WARM_UP[0]: WARM_UP[1]})
    requests.post(f"{sandbox.url}/v1/batch/customers", timeout=10, json={"operations": [{
        "operation": "create", "referenceId": "warm-up", "data": {"name": "Warm", "email": "warm@example.com"}}]},
        headers={"Authorization": f"Bearer {WARM_UP[1]}", "X-Company-Id": WARM_UP[0]}).raise_for_status()
    return sandbox


def _load_from_processes(sandbox: RunningSandbox, database: str, state_files: list[Path | None]) -> dict[int, int]:
    """Run the loaders at once; the sandbox's count of its answers to them, by status."""
    loaders = [subprocess.Popen([sys.executable, "-c", LOADER, sandbox.url, str(sandbox.config.window_seconds),
                                 f"p{n}", database, str(state_files[n] or ""), str(BATCHES)])
               for n in range(PROCESSES)]
    assert [loader.wait(timeout=120) for loader in loaders] == [0] * PROCESSES
    answer = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/responses", timeout=10,
                          headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
    answer.raise_for_status()
    return {int(status): n for status, n in answer.json()["statuses"].items()}


def test_loads_from_several_processes_share_one_budget_in_postgresql(
        postgres_url: str, sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    with fresh_postgres_schema(postgres_url) as url:
        shared = _load_from_processes(_sandbox(sandbox_factory), url, [None] * PROCESSES)
    apart = _load_from_processes(_sandbox(sandbox_factory), "",
                                 [tmp_path / f"own_budget_{n}.sqlite" for n in range(PROCESSES)])

    assert shared == {200: PROCESSES * BATCHES}  # every batch taken first time: not one 429
    assert apart.get(429, 0) > 0 and apart[200] == PROCESSES * BATCHES  # a budget each: the target says no


def test_a_slot_is_held_a_little_longer_than_the_servers_window() -> None:
    """A quarter of a second and half a percent of the window, at most 5 % of it."""
    assert held_seconds(1.0) == pytest.approx(1.05)  # the one-second budget: capped at 5 %
    assert held_seconds(6.0) == pytest.approx(6.28)
    assert held_seconds(60.0) == pytest.approx(60.55)  # the real API's minute: 0.9 %, where 5 % was 3 s

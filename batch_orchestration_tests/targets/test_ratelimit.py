"""The rate budget is shared through its state file by every limiter that opens it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from batch_orchestration.targets.ratelimit import Budget, SharedRateLimiter


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

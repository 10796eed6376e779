"""Pacing the client just under a target's documented limits, shared by every process.

The budgets live in a SQLite file guarded by a file lock (pyrate-limiter's SQLiteBucket), so the
Dagster steps of several runs on one machine draw from the same budget.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pyrate_limiter import Duration, Limiter, Rate, SQLiteBucket

# Acquire a little more slowly than the server counts, so clock skew between the two sliding
# windows does not turn into 429s.
_SAFETY = 1.05


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    per_seconds: float


def default_state_path(*identity: str) -> Path:
    digest = hashlib.sha256("\x00".join(identity).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"batch_orchestration_ratelimit_{digest}.sqlite"


class SharedRateLimiter:
    """Blocking acquisition of named budgets; one table of the state file per budget."""

    def __init__(self, budgets: list[Budget], state_path: Path) -> None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        self._limiters: dict[str, Limiter] = {}
        for budget in budgets:
            rate = Rate(budget.limit, int(budget.per_seconds * 1000 * _SAFETY) or Duration.SECOND)
            bucket = SQLiteBucket.init_from_file(
                [rate], table=f"budget_{budget.name}", db_path=str(state_path), use_file_lock=True
            )
            self._limiters[budget.name] = Limiter(bucket)

    def acquire(self, *names: str) -> None:
        for name in names:
            self._limiters[name].try_acquire(name, blocking=True)

"""Pacing the client just under a target's documented limits, one budget however many processes send.

The budgets live where every process that loads into the target can reach them (pyrate-limiter's buckets):

- a SQLite file guarded by a file lock (``SQLiteBucket``): the steps of several runs on one machine;
- a PostgreSQL database (``PostgresBucket``, the warehouse's when it is PostgreSQL): steps on any number of
  machines, each acquisition serialised by a table lock and timed by the database's clock, so machines
  whose clocks differ still count one window.
"""

from __future__ import annotations

import atexit
import hashlib
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pyrate_limiter import AbstractBucket, Duration, Limiter, PostgresBucket, Rate, SQLiteBucket

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

# Acquire a little more slowly than the server counts, so clock skew between the two sliding
# windows does not turn into 429s.
_SAFETY = 1.05


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    per_seconds: float


def _digest(*identity: str) -> str:
    return hashlib.sha256("\x00".join(identity).encode()).hexdigest()[:16]


def default_state_path(*identity: str) -> Path:
    return Path(tempfile.gettempdir()) / f"batch_orchestration_ratelimit_{_digest(*identity)}.sqlite"


@cache
def _pool(database_url: str) -> ConnectionPool:
    """One small pool per database and process: every limiter of the process shares it."""
    from psycopg_pool import ConnectionPool  # deferred: only a PostgreSQL budget needs it

    pool = ConnectionPool(database_url, min_size=1, max_size=4, open=True, name="batch_orchestration_ratelimit")
    atexit.register(pool.close)
    return pool


class SharedRateLimiter:
    """Blocking acquisition of named budgets: one table per budget, in the SQLite file ``state_path`` or,
    given a ``database_url``, in that PostgreSQL database (tables named by ``scope``, the target's identity,
    so several targets share a database)."""

    def __init__(self, budgets: list[Budget], state_path: Path | None = None, database_url: str | None = None,
                 scope: tuple[str, ...] = ()) -> None:
        if (state_path is None) == (database_url is None):
            raise ValueError("a rate budget lives in a state file or in a database: give one of them")
        if state_path is not None:
            state_path.parent.mkdir(parents=True, exist_ok=True)
        self._limiters: dict[str, Limiter] = {}
        for budget in budgets:
            rate = Rate(budget.limit, int(budget.per_seconds * 1000 * _SAFETY) or Duration.SECOND)
            bucket: AbstractBucket
            if database_url is not None:
                bucket = PostgresBucket(_pool(database_url), f"bo_{_digest(*scope)}_{budget.name}", [rate])
            else:
                bucket = SQLiteBucket.init_from_file([rate], table=f"budget_{budget.name}", db_path=str(state_path),
                                                     use_file_lock=True)
            self._limiters[budget.name] = Limiter(bucket)

    def acquire(self, *names: str) -> None:
        for name in names:
            self._limiters[name].try_acquire(name, blocking=True)


@cache
def shared_limiter(budgets: tuple[Budget, ...], state_path: Path | None = None, database_url: str | None = None,
                   scope: tuple[str, ...] = ()) -> SharedRateLimiter:
    """One limiter per budget state and process: the connectors a process makes (one a step, or a check)
    share it, its buckets and their leak threads, instead of building them again each time."""
    return SharedRateLimiter(list(budgets), state_path, database_url, scope)

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
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyrate_limiter import AbstractBucket, Limiter, PostgresBucket, Rate, SQLiteBucket

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

# Acquire a little more slowly than the server counts: a request reaches the server (and a busy server counts
# it) a moment after its slot was taken here, and not always equally soon, so its window is held a little
# longer than the server's. That lateness is of time, not of the budget: a quarter of a second (a tenth was not
# enough for a sandbox sharing two cores with a day's validation: one 429 in bench_load) and half a percent of
# the window for the real API's longer round trips, never more than the 5 % of the window it used to be (a
# one-second budget held a quarter longer would slow every read by a fifth).
_MARGIN_SECONDS = 0.25
_MARGIN_SHARE = 0.005
_MARGIN_MAX_SHARE = 0.05


def held_seconds(window: float) -> float:
    """How long this client holds a slot of a budget the server counts over ``window`` seconds."""
    return window + min(_MARGIN_SECONDS + window * _MARGIN_SHARE, window * _MARGIN_MAX_SHARE)


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    per_seconds: float


def _digest(*identity: str) -> str:
    return hashlib.sha256("\x00".join(identity).encode()).hexdigest()[:16]


def default_state_path(*identity: str) -> Path:
    return Path(tempfile.gettempdir()) / f"batch_orchestration_ratelimit_{_digest(*identity)}.sqlite"


_POOLS: dict[str, ConnectionPool] = {}
_LIMITERS: dict[tuple[object, ...], SharedRateLimiter] = {}
_LOCK = threading.Lock()


def _pool(database_url: str) -> ConnectionPool:
    """One small pool per database and process: every limiter of the process shares it."""
    from psycopg_pool import ConnectionPool  # deferred: only a PostgreSQL budget needs it

    with _LOCK:
        if database_url not in _POOLS:
            _POOLS[database_url] = ConnectionPool(database_url, min_size=1, max_size=4, open=True,
                                                  name="batch_orchestration_ratelimit")
        return _POOLS[database_url]


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
            rate = Rate(budget.limit, int(held_seconds(budget.per_seconds) * 1000))
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

    def close(self) -> None:
        for limiter in self._limiters.values():
            limiter.close()


def shared_limiter(budgets: tuple[Budget, ...], state_path: Path | None = None, database_url: str | None = None,
                   scope: tuple[str, ...] = ()) -> SharedRateLimiter:
    """One limiter per budget state and process: the connectors a process makes (one a step, or a check)
    share it, its buckets and their leak threads, instead of building them again each time."""
    key = (budgets, state_path, database_url, scope)
    with _LOCK:
        found = _LIMITERS.get(key)
    if found is None:
        found = SharedRateLimiter(list(budgets), state_path, database_url, scope)
        with _LOCK:
            found = _LIMITERS.setdefault(key, found)
    return found


def release(database_url: str | None = None) -> None:
    """Close what this process holds of the budgets in ``database_url`` (all of them by default): their
    limiters' leak threads, and the database's pool. For a process done with a database (at exit; a test
    before it drops its schema): a later limiter opens them again."""
    with _LOCK:
        keys = [key for key in _LIMITERS if database_url is None or key[2] == database_url]
        limiters = [_LIMITERS.pop(key) for key in keys]
        pools = [_POOLS.pop(url) for url in list(_POOLS) if database_url is None or url == database_url]
    for limiter in limiters:
        limiter.close()
    for pool in pools:
        pool.close()


atexit.register(release)

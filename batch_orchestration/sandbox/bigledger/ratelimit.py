"""Sliding-window rate limits of seeds 000 and 002, thread-safe.

Per API key: 10 requests per real second and 1000 per "hour" (60 windows). Per company: 10 batches
per window, and 5 per window for batches over 100 records; a large batch counts against both.
A rejected attempt consumes nothing, so ``Retry-After`` is the honest time until a slot frees.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError

LARGE_BATCH_RECORDS = 100


@dataclass(frozen=True)
class Quota:
    """What the ``X-RateLimit-*`` headers report."""

    limit: int
    remaining: int
    reset_epoch: float

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_epoch)),
        }


class SlidingWindow:
    """At most ``limit`` hits per key in any ``seconds``-long interval. Not locked: see :class:`Limits`."""

    def __init__(self, name: str, limit: int, seconds: float) -> None:
        self.name = name
        self.limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = {}

    def _live(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        return hits

    def wait(self, key: str, now: float) -> float:
        """Seconds until a hit would be allowed (0 when it is allowed now)."""
        hits = self._live(key, now)
        return 0.0 if len(hits) < self.limit else hits[len(hits) - self.limit] + self.seconds - now

    def hit(self, key: str, now: float) -> None:
        self._live(key, now).append(now)

    def quota(self, key: str, now: float) -> Quota:
        hits = self._live(key, now)
        reset_in = hits[0] + self.seconds - now if hits else self.seconds
        return Quota(self.limit, max(0, self.limit - len(hits)), time.time() + reset_in)


class RateLimited(BigLedgerError):
    def __init__(self, window: SlidingWindow | None, wait: float, quota: Quota, message: str) -> None:
        retry_after = max(1, math.ceil(wait))
        super().__init__(
            429,
            "RATE_LIMIT_EXCEEDED",
            message,
            details={"limit": window.name if window else "concurrent_async_jobs", "retryAfter": retry_after},
            headers={"Retry-After": str(retry_after), **quota.headers()},
        )
        self.retry_after = retry_after


class Limits:
    """All BigLedger limits of one server; ``lock`` lets callers make check-then-act atomic."""

    def __init__(self, window_seconds: float, requests_per_second: int = 10, requests_per_hour: int = 1000) -> None:
        self.lock = threading.RLock()
        self.per_second = SlidingWindow("requests_per_second", requests_per_second, 1.0)
        self.per_hour = SlidingWindow("requests_per_hour", requests_per_hour, 60 * window_seconds)
        self.batches = SlidingWindow("batches_per_window", 10, window_seconds)
        self.large_batches = SlidingWindow("large_batches_per_window", 5, window_seconds)

    def _admit(self, checks: list[tuple[SlidingWindow, str]]) -> None:
        now = time.monotonic()
        waits = [(window.wait(key, now), window, key) for window, key in checks]
        wait, window, key = max(waits, key=lambda item: item[0])
        if wait > 0:
            raise RateLimited(
                window,
                wait,
                window.quota(key, now),
                f"Rate limit exceeded: {window.limit} per {window.seconds:g}s ({window.name})",
            )
        for window, key in checks:
            window.hit(key, now)

    def admit_request(self, api_key: str) -> Quota:
        """Count one request of ``api_key``; raises :class:`RateLimited` when over either limit."""
        with self.lock:
            self._admit([(self.per_second, api_key), (self.per_hour, api_key)])
            return self.request_quota(api_key)

    def request_quota(self, api_key: str) -> Quota:
        with self.lock:
            return self.per_hour.quota(api_key, time.monotonic())

    def admit_batch(self, company: str, records: int) -> None:
        checks = [(self.batches, company)]
        if records > LARGE_BATCH_RECORDS:
            checks.append((self.large_batches, company))
        with self.lock:
            self._admit(checks)

    def batch_quota(self, company: str) -> Quota:
        with self.lock:
            return self.batches.quota(company, time.monotonic())

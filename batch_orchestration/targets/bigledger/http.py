"""HTTP to BigLedger: authentication, pacing, and retries that honour ``Retry-After``.

Reads are retried on 429, 5xx, timeouts and broken connections. Writes are retried only where
nothing can have happened (429, or a connection refused before sending); anything else is reported
as an ambiguous outcome for the loader to reconcile. The API key is sent, never logged or raised.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt

from batch_orchestration.targets.base import AmbiguousOutcome
from batch_orchestration.targets.ratelimit import SharedRateLimiter

log = logging.getLogger(__name__)

_AMBIGUOUS_ERRORS = (requests.Timeout, requests.exceptions.ChunkedEncodingError, requests.ConnectionError)


class RetryableResponse(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class TargetError(Exception):
    """A definite, non-retryable answer (4xx other than 429)."""


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _wait(state: RetryCallState) -> float:
    """``Retry-After`` when the target gave one, else capped exponential backoff."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, RetryableResponse) and error.retry_after is not None:
        return error.retry_after
    return min(8.0, 0.25 * 2 ** (state.attempt_number - 1))


@dataclass
class BigLedgerHttp:
    base_url: str
    company_id: str
    api_key: str
    limiter: SharedRateLimiter
    timeout_seconds: float = 30.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {self.api_key}", "X-Company-Id": self.company_id,
             "User-Agent": "batch_orchestration/0.1"}
        )

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"BigLedgerHttp(base_url={self.base_url!r}, company_id={self.company_id!r})"

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self._session.request(
            method, self.base_url.rstrip("/") + path, timeout=self.timeout_seconds,
            headers={"X-Request-ID": f"req_{uuid.uuid4().hex[:16]}"}, **kwargs,
        )
        self._respect_quota(response)
        return response

    @staticmethod
    def _respect_quota(response: requests.Response) -> None:
        """When the target says the quota is spent, wait for its reset rather than draw a 429."""
        if response.headers.get("X-RateLimit-Remaining") == "0":
            try:
                reset = float(response.headers.get("X-RateLimit-Reset", "0"))
            except ValueError:
                return
            time.sleep(min(60.0, max(0.0, reset - time.time())))

    def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        @retry(
            retry=retry_if_exception_type((RetryableResponse, *_AMBIGUOUS_ERRORS)),
            wait=_wait, stop=stop_after_attempt(self.max_attempts), reraise=True,
        )
        def attempt() -> dict[str, Any]:
            self.limiter.acquire("requests_second", "requests_hour")
            response = self._send("GET", path, params=params)
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableResponse(response.status_code, retry_after_seconds(response))
            if response.status_code >= 400:
                raise TargetError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
            return response.json()

        return attempt()

    def post_batch(self, path: str, body: dict[str, Any], large: bool) -> dict[str, Any]:
        """POST a batch. 429 is retried (nothing was applied); other failures are ambiguous."""
        budgets = ["requests_second", "requests_hour", "batches", *(["large_batches"] if large else [])]
        for _ in range(self.max_attempts):
            self.limiter.acquire(*budgets)
            try:
                response = self._send("POST", path, json=body)
            except requests.exceptions.ConnectionError as exc:
                if _connection_refused(exc):
                    time.sleep(1.0)
                    continue
                raise AmbiguousOutcome(f"POST {path}: {type(exc).__name__}") from None
            except _AMBIGUOUS_ERRORS as exc:
                raise AmbiguousOutcome(f"POST {path}: {type(exc).__name__}") from None
            if response.status_code == 429:
                wait = retry_after_seconds(response) or 1.0
                log.info("BigLedger answered 429; waiting %.1fs as Retry-After says", wait)
                time.sleep(wait)
                continue
            if response.status_code >= 500:
                raise AmbiguousOutcome(f"POST {path}: HTTP {response.status_code}")
            if response.status_code >= 400:
                raise TargetError(f"POST {path}: HTTP {response.status_code}: {response.text[:300]}")
            return response.json()
        raise AmbiguousOutcome(f"POST {path}: still rate limited after {self.max_attempts} attempts")


def _connection_refused(exc: requests.exceptions.ConnectionError) -> bool:
    """A refused connection never reached the server, so a write can be retried safely."""
    text = repr(exc)
    return "ConnectionRefusedError" in text or "NewConnectionError" in text

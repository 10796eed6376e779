"""HTTP to BigLedger: authentication, pacing, and each answer classified for the retry policy.

Reads are retried here under :mod:`batch_orchestration.targets.retry`. A write is sent once: its answer
is returned, or raised as NotApplied (retry freely), AmbiguousOutcome (look the records up first) or
TargetRefused (final), and the loader's batch loop, under the same policy, decides what happens next.
The API key is sent, never logged or raised.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from batch_orchestration.targets.base import AmbiguousOutcome, NotApplied, TargetRefused
from batch_orchestration.targets.ratelimit import SharedRateLimiter
from batch_orchestration.targets.retry import DEFAULT_POLICY, RetryPolicy, send
from batch_orchestration.targets.session import AnswerTally, api_session
from batch_orchestration.targets.wire import encode_json


@dataclass
class BigLedgerHttp:
    base_url: str
    company_id: str
    api_key: str = field(repr=False)
    limiter: SharedRateLimiter = field(repr=False)
    key_variable: str = "BIGLEDGER_API_KEY"
    timeout_seconds: float = 30.0
    policy: RetryPolicy = DEFAULT_POLICY

    answers: AnswerTally = field(default_factory=AnswerTally, repr=False)

    def __post_init__(self) -> None:
        self._session = api_session(self.api_key, self.company_id, self.answers)

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = send(self._session, method, self.base_url.rstrip("/") + path, f"{method} {path}",
                        on_response=self._respect_quota, timeout=self.timeout_seconds,
                        headers={"X-Request-ID": f"req_{uuid.uuid4().hex[:16]}", "Content-Type": "application/json"},
                        **kwargs)
        if response.status_code >= 400:
            raise TargetRefused(response.status_code, self._refusal(method, path, response))
        return response

    def _refusal(self, method: str, path: str, response: requests.Response) -> str:
        try:
            error = response.json().get("error") or {}
            said = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
        except ValueError:
            said = response.text[:300]
        hints = {401: f"check the API key in ${self.key_variable}",
                 403: f"check that the key in ${self.key_variable} may act for company {self.company_id}"}
        hint = hints.get(response.status_code)
        return f"{method} {path}: HTTP {response.status_code} {said}" + (f" ({hint})" if hint else "")

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
        """A read, retried under the policy: reading twice changes nothing."""
        return self.policy.retrying((NotApplied, AmbiguousOutcome))(self._get_once, path, params)

    def _get_once(self, path: str, params: dict[str, str] | None) -> dict[str, Any]:
        self.limiter.acquire("requests_second", "requests_hour")
        return _json(self._send("GET", path, params=params), f"GET {path}")

    def post_batch(self, path: str, body: dict[str, Any], large: bool) -> dict[str, Any]:
        """POST a batch once; the caller retries under the policy (see module docstring)."""
        # The budgets that wait longest first, the request's own last: a slot is counted when it is taken, so
        # one taken while the batch still waits would be counted by the client before the target sees it.
        self.limiter.acquire(*(["large_batches"] if large else []), "batches", "requests_hour", "requests_second")
        return _json(self._send("POST", path, data=encode_json(body)), f"POST {path}")


def _json(response: requests.Response, request: str) -> dict[str, Any]:
    """A success whose body is not JSON (a proxy's page, a cut answer) says nothing of what was applied."""
    try:
        return response.json()
    except ValueError:
        raise AmbiguousOutcome(f"{request}: HTTP {response.status_code} with a body that is not JSON") from None


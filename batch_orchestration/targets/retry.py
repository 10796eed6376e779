"""The one retry policy for every request to a target and every batch sent to it.

What is retried, and how:

- an answer that says nothing happened (429, a connection refused before sending) is retried after
  the wait the target asks for (``Retry-After``, in seconds or as an HTTP date) or an exponential
  backoff with jitter;
- an answer that leaves a write in doubt (a dropped connection, a timeout, a 5xx) is ambiguous: the
  loader looks the records up before it resends any of them; a read is simply retried;
- an answer that cannot change on retry (400, 401, 403, 404, 415, 422 and any other 4xx) is final:
  :class:`~batch_orchestration.targets.base.TargetRefused` fails the step at once, without step retries.

The bound (docs/architecture.md, "Retries"): one request or one batch is tried at most
``max_attempts`` times and given up once ``max_seconds`` have passed or the next wait would cross them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay

from batch_orchestration.targets.base import AmbiguousOutcome, NotApplied

log = logging.getLogger(__name__)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date (RFC 9110, 10.2.3); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    max_seconds: float = 120.0
    backoff_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        """What the target asked for, else full-jitter exponential backoff."""
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        if asked is not None:
            return float(asked)
        ceiling = min(self.backoff_cap_seconds, self.backoff_seconds * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)

    def retrying(self, retry_on: tuple[type[BaseException], ...],
                 before_retry: Callable[[RetryCallState], None] | None = None) -> Retrying:
        """A tenacity loop with this policy, retrying the given exceptions and re-raising the last one."""
        return Retrying(
            retry=retry_if_exception_type(retry_on),
            wait=self.wait,
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.max_seconds),
            before_sleep=before_retry or _log_retry,
            reraise=True,
        )


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("attempt %d failed (%s); retrying in %.1fs", state.attempt_number, error,
                state.upcoming_sleep)


DEFAULT_POLICY = RetryPolicy()


def connection_refused(exc: BaseException) -> bool:
    """A refused connection never reached the server, so a write can be retried safely."""
    text = repr(exc)
    return "ConnectionRefusedError" in text or "NewConnectionError" in text


_IN_DOUBT = (requests.Timeout, requests.exceptions.ChunkedEncodingError, requests.ConnectionError)


def send(session: requests.Session, method: str, url: str, what: str,
         on_response: Callable[[requests.Response], None] | None = None, **kwargs: Any) -> requests.Response:
    """One request; the answers that decide nothing by themselves are raised as the module docstring says.

    Returns a response of status below 400 or a final refusal's (4xx but 408 and 429), for the caller
    to word: a connection refused is NotApplied, a dropped one or a timeout AmbiguousOutcome, 429
    NotApplied with its ``Retry-After``, 408 and 5xx AmbiguousOutcome. ``on_response`` sees every
    answer first, whatever its status (BigLedger's quota headers).
    """
    try:
        response = session.request(method, url, **kwargs)
    except requests.ConnectionError as exc:
        if connection_refused(exc):
            raise NotApplied(f"{what}: the target refused the connection") from None
        raise AmbiguousOutcome(f"{what}: {type(exc).__name__}") from None
    except _IN_DOUBT as exc:
        raise AmbiguousOutcome(f"{what}: {type(exc).__name__}") from None
    if on_response is not None:
        on_response(response)
    if response.status_code == 429:
        raise NotApplied(f"{what}: HTTP 429", retry_after_seconds(response.headers.get("Retry-After")))
    if response.status_code >= 500 or response.status_code == 408:
        raise AmbiguousOutcome(f"{what}: HTTP {response.status_code}")
    return response

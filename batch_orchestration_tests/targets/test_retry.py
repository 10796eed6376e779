"""The retry policy: Retry-After in both forms, the wait, and the bound."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batch_orchestration.targets.base import AmbiguousOutcome, NotApplied, TargetRefused
from batch_orchestration.targets.retry import RetryPolicy, retry_after_seconds

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=4, max_seconds=5.0, backoff_seconds=0.001, backoff_cap_seconds=0.002)


@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0),
    ("Fri, 01 Mar 2024 12:00:30 GMT", 30.0), ("Fri, 01 Mar 2024 11:00:00 GMT", 0.0),
    (None, None), ("", None), ("soon", None),
])
def test_retry_after_in_seconds_or_as_an_http_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


def _failing(errors: list[BaseException]) -> tuple[list[int], object]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return calls, attempt


def test_what_nothing_happened_to_is_retried_until_it_succeeds() -> None:
    calls, attempt = _failing([NotApplied("429"), AmbiguousOutcome("lost")])
    assert FAST.retrying((NotApplied, AmbiguousOutcome))(attempt) == "done"
    assert len(calls) == 3


def test_the_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    calls, attempt = _failing([NotApplied(f"429 #{n}") for n in range(10)])
    with pytest.raises(NotApplied, match="#3"):
        FAST.retrying((NotApplied,))(attempt)
    assert len(calls) == FAST.max_attempts


def test_a_wait_longer_than_the_budget_gives_up_at_once() -> None:
    calls, attempt = _failing([NotApplied("429", retry_after=3600.0)])
    with pytest.raises(NotApplied):
        FAST.retrying((NotApplied,))(attempt)
    assert len(calls) == 1


def test_a_final_answer_is_never_retried() -> None:
    calls, attempt = _failing([TargetRefused(401, "no")])
    with pytest.raises(TargetRefused):
        FAST.retrying((NotApplied, AmbiguousOutcome))(attempt)
    assert len(calls) == 1

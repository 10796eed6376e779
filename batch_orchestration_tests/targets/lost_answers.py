"""Losing a chosen answer of a connector's HTTP client: the request is sent and applied, its answer lost."""

from __future__ import annotations

from typing import Any

from batch_orchestration.targets.base import AmbiguousOutcome


def losing_the_answers_of(http: Any, step: str, lost: set[int]) -> None:
    """The ``step`` requests of ``http`` numbered in ``lost`` (from 1) reach the target over real HTTP and
    are applied there; their answers are lost, as on a dropped connection."""
    real = getattr(http, step)
    calls = 0

    def losing(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        answer = real(*args)
        if calls in lost:
            raise AmbiguousOutcome(f"{step}: the answer was lost")
        return answer

    setattr(http, step, losing)

"""Waiting for a target to finish a batch it processes on its own (eBill's uploads, Bulk Payables' batches).

One owner of the pace: the first ask at once, then after 50 ms, the pause doubling up to
``max_interval_seconds``. A batch still unfinished when the next pause would cross ``timeout_seconds``
is in doubt (AmbiguousOutcome): the loader's next attempt polls on, it does not send anything again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from batch_orchestration.targets.base import AmbiguousOutcome

T = TypeVar("T")


@dataclass(frozen=True)
class PollPolicy:
    timeout_seconds: float = 3600.0
    max_interval_seconds: float = 5.0
    first_interval_seconds: float = 0.05


def poll_until(read: Callable[[], T], finished: Callable[[T], bool], state: Callable[[T], str], what: str,
               policy: PollPolicy) -> T:
    """``read()`` until ``finished`` says so; ``state`` words an unfinished answer, ``what`` the batch."""
    deadline = time.monotonic() + policy.timeout_seconds
    pause = policy.first_interval_seconds
    while True:
        answer = read()
        if finished(answer):
            return answer
        if time.monotonic() + pause > deadline:
            raise AmbiguousOutcome(f"{what} is still {state(answer)} after {policy.timeout_seconds:g} s; "
                                   "the next attempt polls on")
        time.sleep(pause)
        pause = min(pause * 2, policy.max_interval_seconds)

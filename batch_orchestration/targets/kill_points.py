"""Named points where a test makes the process die as ``kill -9`` would: ``BATCH_ORCHESTRATION_KILL_AT``.

The exactly-once tests need a run to die at an exact step of a multi-step upload (after eBill created
the batch, after the upload, ...), which a signal sent from outside hits only by chance. With the
variable unset, as everywhere but in those tests, a point does nothing.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "BATCH_ORCHESTRATION_KILL_AT"


def reached(point: str) -> None:
    if os.environ.get(VARIABLE) == point:
        os.kill(os.getpid(), signal.SIGKILL)

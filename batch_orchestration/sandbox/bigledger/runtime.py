"""State of the BigLedger family shared by its handlers: the sandbox context and the rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from batch_orchestration.sandbox.bigledger.ratelimit import Limits
from batch_orchestration.sandbox.context import SandboxContext


@dataclass
class BigLedger:
    ctx: SandboxContext
    limits: Limits


def bigledger(request: Request) -> BigLedger:
    """FastAPI dependency: the BigLedger state of the app serving this request."""
    return request.app.state.bigledger


Runtime = Annotated[BigLedger, Depends(bigledger)]

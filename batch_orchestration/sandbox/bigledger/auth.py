"""Seed 002 authentication: ``Authorization: Bearer <key>`` plus ``X-Company-Id``.

401 when the key is missing or unknown; 403 when the key belongs to another company or the
company header is missing (a key alone never selects a company). An authenticated request then
counts against its key's request limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError
from batch_orchestration.sandbox.bigledger.runtime import Runtime


@dataclass(frozen=True)
class Caller:
    company: str
    api_key: str


def authenticate(
    request: Request,
    runtime: Runtime,
    authorization: Annotated[str | None, Header(description="Bearer YOUR_API_KEY")] = None,
    x_company_id: Annotated[str | None, Header(alias="X-Company-Id", description="Your company id")] = None,
) -> Caller:
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    owner = runtime.ctx.company_for_key(key) if scheme.lower() == "bearer" and key else None
    if owner is None:
        raise BigLedgerError(401, "UNAUTHORIZED", "Invalid or missing API key")
    if not x_company_id:
        raise BigLedgerError(403, "PERMISSION_ERROR", "The X-Company-Id header is required")
    if x_company_id != owner:
        raise BigLedgerError(403, "PERMISSION_ERROR", "This API key has no access to that company")
    request.scope.setdefault("state", {})["quota"] = runtime.limits.admit_request(key)
    return Caller(company=owner, api_key=key)


Authenticated = Annotated[Caller, Depends(authenticate)]

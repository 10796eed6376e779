"""``GET /v1/auth/verify`` and ``GET /v1/company``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from batch_orchestration.sandbox.bigledger.auth import Authenticated
from batch_orchestration.sandbox.bigledger.envelope import ok
from batch_orchestration.sandbox.bigledger.models import ERROR_RESPONSES, Envelope
from batch_orchestration.sandbox.bigledger.routing import router as make_router
from batch_orchestration.sandbox.bigledger.runtime import Runtime


def _verify(request: Request, caller: Authenticated) -> JSONResponse:
    return ok(request, {"valid": True, "companyId": caller.company, "keyPrefix": caller.api_key[:4] + "..."})


def _company(request: Request, caller: Authenticated, runtime: Runtime) -> JSONResponse:
    counts = runtime.ctx.store.counts(caller.company)
    return ok(request, {"id": caller.company, "name": caller.company, "recordCounts": counts})


def build() -> APIRouter:
    router = make_router(prefix="/v1", tags=["BigLedger account"], responses=ERROR_RESPONSES)
    router.add_api_route(
        "/auth/verify", _verify, methods=["GET"], response_model=Envelope, summary="Check the API key and company"
    )
    router.add_api_route(
        "/company", _company, methods=["GET"], response_model=Envelope, summary="The company of this key"
    )
    return router

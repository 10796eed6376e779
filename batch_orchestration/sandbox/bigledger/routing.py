"""Routes that always answer in the BigLedger envelope and carry the rate-limit and timing headers.

Errors are rendered by the route class itself (not by app-wide exception handlers), so the other API
families of the sandbox keep FastAPI's defaults. Unknown paths under ``/v1`` and ``/api/v1`` get the
envelope through the router's ``default`` hook, which falls back to the previous default otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from batch_orchestration.sandbox.bigledger.envelope import (
    REQUEST_ID_HEADER,
    BigLedgerError,
    error_response,
    request_id,
)
from batch_orchestration.sandbox.bigledger.ratelimit import Quota

log = logging.getLogger(__name__)

PREFIXES = ("/v1/", "/api/v1/")


def _validation_error(exc: RequestValidationError) -> BigLedgerError:
    details = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())[1:]) or str(err.get("loc", ("",))[0]),
            "message": err.get("msg", "invalid"),
            "code": str(err.get("type", "invalid")).upper(),
        }
        for err in exc.errors()
    ]
    return BigLedgerError(422, "VALIDATION_ERROR", "Invalid request", details)


def _decorate(request: Request, response: Response, started: float) -> Response:
    state = request.scope.get("state", {})
    quota: Quota | None = state.get("quota")
    if quota is None:
        quota = request.app.state.bigledger.limits.request_quota(state.get("api_key", ""))
    for name, value in quota.headers().items():
        response.headers.setdefault(name, value)
    response.headers[REQUEST_ID_HEADER] = request_id(request)
    response.headers["X-Response-Time"] = f"{(time.perf_counter() - started) * 1000:.0f}ms"
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


class BigLedgerRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await original(request)
            except BigLedgerError as exc:
                response = error_response(request, exc)
            except RequestValidationError as exc:
                response = error_response(request, _validation_error(exc))
            except Exception:
                log.exception("BigLedger handler failed")
                response = error_response(request, BigLedgerError(500, "SYSTEM_ERROR", "Internal server error"))
            return _decorate(request, response, started)

        return handler


def router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=BigLedgerRoute, **kwargs)


def install_not_found(app: FastAPI) -> None:
    """Answer unknown BigLedger paths with a 404 envelope; other paths keep the previous default."""
    previous: ASGIApp = app.router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIXES):
            await previous(scope, receive, send)
            return
        request = Request(scope, receive)
        started = time.perf_counter()
        error = BigLedgerError(404, "NOT_FOUND", f"No endpoint {scope['method']} {scope['path']}")
        response = _decorate(request, error_response(request, error), started)
        await response(scope, receive, send)

    app.router.default = default

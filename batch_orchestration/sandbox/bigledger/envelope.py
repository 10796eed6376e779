"""Seed 002's response and error envelopes, and the exception every BigLedger handler raises."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from batch_orchestration.sandbox.store import utc_now

REQUEST_ID_HEADER = "X-Request-ID"


class BigLedgerError(Exception):
    """An error answered as ``{"success": false, "error": {...}, "meta": {...}}``."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else []
        self.headers = headers or {}


def not_found(what: str, identifier: str) -> BigLedgerError:
    return BigLedgerError(404, "NOT_FOUND", f"{what} {identifier!r} not found")


def request_id(request: Request) -> str:
    """The caller's ``X-Request-ID`` when sent, else one generated once per request."""
    state = request.scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = request.headers.get(REQUEST_ID_HEADER) or f"req_{secrets.token_hex(8)}"
    return state["request_id"]


def meta(request: Request) -> dict[str, str]:
    return {"timestamp": utc_now(), "requestId": request_id(request)}


def ok(request: Request, data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    """A success envelope; ``extra`` adds top-level keys such as ``pagination``."""
    return JSONResponse({"success": True, "data": data, **extra, "meta": meta(request)}, status_code=status)


def error_response(request: Request, error: BigLedgerError) -> JSONResponse:
    body = {
        "success": False,
        "error": {"code": error.code, "message": error.message, "details": error.details},
        "meta": meta(request),
    }
    return JSONResponse(body, status_code=error.status, headers=error.headers)

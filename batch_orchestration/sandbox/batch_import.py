"""Batch Import API (seed 003): ``POST /v1/import`` with partial success.

Authentication is the bearer key alone (the seed has no company header): the key names the
company. Accepted records are stored under ``import_<type>`` and re-importing the same id (or ref)
replaces the stored record.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from batch_orchestration.sandbox.bearer import company_for_key
from batch_orchestration.sandbox.context import SandboxContext
from batch_orchestration.sandbox.import_schemas import IMPORT_TYPES, RecordError
from batch_orchestration.sandbox.store import Store

MAX_RECORDS = 100


def _answer(status_code: int, msg: str, result: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(
        {"status": "OK" if result is not None else "Error", "msg": msg, "result": result}, status_code=status_code
    )


def import_records(store: Store, company: str, import_type: str, data: list[Any]) -> dict[str, Any]:
    """Store every valid record in one transaction; report the rest by zero-based index."""
    spec = IMPORT_TYPES[import_type]
    accepted, rejected = 0, []
    with store.transaction():
        for index, record in enumerate(data):
            try:
                key, checked = spec.validate(record)
            except RecordError as exc:
                rejected.append({"index": index, "msg": str(exc)})
                continue
            if store.get(company, spec.entity, key) is None:
                store.insert(company, spec.entity, key, checked)
            else:
                store.replace(company, spec.entity, key, checked)
            accepted += 1
    return {"accepted": accepted, "rejected": rejected}


def install(app: FastAPI, ctx: SandboxContext) -> None:
    @app.post("/v1/import", tags=["batch import"], summary="Import up to 100 records of one type")
    async def batch_import(request: Request) -> JSONResponse:
        company = company_for_key(ctx, request.headers.get("authorization"))
        if company is None:
            return _answer(401, "Unauthorized")
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return _answer(415, "Unsupported Media Type")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _answer(400, "Invalid JSON")
        import_type = body.get("type") if isinstance(body, dict) else None
        if not isinstance(import_type, str) or import_type not in IMPORT_TYPES:
            return _answer(400, "Invalid import type")
        data = body.get("data")
        if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
            return _answer(400, "Data should be an array of object.")
        if len(data) > MAX_RECORDS:
            return _answer(400, "Exceeded max allowable batch count.")
        result = await run_in_threadpool(import_records, ctx.store, company, import_type, data)
        return _answer(200, "Data imported", result)

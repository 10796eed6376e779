"""Bulk Payables API (seed 004), designed in the style of the other APIs (docs/target-apis.md).

``Authorization: Bearer <key>`` plus ``X-Company-Id``; responses use the ``{"success", "data"}``
envelope of seed 002. A batch is Open while items are added, Pending once submitted, Processing
while its job runs, then Complete (at least one item became a payable) or Failed (none did).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from batch_orchestration.sandbox.bearer import company_for_headers
from batch_orchestration.sandbox.context import SandboxContext, sandbox_context
from batch_orchestration.sandbox.jobs import create_job
from batch_orchestration.sandbox.payables_models import BatchIn, CollaboratorIn, ItemsIn
from batch_orchestration.sandbox.payables_processing import (
    BATCHES,
    COLLABORATORS,
    ITEMS,
    JOB_KIND,
    PAYABLES,
    PayablesJob,
)
from batch_orchestration.sandbox.store import Store, utc_now


class ApiError(Exception):
    def __init__(self, status_code: int, code: str, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status_code, self.code, self.message, self.details = status_code, code, message, details or []


def _meta() -> dict[str, str]:
    return {"timestamp": utc_now(), "requestId": f"req_{uuid.uuid4().hex[:12]}"}


def ok(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data, "meta": _meta()}, status_code=status_code)


def error_response(exc: ApiError) -> JSONResponse:
    error = {"code": exc.code, "message": exc.message, "details": exc.details}
    return JSONResponse({"success": False, "error": error, "meta": _meta()}, status_code=exc.status_code)


def company_of(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_company_id: Annotated[str | None, Header()] = None,
) -> str:
    company = company_for_headers(sandbox_context(request), authorization, x_company_id)
    if company is None:
        raise ApiError(401, "UNAUTHORIZED", "A bearer key of the company in X-Company-Id is required")
    return company


Company = Annotated[str, Depends(company_of)]
Context = Annotated[SandboxContext, Depends(sandbox_context)]
M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M]) -> M:
    """The JSON body as ``model``, with validation errors in the envelope's ``details``."""
    try:
        raw = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise ApiError(400, "INVALID_JSON", "The body is not valid JSON") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
        raise ApiError(422, "VALIDATION_ERROR", "Invalid request body", details) from exc


def _new_id(store: Store, prefix: str, counter: str) -> str:
    return f"{prefix}_{store.next_number(counter):06d}"


def _batch(store: Store, company: str, batch_id: str) -> dict[str, Any]:
    batch = store.get(company, BATCHES, batch_id)
    if batch is None:
        raise ApiError(404, "NOT_FOUND", f"No bulk payable batch {batch_id}")
    return batch


def _require_open(batch: dict[str, Any]) -> None:
    if batch["status"] != "Open":
        raise ApiError(409, "BATCH_NOT_OPEN", f"Batch {batch['bulkPayableBatchId']} is {batch['status']}, not Open")


router = APIRouter(tags=["bulk payables"])


@router.post("/v1/collaborators", status_code=201)
async def create_collaborator(request: Request, company: Company, ctx: Context) -> JSONResponse:
    body = await parse_body(request, CollaboratorIn)
    email = str(body.email).lower()
    with ctx.store.transaction():
        if ctx.store.find(company, COLLABORATORS, "email", email):
            raise ApiError(409, "DUPLICATE", f"A collaborator with email {email} exists")
        if body.externalId and ctx.store.find(company, COLLABORATORS, "externalId", body.externalId):
            raise ApiError(409, "DUPLICATE", f"A collaborator with externalId {body.externalId} exists")
        record = {
            "id": _new_id(ctx.store, "col", "payables.collaborator"),
            "email": email,
            "name": body.name,
            "externalId": body.externalId,
            "createdAt": utc_now(),
        }
        ctx.store.insert(company, COLLABORATORS, record["id"], record)
    return ok(record, 201)


@router.get("/v1/collaborators")
def list_collaborators(company: Company, ctx: Context) -> JSONResponse:
    return ok(ctx.store.all(company, COLLABORATORS))


@router.post("/v1/bulk-payables/batches", status_code=201)
async def create_batch(request: Request, company: Company, ctx: Context) -> JSONResponse:
    body = await parse_body(request, BatchIn)
    now = utc_now()
    record = {
        "bulkPayableBatchId": _new_id(ctx.store, "bpb", "payables.batch"),
        "clientId": company,
        "status": "Open",
        "processingStrategy": body.processingStrategy,
        "labels": body.labels,
        "itemCount": 0,
        "completeCount": 0,
        "failedCount": 0,
        "createdAt": now,
        "updatedAt": now,
    }
    ctx.store.insert(company, BATCHES, record["bulkPayableBatchId"], record)
    return ok(record, 201)


@router.get("/v1/bulk-payables/batches")
def list_batches(request: Request, company: Company, ctx: Context) -> JSONResponse:
    """The company's batches, oldest first; each ``label.<key>=<value>`` keeps those labelled so.

    The seed gives batches labels for a client's own metadata; finding a batch again by its label is how
    a client that lost the answer to its create (or its run) avoids creating the batch twice.
    """
    wanted = {name.removeprefix("label."): value for name, value in request.query_params.items()
              if name.startswith("label.")}
    batches = ctx.store.all(company, BATCHES)
    return ok([b for b in batches if all(b["labels"].get(key) == value for key, value in wanted.items())])


@router.get("/v1/bulk-payables/batches/{batch_id}")
def get_batch(batch_id: str, company: Company, ctx: Context) -> JSONResponse:
    return ok(_batch(ctx.store, company, batch_id))


@router.post("/v1/bulk-payables/batches/{batch_id}/items", status_code=201)
async def add_items(batch_id: str, request: Request, company: Company, ctx: Context) -> JSONResponse:
    body = await parse_body(request, ItemsIn)
    store = ctx.store
    with store.transaction():
        batch = _batch(store, company, batch_id)
        _require_open(batch)
        if batch["processingStrategy"] == "Merge":
            missing = [
                {"field": f"items.{i}.bulkPayableItemMergeKey", "message": "required for Merge batches"}
                for i, item in enumerate(body.items)
                if not item.bulkPayableItemMergeKey
            ]
            if missing:
                raise ApiError(422, "VALIDATION_ERROR", "Invalid request body", missing)
        created = []
        for item in body.items:
            now = utc_now()
            record = {
                "bulkPayableItemId": _new_id(store, "bpi", "payables.item"),
                "bulkPayableBatchId": batch_id,
                "clientId": company,
                "status": "Open",
                **item.model_dump(mode="json"),
                "metadata": {},
                "createdAt": now,
                "updatedAt": now,
            }
            record["amount"] = float(item.amount)
            store.insert(company, ITEMS, record["bulkPayableItemId"], record)
            created.append(record)
        batch.update(itemCount=batch["itemCount"] + len(created), updatedAt=utc_now())
        store.replace(company, BATCHES, batch_id, batch)
    return ok(created, 201)


@router.get("/v1/bulk-payables/batches/{batch_id}/items")
def list_items(batch_id: str, company: Company, ctx: Context) -> JSONResponse:
    _batch(ctx.store, company, batch_id)
    return ok(ctx.store.find(company, ITEMS, "bulkPayableBatchId", batch_id))


@router.post("/v1/bulk-payables/batches/{batch_id}/submit", status_code=202)
def submit_batch(batch_id: str, company: Company, ctx: Context) -> JSONResponse:
    store = ctx.store
    with store.transaction():
        batch = _batch(store, company, batch_id)
        _require_open(batch)
        if batch["itemCount"] == 0:
            raise ApiError(409, "BATCH_EMPTY", f"Batch {batch_id} has no items")
        batch.update(status="Pending", updatedAt=utc_now())
        store.replace(company, BATCHES, batch_id, batch)
        create_job(store, f"payables-{company}-{batch_id}", company, JOB_KIND, {"batchId": batch_id})
    ctx.jobs.wake()
    return ok(batch, 202)


@router.get("/v1/payables")
def list_payables(company: Company, ctx: Context, bulkPayableBatchId: str | None = None) -> JSONResponse:
    if bulkPayableBatchId:
        return ok(ctx.store.find(company, PAYABLES, "bulkPayableBatchId", bulkPayableBatchId))
    return ok(ctx.store.all(company, PAYABLES))


@router.get("/v1/payables/{payable_id}")
def get_payable(payable_id: str, company: Company, ctx: Context) -> JSONResponse:
    payable = ctx.store.get(company, PAYABLES, payable_id)
    if payable is None:
        raise ApiError(404, "NOT_FOUND", f"No payable {payable_id}")
    return ok(payable)


def _handle_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


def install(app: FastAPI, ctx: SandboxContext) -> None:
    ctx.jobs.register(JOB_KIND, PayablesJob(ctx.jobs, ctx.config.job_record_delay_seconds))
    handler: Callable[[Request, Exception], JSONResponse] = _handle_api_error
    app.add_exception_handler(ApiError, handler)
    app.include_router(router)

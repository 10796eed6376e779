"""``/v1/batch``: the nine entity batch endpoints, async job status and results, and metrics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from batch_orchestration.sandbox.bigledger import async_jobs, metrics
from batch_orchestration.sandbox.bigledger.auth import Authenticated
from batch_orchestration.sandbox.bigledger.entities import ENTITIES, EntitySpec
from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError, ok
from batch_orchestration.sandbox.bigledger.models import ERROR_RESPONSES, BatchRequest, Envelope
from batch_orchestration.sandbox.bigledger.routing import router as make_router
from batch_orchestration.sandbox.bigledger.runner import submit_batch
from batch_orchestration.sandbox.bigledger.runtime import Runtime


def _batch_endpoint(spec: EntitySpec) -> Callable[..., JSONResponse]:
    def endpoint(request: Request, body: BatchRequest, caller: Authenticated, runtime: Runtime) -> JSONResponse:
        operations = [operation.model_dump() for operation in body.operations]
        data, status = submit_batch(runtime, caller.company, spec, operations, body.options)
        return ok(request, data, status)

    endpoint.__name__ = f"batch_{spec.name.replace('-', '_')}"
    return endpoint


def _job(request: Request, job_id: str, caller: Authenticated, runtime: Runtime) -> JSONResponse:
    return ok(request, async_jobs.status_view(runtime.ctx, caller.company, job_id))


def _job_results(request: Request, job_id: str, caller: Authenticated, runtime: Runtime) -> JSONResponse:
    view = async_jobs.status_view(runtime.ctx, caller.company, job_id)
    if view["status"] != "completed":
        raise BigLedgerError(
            409,
            "RESULTS_NOT_READY",
            f"Job {job_id} is {view['status']}",
            details={"status": view["status"], "progress": view["progress"]},
        )
    data = metrics.saved_response(runtime.ctx.store, caller.company, view["batchId"])
    return ok(request, data)


def _metrics(request: Request, caller: Authenticated, runtime: Runtime) -> JSONResponse:
    store, company = runtime.ctx.store, caller.company
    jobs = metrics.job_counts(store, company, async_jobs.KIND)
    quota = runtime.limits.batch_quota(company)
    data: dict[str, Any] = {
        "currentMonth": metrics.current_month(store, company),
        "activeBatches": jobs.get("processing", 0),
        "queuedBatches": jobs.get("queued", 0),
        "rateLimits": {"remaining": quota.remaining, "resetTime": _iso(quota.reset_epoch)},
    }
    return ok(request, data)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build() -> APIRouter:
    router = make_router(prefix="/v1/batch", tags=["BigLedger batch"], responses=ERROR_RESPONSES)
    for spec in ENTITIES.values():
        router.add_api_route(
            f"/{spec.name}",
            _batch_endpoint(spec),
            methods=["POST"],
            response_model=Envelope,
            summary=f"Batch create/update/delete {spec.label.lower()} records (max {spec.max_records})",
            description=f"Operations allowed: {', '.join(sorted(spec.operations))}.",
        )
    router.add_api_route(
        "/jobs/{job_id}", _job, methods=["GET"], response_model=Envelope, summary="Progress of an async batch job"
    )
    router.add_api_route(
        "/jobs/{job_id}/results",
        _job_results,
        methods=["GET"],
        response_model=Envelope,
        summary="Results of a completed async batch job (same shape as a synchronous batch)",
    )
    router.add_api_route(
        "/metrics", _metrics, methods=["GET"], response_model=Envelope, summary="Batch metrics of this company"
    )
    return router

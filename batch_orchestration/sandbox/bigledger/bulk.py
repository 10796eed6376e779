"""Seed 002 ``/v1/bulk/<entity>``: index-based results, one transaction per request.

Bulk requests count against the per-key request limits only, not the batch limits of seed 000.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from batch_orchestration.sandbox.bigledger import records
from batch_orchestration.sandbox.bigledger.auth import Authenticated
from batch_orchestration.sandbox.bigledger.entities import ENTITIES, EntitySpec
from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError, ok
from batch_orchestration.sandbox.bigledger.models import ERROR_RESPONSES, BulkRequest, Envelope
from batch_orchestration.sandbox.bigledger.routing import router as make_router
from batch_orchestration.sandbox.bigledger.runtime import Runtime
from batch_orchestration.sandbox.bigledger.session import Session

# bulk path -> (entity, max records)
BULK_ENDPOINTS = {
    "customers": ("customers", 100),
    "invoices": ("invoices", 50),
    "inventory-adjustments": ("stock-adjustments", 200),
    "journal-entries": ("journal-entries", 100),
    "payments": ("payments", 100),
}


def _result(index: int, outcome: records.Outcome) -> dict[str, Any]:
    if outcome.success:
        return {"index": index, "success": True, "data": outcome.record}
    error = dict(outcome.error or {})
    return {"index": index, "success": False, "error": error}


def _bulk_endpoint(path: str, spec: EntitySpec, max_records: int) -> Callable[..., JSONResponse]:
    def endpoint(request: Request, body: BulkRequest, caller: Authenticated, runtime: Runtime) -> JSONResponse:
        if len(body.operations) > max_records:
            raise BigLedgerError(
                400,
                "BATCH_SIZE_EXCEEDED",
                f"Bulk {path} holds at most {max_records} operations",
                details={"maxRecords": max_records, "receivedRecords": len(body.operations)},
            )
        session = Session(runtime.ctx.store, caller.company, runtime.ctx.config)
        results = []
        with session.store.transaction():
            for index, op in enumerate(body.operations):
                try:
                    with session.store.transaction():
                        outcome = records.apply(session, spec, op.operation, op.data, None, op.id)
                except Exception as exc:
                    outcome = records.system_error(op.operation, f"Unexpected error: {exc}")
                results.append(_result(index, outcome))
        successful = sum(result["success"] for result in results)
        data = {
            "processed": len(results),
            "successful": successful,
            "failed": len(results) - successful,
            "results": results,
        }
        return ok(request, data)

    endpoint.__name__ = f"bulk_{path.replace('-', '_')}"
    return endpoint


def build() -> APIRouter:
    router = make_router(prefix="/v1/bulk", tags=["BigLedger bulk"], responses=ERROR_RESPONSES)
    for path, (entity, max_records) in BULK_ENDPOINTS.items():
        spec = ENTITIES[entity]
        router.add_api_route(
            f"/{path}",
            _bulk_endpoint(path, spec, max_records),
            methods=["POST"],
            response_model=Envelope,
            summary=f"Bulk {path} operations (max {max_records})",
        )
    return router

"""eBill Batch File Upload API (seed 001): XML at ``/rest/batchProcess``.

Modes: ``POST ?mode=BatchInit``, ``POST ?mode=S3FileUpload``, ``PUT ?mode=BatchFinalize`` and
``GET ?id=`` / ``?jobId=``. Authentication (the seed shows none) is the sandbox-wide
``Authorization: Bearer <key>`` plus ``X-Company-Id``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from batch_orchestration.sandbox.bearer import company_for_headers
from batch_orchestration.sandbox.blobs import LocalBlobStore, blob_store_for, install_signed_url_routes
from batch_orchestration.sandbox.context import SandboxContext
from batch_orchestration.sandbox.ebill.errors import EbillError
from batch_orchestration.sandbox.ebill.processing import JOB_KIND, EbillImportJob
from batch_orchestration.sandbox.ebill.service import EbillService
from batch_orchestration.sandbox.ebill.xml_io import error_document, read_request, render

PATH = "/rest/batchProcess"
_MODES = {"BatchInit": "POST", "S3FileUpload": "POST", "BatchFinalize": "PUT"}
_XML = "application/xml"


def install(app: FastAPI, ctx: SandboxContext) -> None:
    blobs = blob_store_for(ctx)
    if isinstance(blobs, LocalBlobStore):
        install_signed_url_routes(app, blobs)
    ctx.jobs.register(JOB_KIND, EbillImportJob(ctx.store, ctx.jobs, blobs, ctx.config.job_record_delay_seconds))

    async def batch_process(request: Request) -> Response:
        try:
            company = company_for_headers(
                ctx, request.headers.get("authorization"), request.headers.get("x-company-id")
            )
            if company is None:
                raise EbillError(401, "UNAUTHORIZED", "A bearer key of the company in X-Company-Id is required")
            service = EbillService(ctx, blobs, company, str(request.base_url))
            mode = request.query_params.get("mode")
            if request.method == "GET":
                if mode is not None:
                    raise EbillError(400, "UNKNOWN_MODE", "Status requests take ?id= or ?jobId=, not a mode")
                params = request.query_params
                node = await run_in_threadpool(service.status, params.get("id"), params.get("jobId"))
                return Response(render(node), media_type=_XML)
            if mode not in _MODES:
                raise EbillError(400, "UNKNOWN_MODE", f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
            if _MODES[mode] != request.method:
                raise EbillError(405, "METHOD_NOT_ALLOWED", f"mode {mode} requires {_MODES[mode]}")
            fields = read_request(await request.body())
            action = {
                "BatchInit": service.init,
                "S3FileUpload": service.create_upload,
                "BatchFinalize": service.finalize,
            }[mode]
            node = await run_in_threadpool(action, fields)
            return Response(render(node), media_type=_XML)
        except EbillError as exc:
            return Response(error_document(exc.code, exc.message), status_code=exc.status_code, media_type=_XML)

    for method in ("GET", "POST", "PUT"):  # one route per method, so each has its own operation id
        app.add_api_route(
            PATH,
            batch_process,
            methods=[method],
            operation_id=f"ebill_batch_process_{method.lower()}",
            tags=["eBill batch file upload"],
            summary="eBill batch process: BatchInit, S3FileUpload, BatchFinalize, status",
        )

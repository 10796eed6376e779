"""The BigLedger API family (seeds 000 and 002): batch, async jobs, reads, bulk, CSV import, templates.

Every route is served under ``/v1`` and, as seed 002 prints its examples, under ``/api/v1`` too.
"""

from __future__ import annotations

from fastapi import FastAPI

from batch_orchestration.sandbox.bigledger import (
    account,
    async_jobs,
    batch,
    bulk,
    csv_import,
    metrics,
    reads,
    session,
    templates,
)
from batch_orchestration.sandbox.bigledger.ratelimit import Limits
from batch_orchestration.sandbox.bigledger.routing import install_not_found
from batch_orchestration.sandbox.bigledger.runtime import BigLedger
from batch_orchestration.sandbox.context import SandboxContext


def install(app: FastAPI, ctx: SandboxContext) -> None:
    for ddl in (session.SCHEMA, metrics.SCHEMA, async_jobs.SCHEMA):
        ctx.store.ensure_schema(ddl)
    app.state.bigledger = BigLedger(ctx=ctx, limits=Limits(
        ctx.config.window_seconds, ctx.config.requests_per_second, ctx.config.requests_per_hour))
    ctx.jobs.register(async_jobs.KIND, async_jobs.handler(ctx))
    # Fixed paths (templates, CSV import, jobs) are added before the parametrised read routes.
    routers = [module.build() for module in (templates, csv_import, batch, bulk, account, reads)]
    for prefix in ("", "/api"):
        for router in routers:
            app.include_router(router, prefix=prefix)
    install_not_found(app)

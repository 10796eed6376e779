"""The sandbox application: one FastAPI app serving the four target API families."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from batch_orchestration.sandbox import inspection
from batch_orchestration.sandbox.config import SandboxConfig
from batch_orchestration.sandbox.context import SandboxContext
from batch_orchestration.sandbox.families import install_families
from batch_orchestration.sandbox.faults import FaultInjector, FaultMiddleware
from batch_orchestration.sandbox.jobs import JobRunner
from batch_orchestration.sandbox.journal import JournalMiddleware, RequestJournal
from batch_orchestration.sandbox.store import Store


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    config = config or SandboxConfig()
    store = Store(config.db_path)
    ctx = SandboxContext(
        config=config,
        store=store,
        jobs=JobRunner(store),
        faults=FaultInjector(config.faults, config.fault_seed),
        journal=RequestJournal(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.jobs.start()
        try:
            yield
        finally:
            ctx.jobs.stop()
            store.close()

    app = FastAPI(
        title="batch_orchestration sandbox",
        version="1.0.0",
        description="A local stand-in for the BigLedger, eBill, Batch Import and Bulk Payables APIs.",
        lifespan=lifespan,
    )
    app.state.sandbox = ctx
    app.add_middleware(FaultMiddleware, injector=ctx.faults)
    app.add_middleware(JournalMiddleware, journal=ctx.journal)  # added last: outermost, sees every try
    app.include_router(inspection.router)
    install_families(app, ctx)
    return app

"""Admitting a batch (size and rate limits) and running it now or as an async job."""

from __future__ import annotations

import secrets
import time
from typing import Any

from batch_orchestration.sandbox.bigledger import async_jobs, metrics
from batch_orchestration.sandbox.bigledger.entities import EntitySpec
from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError
from batch_orchestration.sandbox.bigledger.models import BatchOptions
from batch_orchestration.sandbox.bigledger.processing import Progress, batch_data, conclude, step
from batch_orchestration.sandbox.bigledger.ratelimit import Quota, RateLimited
from batch_orchestration.sandbox.bigledger.runtime import BigLedger
from batch_orchestration.sandbox.bigledger.session import Session
from batch_orchestration.sandbox.store import Discard, utc_now


def run_sync(
    session: Session, spec: EntitySpec, operations: list[dict[str, Any]], options: BatchOptions
) -> dict[str, Any]:
    """The whole batch in one transaction, discarded for validateOnly or a rollbackOnError failure."""
    started_at, clock = utc_now(), time.perf_counter()
    progress = Progress(len(operations))
    results: list[dict[str, Any]] = []
    status = ""
    try:
        with session.store.transaction():
            for row, operation in enumerate(operations, 1):
                results.append(step(session, spec, operation, row, progress, options)[0])
            status, undo_all = conclude(progress, results, operations, options)
            if undo_all:
                raise Discard
    except Discard:
        pass
    data = batch_data(
        f"batch_{secrets.token_hex(6)}", status, progress, results, started_at, utc_now(), time.perf_counter() - clock
    )
    metrics.save_batch(session.store, session.company, spec.name, "sync", data, progress, keep_response=False)
    return data


def submit_batch(
    runtime: BigLedger, company: str, spec: EntitySpec, operations: list[dict[str, Any]], options: BatchOptions
) -> tuple[dict[str, Any], int]:
    """(response data, HTTP status): 200 with results, or 202 with the queued job."""
    if len(operations) > spec.max_records:
        raise BigLedgerError(
            400,
            "BATCH_SIZE_EXCEEDED",
            f"{spec.label} batches hold at most {spec.max_records} records, got {len(operations)}",
            details={"maxRecords": spec.max_records, "receivedRecords": len(operations)},
        )
    ctx, limits = runtime.ctx, runtime.limits
    if not options.async_:
        limits.admit_batch(company, len(operations))
        return run_sync(Session(ctx.store, company, ctx.config), spec, operations, options), 200
    with limits.lock:  # check-then-create must not interleave with another submission
        if len(async_jobs.active_jobs(ctx.store, company)) >= async_jobs.MAX_CONCURRENT:
            wait = async_jobs.seconds_until_slot(ctx, company)
            raise RateLimited(
                None,
                wait,
                Quota(async_jobs.MAX_CONCURRENT, 0, time.time() + wait),
                f"At most {async_jobs.MAX_CONCURRENT} concurrent async batch jobs per company",
            )
        limits.admit_batch(company, len(operations))
        return async_jobs.submit(ctx, company, spec.name, operations, options), 202

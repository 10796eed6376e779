"""Async batches: queued as a persisted job, run record by record, resumable after a restart.

Each record is committed together with its result row and the job's progress, so a server stopped
mid-job resumes exactly where it left off. validateOnly and rollbackOnError cannot discard a
transaction spanning the job, so they replay the per-record undo log at the end instead.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from batch_orchestration.sandbox.bigledger import metrics, records
from batch_orchestration.sandbox.bigledger.entities import ENTITIES
from batch_orchestration.sandbox.bigledger.envelope import not_found
from batch_orchestration.sandbox.bigledger.models import BatchOptions
from batch_orchestration.sandbox.bigledger.processing import Progress, batch_data, conclude, step
from batch_orchestration.sandbox.bigledger.session import Session
from batch_orchestration.sandbox.context import SandboxContext
from batch_orchestration.sandbox.jobs import Job, JobHandler, create_job, get_job, save_job
from batch_orchestration.sandbox.store import Store, utc_now

KIND = "bigledger.batch"
MAX_CONCURRENT = 3
SCHEMA = """
CREATE TABLE IF NOT EXISTS bigledger_job_results (
    job_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    result TEXT NOT NULL,
    undo TEXT,
    PRIMARY KEY (job_id, row)
);
"""


def _seconds_per_record(ctx: SandboxContext) -> float:
    return ctx.config.job_record_delay_seconds + 0.002


def _eta(ctx: SandboxContext, remaining: int) -> str:
    when = datetime.now(UTC) + timedelta(seconds=remaining * _seconds_per_record(ctx))
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def active_jobs(store: Store, company: str) -> list[Job]:
    rows = store.execute(
        "SELECT id FROM jobs WHERE company = ? AND kind = ? AND status IN ('queued','processing') "
        "ORDER BY created_at, id",
        (company, KIND),
    )
    return [job for row in rows if (job := get_job(store, row["id"])) is not None]


def seconds_until_slot(ctx: SandboxContext, company: str) -> float:
    """An honest estimate of when the oldest active job of ``company`` finishes."""
    jobs = active_jobs(ctx.store, company)
    if not jobs:
        return 0.0
    progress = Progress.from_state(jobs[0].state["progress"])
    return (progress.total - progress.next_index) * _seconds_per_record(ctx)


def submit(
    ctx: SandboxContext, company: str, entity: str, operations: list[dict[str, Any]], options: BatchOptions
) -> dict[str, Any]:
    job_id, batch_id = f"job_{secrets.token_hex(6)}", f"batch_{secrets.token_hex(6)}"
    payload = {"entity": entity, "operations": operations, "options": options.model_dump(by_alias=True)}
    state = {"batchId": batch_id, "startedAt": None, "progress": Progress(len(operations)).to_state()}
    create_job(ctx.store, job_id, company, KIND, payload, state)
    ctx.jobs.wake()
    return {
        "jobId": job_id,
        "batchId": batch_id,
        "status": "queued",
        "totalRecords": len(operations),
        "estimatedCompletion": _eta(ctx, len(operations)),
        "progressUrl": f"/v1/batch/jobs/{job_id}",
        "downloadUrl": None,
    }


def _finish(
    ctx: SandboxContext,
    job: Job,
    state: dict[str, Any],
    progress: Progress,
    operations: list[dict[str, Any]],
    options: BatchOptions,
) -> None:
    store = ctx.store
    with store.transaction():
        rows = store.execute("SELECT result, undo FROM bigledger_job_results WHERE job_id = ? ORDER BY row", (job.id,))
        results = [json.loads(row["result"]) for row in rows]
        status, undo_all = conclude(progress, results, operations, options)
        if undo_all:
            records.undo(store, job.company, [json.loads(row["undo"]) for row in rows if row["undo"]])
        completed_at = utc_now()
        started = datetime.fromisoformat(state["startedAt"].replace("Z", "+00:00"))
        elapsed = (datetime.now(UTC) - started).total_seconds()
        data = batch_data(state["batchId"], status, progress, results, state["startedAt"], completed_at, elapsed)
        metrics.save_batch(store, job.company, job.payload["entity"], "async", data, progress, keep_response=True)
        store.execute("DELETE FROM bigledger_job_results WHERE job_id = ?", (job.id,))
        save_job(store, job.id, "completed", {**state, "progress": progress.to_state(), "completedAt": completed_at})


def handler(ctx: SandboxContext) -> JobHandler:
    def run(store: Store, job: Job) -> None:
        spec = ENTITIES[job.payload["entity"]]
        operations: list[dict[str, Any]] = job.payload["operations"]
        options = BatchOptions.model_validate(job.payload["options"])
        session = Session(store, job.company, ctx.config)
        state = dict(job.state)
        progress = Progress.from_state(state["progress"])
        if state["startedAt"] is None:
            state["startedAt"] = utc_now()
            save_job(store, job.id, "processing", state)
        while progress.next_index < len(operations):
            if ctx.jobs.pause(ctx.config.job_record_delay_seconds):
                return  # the server is stopping; the job stays "processing" and resumes on restart
            row = progress.next_index + 1
            with store.transaction():
                result, outcome = step(session, spec, operations[row - 1], row, progress, options)
                undo = json.dumps(outcome.undo) if outcome and outcome.undo else None
                store.execute(
                    "INSERT INTO bigledger_job_results (job_id, row, result, undo) VALUES (?,?,?,?)",
                    (job.id, row, json.dumps(result), undo),
                )
                save_job(store, job.id, "processing", {**state, "progress": progress.to_state()})
        _finish(ctx, job, state, progress, operations, options)

    return run


def status_view(ctx: SandboxContext, company: str, job_id: str) -> dict[str, Any]:
    job = get_job(ctx.store, job_id)
    if job is None or job.company != company or job.kind != KIND:
        raise not_found("Job", job_id)
    progress = Progress.from_state(job.state["progress"])
    done = job.status == "completed"
    return {
        "jobId": job.id,
        "batchId": job.state["batchId"],
        "entity": job.payload["entity"],
        "status": job.status,
        "progress": {
            "totalRecords": progress.total,
            "processedRecords": progress.processed,
            "successfulRecords": progress.successful,
            "failedRecords": progress.failed,
            "skippedRecords": progress.skipped,
            "percentComplete": progress.percent(),
        },
        "startedAt": job.state["startedAt"],
        "estimatedCompletion": job.state.get("completedAt") or _eta(ctx, progress.total - progress.next_index),
        "completedAt": job.state.get("completedAt"),
        "results": {"available": done, "downloadUrl": f"/v1/batch/jobs/{job.id}/results" if done else None},
    }

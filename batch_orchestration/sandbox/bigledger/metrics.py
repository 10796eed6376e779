"""Every finished batch is persisted here; ``GET /v1/batch/metrics`` and async results read it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from batch_orchestration.sandbox.bigledger.processing import Progress
from batch_orchestration.sandbox.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS bigledger_batches (
    id TEXT PRIMARY KEY,
    company TEXT NOT NULL,
    entity TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    processed INTEGER NOT NULL,
    successful INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    execution_time REAL NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT NOT NULL,
    response TEXT
);
CREATE INDEX IF NOT EXISTS bigledger_batches_by_company ON bigledger_batches (company, completed_at);
"""


def save_batch(
    store: Store, company: str, entity: str, mode: str, data: dict[str, Any], progress: Progress, keep_response: bool
) -> None:
    store.execute(
        "INSERT INTO bigledger_batches (id, company, entity, mode, status, total, processed, successful, "
        "failed, skipped, execution_time, started_at, completed_at, response) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            data["batchId"],
            company,
            entity,
            mode,
            data["status"],
            progress.total,
            progress.processed,
            progress.successful,
            progress.failed,
            progress.skipped,
            data["executionTime"],
            data["startedAt"],
            data["completedAt"],
            json.dumps(data) if keep_response else None,
        ),
    )


def saved_response(store: Store, company: str, batch_id: str) -> dict[str, Any] | None:
    rows = store.execute("SELECT response FROM bigledger_batches WHERE company = ? AND id = ?", (company, batch_id))
    return json.loads(rows[0]["response"]) if rows and rows[0]["response"] else None


def current_month(store: Store, company: str) -> dict[str, Any]:
    month = datetime.now(UTC).strftime("%Y-%m")
    row = store.execute(
        "SELECT COUNT(*) AS batches, COALESCE(SUM(total), 0) AS records, AVG(execution_time) AS avg_time, "
        "COALESCE(SUM(successful), 0) AS ok, COALESCE(SUM(processed), 0) AS processed "
        "FROM bigledger_batches WHERE company = ? AND substr(completed_at, 1, 7) = ?",
        (company, month),
    )[0]
    return {
        "totalBatches": int(row["batches"]),
        "totalRecords": int(row["records"]),
        "averageProcessingTime": round(row["avg_time"] or 0.0, 3),
        "successRate": round(100.0 * row["ok"] / row["processed"], 1) if row["processed"] else 0.0,
    }


def job_counts(store: Store, company: str, kind: str) -> dict[str, int]:
    rows = store.execute(
        "SELECT status, COUNT(*) AS n FROM jobs WHERE company = ? AND kind = ? GROUP BY status", (company, kind)
    )
    return {row["status"]: int(row["n"]) for row in rows}

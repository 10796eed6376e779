"""Running a batch's operations in order and building seed 000's batch response.

The same steps serve synchronous batches (one transaction, undone by discarding it) and async jobs
(one transaction per record, undone by replaying the undo log), see :mod:`async_jobs`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from batch_orchestration.sandbox.bigledger import records
from batch_orchestration.sandbox.bigledger.entities import DELETE, EntitySpec
from batch_orchestration.sandbox.bigledger.models import BatchOptions
from batch_orchestration.sandbox.bigledger.session import Session

COMPLETED, VALIDATED, ROLLED_BACK = "completed", "validated", "rolled_back"


@dataclass
class Progress:
    """Counters of a running batch; serialisable so an async job can resume from them."""

    total: int
    processed: int = 0
    successful: int = 0
    failed: int = 0
    skipped: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    warnings: int = 0
    stopped: bool = False

    @property
    def next_index(self) -> int:
        return self.processed + self.skipped

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Progress:
        return cls(**state)

    def percent(self) -> float:
        return round(100.0 * self.next_index / self.total, 1) if self.total else 100.0


def _context(operation: dict[str, Any], row: int) -> dict[str, Any]:
    return {"rowNumber": row, "originalData": operation.get("data")}


def _result_data(spec: EntitySpec, outcome: records.Outcome) -> dict[str, Any]:
    record = outcome.record or {}
    if outcome.operation == DELETE:
        return record
    data = {"id": record.get("id")}
    if spec.result_field:
        data[spec.result_field] = record.get(spec.result_field)
    return data


def step(
    session: Session, spec: EntitySpec, operation: dict[str, Any], row: int, progress: Progress, options: BatchOptions
) -> tuple[dict[str, Any], records.Outcome | None]:
    """Apply the operation at 1-based ``row`` (or skip it after a stop); returns (result, outcome)."""
    result: dict[str, Any] = {"referenceId": operation.get("referenceId"), "operation": operation.get("operation")}
    if progress.stopped:
        progress.skipped += 1
        result |= {
            "success": False,
            "skipped": True,
            "error": {
                "code": "SKIPPED",
                "message": "Not processed: an earlier record failed and continueOnError is false",
                "context": _context(operation, row),
            },
        }
        return result, None
    try:
        with session.store.transaction():
            outcome = records.apply(
                session, spec, operation.get("operation"), operation.get("data"), operation.get("referenceId")
            )
    except Exception as exc:  # a broken record is a SYSTEM_ERROR result, not a failed batch
        outcome = records.system_error(str(operation.get("operation")), f"Unexpected error: {exc}")
    progress.processed += 1
    result |= {"operation": outcome.operation, "success": outcome.success}
    if outcome.success:
        progress.successful += 1
        counter = {"create": "created", "update": "updated", "delete": "deleted"}[outcome.operation]
        setattr(progress, counter, getattr(progress, counter) + 1)
        result["data"] = _result_data(spec, outcome)
    else:
        progress.failed += 1
        progress.stopped = not options.continueOnError
        result["error"] = {**(outcome.error or {}), "context": _context(operation, row)}
    if outcome.warnings:
        progress.warnings += len(outcome.warnings)
        result["warnings"] = outcome.warnings
    return result, outcome


def conclude(
    progress: Progress, results: list[dict[str, Any]], operations: list[dict[str, Any]], options: BatchOptions
) -> tuple[str, bool]:
    """Final status, rewriting results for validateOnly/rollback; True means "undo every write"."""
    if options.validateOnly:
        for result in results:
            if result["success"]:
                result["data"] = {"valid": True}
        progress.created = progress.updated = progress.deleted = 0
        return VALIDATED, True
    if not (options.rollbackOnError and progress.failed):
        return COMPLETED, False
    for row, result in enumerate(results, 1):
        if result["success"]:
            result.pop("data", None)
            result["success"] = False
            result["error"] = {
                "code": "ROLLED_BACK",
                "category": "system",
                "message": "Rolled back because another record failed (rollbackOnError)",
                "context": _context(operations[row - 1], row),
            }
    progress.failed += progress.successful
    progress.successful = progress.created = progress.updated = progress.deleted = 0
    return ROLLED_BACK, True


def batch_data(
    batch_id: str,
    status: str,
    progress: Progress,
    results: list[dict[str, Any]],
    started_at: str,
    completed_at: str,
    execution_time: float,
) -> dict[str, Any]:
    return {
        "batchId": batch_id,
        "status": status,
        "totalRecords": progress.total,
        "processedRecords": progress.processed,
        "successfulRecords": progress.successful,
        "failedRecords": progress.failed,
        "skippedRecords": progress.skipped,
        "results": results,
        "summary": {
            "created": progress.created,
            "updated": progress.updated,
            "deleted": progress.deleted,
            "errors": progress.failed,
            "warnings": progress.warnings,
        },
        "executionTime": round(execution_time, 3),
        "startedAt": started_at,
        "completedAt": completed_at,
    }

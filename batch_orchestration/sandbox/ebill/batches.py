"""Batch processes: their persistence (entity ``ebill_batch_processes``) and their statuses.

Table 4.9.1.3 of the seed is cited but not printed; the sandbox defines it as below (see
docs/target-apis.md). Statuses 1 and 2 have an empty ``downloadUrl``, 3 to 5 have one.
"""

from __future__ import annotations

from typing import Any

from batch_orchestration.sandbox.ebill.errors import EbillError
from batch_orchestration.sandbox.store import Store, utc_now

ENTITY = "ebill_batch_processes"
OPERATION = "eBill-Import"

DRAFT, QUEUED, SUCCESS, PARTIAL, FAILED = "Draft", "Queued", "Success", "PartialSuccess", "Failed"
STATUS_CODES = {DRAFT: 1, QUEUED: 2, SUCCESS: 3, PARTIAL: 4, FAILED: 5}
FINISHED = (SUCCESS, PARTIAL, FAILED)

Batch = dict[str, Any]


def new_batch_id(store: Store, company: str) -> int:
    return store.next_number(f"ebill.batch.{company}")


def blank_batch(batch_id: int, job_id: str, operation: str, sub_operation: str, **extra: Any) -> Batch:
    return {
        "id": batch_id,
        "jobId": job_id,
        "status": DRAFT,
        "operation": operation,
        "subOperation": sub_operation,
        "successCount": 0,
        "successMessage": "BatchProcess is created",
        "errorMessage": "",
        "failCount": 0,
        "parentId": None,
        "createdAt": utc_now(),
        **extra,
    }


class BatchRepository:
    """The batch processes of one company."""

    def __init__(self, store: Store, company: str) -> None:
        self.store = store
        self.company = company

    def insert(self, batch: Batch) -> Batch:
        self.store.insert(self.company, ENTITY, str(batch["id"]), batch)
        return batch

    def save(self, batch: Batch) -> None:
        self.store.replace(self.company, ENTITY, str(batch["id"]), batch)

    def get(self, batch_id: int) -> Batch | None:
        return self.store.get(self.company, ENTITY, str(batch_id))

    def by_job_id(self, job_id: str) -> Batch | None:
        found = self.store.find(self.company, ENTITY, "jobId", job_id)
        return found[0] if found else None

    def children(self, parent_id: int) -> list[Batch]:
        return self.store.find(self.company, ENTITY, "parentId", parent_id)

    def ensure_job_id_free(self, job_id: str) -> None:
        if self.by_job_id(job_id) is not None:
            raise EbillError(409, "DUPLICATE_JOB_ID", f"jobId {job_id!r} is already used by another batch process")

    def resolve(self, batch_id: str | None, job_id: str | None, what: str = "batch process") -> Batch:
        """The batch named by id and/or jobId; both given must name the same one."""
        batch_id, job_id = (batch_id or "").strip() or None, (job_id or "").strip() or None
        if batch_id is None and job_id is None:
            raise EbillError(400, "MISSING_ID", f"id or jobId of the {what} is required")
        if batch_id is not None and not batch_id.isdigit():
            raise EbillError(400, "INVALID_ID", f"id must be a number, got {batch_id!r}")
        batch = self.get(int(batch_id)) if batch_id is not None else self.by_job_id(job_id or "")
        if batch is None:
            shown = f"id {batch_id}" if batch_id is not None else f"jobId {job_id!r}"
            raise EbillError(404, "NOT_FOUND", f"No {what} with {shown}")
        if batch_id is not None and job_id is not None and batch["jobId"] != job_id:
            raise EbillError(400, "ID_MISMATCH", f"id {batch_id} and jobId {job_id!r} name different batch processes")
        return batch


def result_messages(status: str, success: int, failed: int) -> tuple[str, str]:
    """(successMessage, errorMessage) of a finished file batch, worded as the seed prints them."""
    label = {SUCCESS: "Success", PARTIAL: "Partial success", FAILED: "Failed"}[status]
    success_message = f"{label}, {success} records successfully processed, {failed} failed"
    error_message = "" if failed == 0 else f"{failed} of {success + failed} rows failed, see the output file"
    return success_message, error_message


def final_status(success: int, failed: int) -> str:
    if failed == 0:
        return SUCCESS
    return PARTIAL if success else FAILED

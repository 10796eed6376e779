"""The background job behind ``BatchFinalize``: import each file of a batch, row by row.

The job's payload names the files in order (an Invoice batch first, then its ITM children). Each
chunk of rows is stored together with its per-row results and the job's progress in one
transaction, so a job resumed after a restart neither loses nor repeats rows.
"""

from __future__ import annotations

from batch_orchestration.sandbox.blobs import BlobStore
from batch_orchestration.sandbox.ebill.batches import (
    FAILED,
    Batch,
    BatchRepository,
    final_status,
    result_messages,
)
from batch_orchestration.sandbox.ebill.csv_files import (
    SPECS,
    FileError,
    FileSpec,
    Row,
    RowError,
    read_csv,
    write_file_error,
    write_output,
)
from batch_orchestration.sandbox.jobs import Job, JobRunner, save_job
from batch_orchestration.sandbox.store import Store

JOB_KIND = "ebill.batch"
_CHUNK = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ebill_row_results (
    company TEXT NOT NULL, batch_id INTEGER NOT NULL, row INTEGER NOT NULL,
    status TEXT NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY (company, batch_id, row)
);
"""


def output_key(company: str, batch: Batch) -> str:
    stem = batch["inputKey"].rsplit("/", 1)[-1].removesuffix(".csv")
    return f"{company}/out/{stem}_output.csv"


class EbillImportJob:
    """JobRunner handler for kind :data:`JOB_KIND`."""

    def __init__(self, store: Store, runner: JobRunner, blobs: BlobStore, record_delay_seconds: float) -> None:
        store.ensure_schema(_SCHEMA)
        self._runner = runner
        self._blobs = blobs
        self._delay = record_delay_seconds

    def __call__(self, store: Store, job: Job) -> None:
        repo = BatchRepository(store, job.company)
        state = {"file": 0, "row": 0, **job.state}
        files: list[int] = job.payload["files"]
        save_job(store, job.id, "processing", state)
        while state["file"] < len(files):
            batch = repo.get(files[state["file"]])
            if batch is not None:
                if not self._import_file(store, repo, job, batch, state):
                    return  # the runner is stopping; the job resumes from its saved state
                # An Invoice batch is reported finished only once its ITM children are.
                if state["file"] > 0 or len(files) == 1:
                    _settle(batch)
                repo.save(batch)
            state = {"file": state["file"] + 1, "row": 0}
            save_job(store, job.id, "processing", state)
        parent = repo.get(files[0])
        if parent is not None and len(files) > 1:
            _settle(parent)
            repo.save(parent)
        save_job(store, job.id, "completed", state)

    def _import_file(self, store: Store, repo: BatchRepository, job: Job, batch: Batch, state: dict[str, int]) -> bool:
        """Import the rows of one file from ``state["row"]`` on; False when interrupted by a stop."""
        spec = SPECS[batch["subOperation"]]
        key = output_key(job.company, batch)
        try:
            table = read_csv(self._blobs.get(batch["inputKey"]) or b"", spec)
        except FileError as exc:
            batch.update(fileError=f"File rejected: {exc}", outputKey=key)
            self._blobs.put(key, write_file_error(batch["fileError"]))
            return True
        chunk = 1 if self._delay else _CHUNK
        while state["row"] < len(table.rows):
            start = state["row"]
            stop = min(start + chunk, len(table.rows))
            if self._runner.pause(self._delay * (stop - start)):
                return False
            with store.transaction():
                for index in range(start, stop):
                    _import_row(store, job.company, batch, spec, table.rows[index], index)
                state["row"] = stop
                batch.update(_counts(store, job.company, batch["id"]))
                repo.save(batch)
                save_job(store, job.id, "processing", state)
        results = store.execute(
            "SELECT status, message FROM ebill_row_results WHERE company = ? AND batch_id = ? ORDER BY row",
            (job.company, batch["id"]),
        )
        self._blobs.put(key, write_output(table, [(row["status"], row["message"]) for row in results]))
        batch.update(_counts(store, job.company, batch["id"]), outputKey=key)
        return True


def _import_row(store: Store, company: str, batch: Batch, spec: FileSpec, row: Row, index: int) -> None:
    try:
        record_id, record = spec.to_record(store, company, row)
    except RowError as exc:
        status, message = "Failed", str(exc)
    else:
        record["batchProcessId"] = batch["id"]
        if store.get(company, spec.entity, record_id) is None:
            store.insert(company, spec.entity, record_id, record)
        else:
            store.replace(company, spec.entity, record_id, record)
        status, message = "Success", ""
    store.execute(
        "INSERT OR REPLACE INTO ebill_row_results (company, batch_id, row, status, message) VALUES (?, ?, ?, ?, ?)",
        (company, batch["id"], index, status, message),
    )


def _settle(batch: Batch) -> None:
    """Give a processed batch its final status and messages."""
    if batch.get("fileError"):
        batch.update(status=FAILED, successMessage="", errorMessage=batch["fileError"])
        return
    success, failed = batch["successCount"], batch["failCount"]
    status = final_status(success, failed)
    success_message, error_message = result_messages(status, success, failed)
    batch.update(status=status, successMessage=success_message, errorMessage=error_message)


def _counts(store: Store, company: str, batch_id: int) -> dict[str, int]:
    rows = store.execute(
        "SELECT status, COUNT(*) AS n FROM ebill_row_results WHERE company = ? AND batch_id = ? GROUP BY status",
        (company, batch_id),
    )
    by_status = {row["status"]: int(row["n"]) for row in rows}
    return {"successCount": by_status.get("Success", 0), "failCount": by_status.get("Failed", 0)}

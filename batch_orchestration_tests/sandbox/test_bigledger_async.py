"""Async batches: queued -> processing -> completed, results, options, and resuming after a restart."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from batch_orchestration_tests.sandbox.bigledger_helpers import Client, create_op, customer, error_codes


def _submit(client: Client, operations: list[dict[str, Any]], **options: Any) -> str:
    response = client.post("/v1/batch/customers", json={"operations": operations, "options": {"async": True,
                                                                                              **options}})
    assert response.status_code == 202, response.text
    return response.json()["data"]["jobId"]


def _wait_until(client: Client, job_id: str, predicate: Any) -> dict[str, Any]:
    for _ in range(300):
        job = client.get(f"/v1/batch/jobs/{job_id}").json()["data"]
        if predicate(job):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached the expected state")


def test_job_moves_from_queued_through_processing_to_completed(sandbox_factory: Any) -> None:
    client = Client(sandbox_factory(window_seconds=2.0, job_record_delay_seconds=0.05).url)
    first = _submit(client, [create_op(customer(i), f"a{i}") for i in range(20)])
    second = _submit(client, [create_op(customer(100 + i), f"b{i}") for i in range(3)] + [create_op({"name": ""})])
    assert client.get(f"/v1/batch/jobs/{second}").json()["data"]["status"] == "queued"
    running = _wait_until(client, first, lambda job: job["status"] == "processing"
                          and 0 < job["progress"]["processedRecords"] < 20)
    assert 0 < running["progress"]["percentComplete"] < 100 and running["results"]["available"] is False
    early = client.get(f"/v1/batch/jobs/{first}/results")
    assert early.status_code == 409 and early.json()["error"]["code"] == "RESULTS_NOT_READY"
    done = client.wait_for_job(second)
    assert done["status"] == "completed" and done["progress"]["percentComplete"] == 100.0
    assert done["progress"]["successfulRecords"] == 3 and done["progress"]["failedRecords"] == 1
    assert done["results"] == {"available": True, "downloadUrl": f"/v1/batch/jobs/{second}/results"}
    results = client.get(f"/v1/batch/jobs/{second}/results").json()["data"]
    assert results["status"] == "completed" and results["totalRecords"] == 4
    assert error_codes(results) == [None, None, None, "VALIDATION_ERROR"]
    assert [r["referenceId"] for r in results["results"]] == ["b0", "b1", "b2", None]
    assert results["results"][3]["error"]["context"]["rowNumber"] == 4
    assert client.wait_for_job(first)["progress"]["successfulRecords"] == 20


def test_async_rollback_and_validate_only_leave_nothing(sandbox_factory: Any) -> None:
    client = Client(sandbox_factory(window_seconds=2.0).url)
    operations = [create_op(customer(i)) for i in range(4)] + [create_op({"email": "x"})]
    rolled = _submit(client, operations, rollbackOnError=True)
    validated = _submit(client, operations[:4], validateOnly=True)
    skipped = _submit(client, [create_op({"name": ""}), create_op(customer(50))], continueOnError=False)
    for job_id in (rolled, validated, skipped):
        client.wait_for_job(job_id)
    rolled_back = client.get(f"/v1/batch/jobs/{rolled}/results").json()["data"]
    assert rolled_back["status"] == "rolled_back" and error_codes(rolled_back)[:4] == ["ROLLED_BACK"] * 4
    assert client.get(f"/v1/batch/jobs/{validated}/results").json()["data"]["status"] == "validated"
    assert client.get(f"/v1/batch/jobs/{skipped}/results").json()["data"]["skippedRecords"] == 1
    assert client.listing("/v1/customers")["pagination"]["total"] == 0


def test_jobs_belong_to_their_company(sandbox_factory: Any) -> None:
    running = sandbox_factory(companies={"alpha": "key-a", "beta": "key-b"}, window_seconds=2.0)
    alpha, beta = Client(running.url, "key-a", "alpha"), Client(running.url, "key-b", "beta")
    job_id = _submit(alpha, [create_op(customer(1))])
    assert beta.get(f"/v1/batch/jobs/{job_id}").status_code == 404
    assert beta.get(f"/v1/batch/jobs/{job_id}/results").status_code == 404
    assert alpha.get("/v1/batch/jobs/job_unknown").json()["error"]["code"] == "NOT_FOUND"


def test_job_resumes_after_a_restart(sandbox_factory: Any, tmp_path: Path) -> None:
    db_path = str(tmp_path / "jobs.sqlite")
    first = sandbox_factory(db_path=db_path, window_seconds=2.0, job_record_delay_seconds=0.05)
    client = Client(first.url)
    job_id = _submit(client, [create_op(customer(i), f"ref{i}") for i in range(30)])
    _wait_until(client, job_id, lambda job: job["progress"]["processedRecords"] >= 3)
    first.stop()
    with sqlite3.connect(db_path) as db:  # the stopped server left the job half done
        status, state = db.execute("SELECT status, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert status == "processing" and 3 <= json.loads(state)["progress"]["processed"] < 30
    client = Client(sandbox_factory(db_path=db_path, window_seconds=2.0, job_record_delay_seconds=0.01).url)
    job = client.get(f"/v1/batch/jobs/{job_id}").json()["data"]
    assert job["status"] in ("processing", "completed") and job["progress"]["processedRecords"] >= 3
    done = client.wait_for_job(job_id)
    assert done["status"] == "completed" and done["progress"]["successfulRecords"] == 30
    results = client.get(f"/v1/batch/jobs/{job_id}/results").json()["data"]
    assert [r["referenceId"] for r in results["results"]] == [f"ref{i}" for i in range(30)]
    stored = client.listing("/v1/customers", limit=100)["data"]
    assert sorted(r["referenceId"] for r in stored) == sorted(f"ref{i}" for i in range(30))

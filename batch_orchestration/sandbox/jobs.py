"""Background jobs that survive a restart.

A job is a row of the ``jobs`` table. A family registers a handler for its job ``kind``; the runner's
thread picks up every job that is ``queued`` or was left ``processing`` by a stopped server and calls
the handler, which must resume from the ``state`` it saved (handlers commit their progress and the
records they write in one transaction, so a resumed job neither loses nor repeats work).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batch_orchestration.sandbox.store import Store, utc_now

log = logging.getLogger(__name__)

ACTIVE_STATUSES = ("queued", "processing")


@dataclass
class Job:
    id: str
    company: str
    kind: str
    status: str
    payload: dict[str, Any]
    state: dict[str, Any]
    created_at: str
    updated_at: str


JobHandler = Callable[[Store, Job], None]


def _row_to_job(row: Any) -> Job:
    return Job(
        id=row["id"],
        company=row["company"],
        kind=row["kind"],
        status=row["status"],
        payload=json.loads(row["payload"]),
        state=json.loads(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def create_job(store: Store, job_id: str, company: str, kind: str, payload: dict[str, Any],
               state: dict[str, Any] | None = None) -> Job:
    now = utc_now()
    store.execute(
        "INSERT INTO jobs (id, company, kind, status, payload, state, created_at, updated_at) "
        "VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
        (job_id, company, kind, json.dumps(payload), json.dumps(state or {}), now, now),
    )
    return get_job(store, job_id)  # type: ignore[return-value]


def get_job(store: Store, job_id: str) -> Job | None:
    rows = store.execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
    return _row_to_job(rows[0]) if rows else None


def save_job(store: Store, job_id: str, status: str, state: dict[str, Any]) -> None:
    store.execute(
        "UPDATE jobs SET status = ?, state = ?, updated_at = ? WHERE id = ?",
        (status, json.dumps(state), utc_now(), job_id),
    )


def count_active_jobs(store: Store, company: str, kinds: tuple[str, ...]) -> int:
    marks = ",".join("?" for _ in kinds)
    rows = store.execute(
        f"SELECT COUNT(*) FROM jobs WHERE company = ? AND status IN ('queued','processing') AND kind IN ({marks})",
        (company, *kinds),
    )
    return int(rows[0][0])


class JobRunner:
    """One daemon thread that runs queued jobs, oldest first."""

    def __init__(self, store: Store, poll_seconds: float = 0.05) -> None:
        self._store = store
        self._poll_seconds = poll_seconds
        self._handlers: dict[str, JobHandler] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, kind: str, handler: JobHandler) -> None:
        self._handlers[kind] = handler

    def pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early when the runner stops; True means "stop now".

        Long handlers call this between units of work and return when it says so, leaving the job
        ``processing`` so that the next server resumes it.
        """
        return self._stop.wait(seconds) if seconds > 0 else self._stop.is_set()

    def wake(self) -> None:
        """Tell the runner a job was queued, so it need not wait for its next poll."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sandbox-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _next_job(self) -> Job | None:
        kinds = tuple(self._handlers)
        if not kinds:
            return None
        marks = ",".join("?" for _ in kinds)
        rows = self._store.execute(
            f"SELECT * FROM jobs WHERE status IN ('queued','processing') AND kind IN ({marks}) "
            "ORDER BY created_at, id LIMIT 1",
            kinds,
        )
        return _row_to_job(rows[0]) if rows else None

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self._next_job()
            if job is None:
                self._wake.wait(self._poll_seconds)
                self._wake.clear()
                continue
            try:
                self._handlers[job.kind](self._store, job)
            except Exception:  # a broken job must not stop the others
                log.exception("sandbox job %s failed", job.id)
                save_job(self._store, job.id, "failed", {**job.state, "error": "internal error"})
            if self._stop.is_set():
                return

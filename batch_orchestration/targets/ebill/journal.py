"""The connector's memory of its uploads: what eBill cannot tell it again.

eBill answers ``S3FileUpload`` with the upload URL once; its status answers do not repeat it. A run
that dies between creating a batch and uploading its file would leave a Draft batch nobody can fill,
so the URL is written here as soon as eBill gives it. A batch given up on (its URL lost with a lost
answer, or expired) is marked, so later sends pass it by.

A SQLite file in the deployment's state folder, beside the rate budgets, readable by its owner only:
the URLs are credentials until they expire (an hour on the sandbox), so an abandoned batch's is
erased. Nothing here is ever logged. Losing the file loses only the carrying on of Draft batches.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    job_id TEXT PRIMARY KEY,
    upload_url TEXT NOT NULL,
    abandoned INTEGER NOT NULL DEFAULT 0
)
"""


class UploadJournal:
    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        os.chmod(path, 0o600)
        with self._connection() as con:
            con.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"UploadJournal({self._path})"

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self._path, timeout=30)
        try:
            with con:
                yield con
        finally:
            con.close()

    def remember(self, job_id: str, upload_url: str) -> None:
        with self._connection() as con:
            con.execute("INSERT OR REPLACE INTO uploads (job_id, upload_url) VALUES (?, ?)", (job_id, upload_url))

    def upload_url(self, job_id: str) -> str | None:
        with self._connection() as con:
            row = con.execute("SELECT upload_url FROM uploads WHERE job_id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def abandon(self, job_id: str) -> None:
        with self._connection() as con:
            con.execute("INSERT OR IGNORE INTO uploads (job_id, upload_url) VALUES (?, '')", (job_id,))
            con.execute("UPDATE uploads SET abandoned = 1, upload_url = '' WHERE job_id = ?", (job_id,))

    def abandoned(self, job_id: str) -> bool:
        with self._connection() as con:
            row = con.execute("SELECT abandoned FROM uploads WHERE job_id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

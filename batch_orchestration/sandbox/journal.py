"""The sandbox's journal of requests: what each company's client actually sent, byte for byte.

A test can then check the wire itself (an amount written as ``12345678901234.5678``, how many times a
read was tried) rather than what the sandbox made of it. Kept in memory, the newest
:data:`JOURNAL_SIZE` requests of all companies (a batch of 500 customers is about 200 KB, so the
journal stays under about 100 MB); the Authorization header is never recorded. Beside it, the status of
every response each company was given is counted, whatever the journal has forgotten since (how many
429s a client met), and each company's newest :data:`TIMELINE_SIZE` answers are kept without their bodies
(method, path, status, when the request came and was answered: how close a client runs to the rate
limits), some 40 MB for a company that sent that many.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

JOURNAL_SIZE = 500
TIMELINE_SIZE = 200_000
_NOT_JOURNALED = ("/_sandbox", "/docs", "/openapi.json", "/redoc", "/sandbox-uploads")


@dataclass(frozen=True)
class JournalEntry:
    company: str
    method: str
    path: str
    query: str
    body: str


@dataclass(frozen=True)
class Answer:
    """One answered request, without its body; times are epoch seconds."""

    method: str
    path: str
    status: int
    received_at: float
    answered_at: float


class RequestJournal:
    def __init__(self, size: int = JOURNAL_SIZE) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._statuses: dict[str, Counter[int]] = {}
        self._answers: dict[str, deque[Answer]] = {}
        self._lock = threading.Lock()

    def record(self, entry: JournalEntry, status: int | None, received_at: float | None = None) -> None:
        with self._lock:
            self._entries.append(entry)
            if status is not None:
                self._statuses.setdefault(entry.company, Counter())[status] += 1
                answers = self._answers.setdefault(entry.company, deque(maxlen=TIMELINE_SIZE))
                answered_at = time.time()
                answers.append(Answer(entry.method, entry.path, status, received_at or answered_at, answered_at))

    def timeline(self, company: str) -> list[dict[str, object]]:
        """The company's newest answers, oldest first."""
        with self._lock:
            return [asdict(answer) for answer in self._answers.get(company, ())]

    def statuses(self, company: str) -> dict[int, int]:
        """Response status -> how many of the company's requests were answered with it."""
        with self._lock:
            return dict(sorted(self._statuses.get(company, Counter()).items()))

    def of_company(self, company: str) -> list[dict[str, str]]:
        with self._lock:
            return [asdict(entry) for entry in self._entries if entry.company == company]


class JournalMiddleware:
    """ASGI middleware, outermost: every target-API request is journaled, faulted ones included."""

    def __init__(self, app: ASGIApp, journal: RequestJournal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_NOT_JOURNALED):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        received_at = time.time()

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        status: int | None = None

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, recording_receive, recording_send)
        finally:
            headers = dict(scope.get("headers") or [])
            self.journal.record(JournalEntry(
                company=headers.get(b"x-company-id", b"").decode("latin-1"),
                method=scope["method"],
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                body=b"".join(chunks).decode("utf-8", "replace"),
            ), status, received_at)

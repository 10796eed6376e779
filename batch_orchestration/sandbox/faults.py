"""Fault injection, off by default: 5xx, 429, added latency and lost responses.

A *lost response* is the case that makes exactly-once delivery hard: the request is fully handled
and committed, then the connection is closed before the body is sent, so the client cannot know the
outcome. Only the target APIs are affected; ``/_sandbox`` inspection and the OpenAPI document never are.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batch_orchestration.sandbox.config import FaultConfig

_EXEMPT_PREFIXES = ("/_sandbox", "/openapi.json", "/docs", "/redoc", "/sandbox-uploads")


class FaultInjector:
    """Draws faults from a seeded generator; the settings can be changed while the server runs."""

    def __init__(self, config: FaultConfig, seed: int | None) -> None:
        self._lock = threading.Lock()
        self.configure(config, seed)

    def configure(self, config: FaultConfig, seed: int | None) -> None:
        with self._lock:
            self.config = config
            self._random = random.Random(seed)

    def draw(self) -> dict[str, bool]:
        with self._lock:
            c = self.config
            return {
                "latency": c.p_latency > 0 and self._random.random() < c.p_latency,
                "5xx": c.p_5xx > 0 and self._random.random() < c.p_5xx,
                "429": c.p_429 > 0 and self._random.random() < c.p_429,
                "lost": c.p_lost > 0 and self._random.random() < c.p_lost,
            }


class FaultMiddleware:
    """ASGI middleware applying the injector's faults to target-API requests."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        fault = self.injector.draw()
        if fault["latency"]:
            await asyncio.sleep(self.injector.config.latency_ms / 1000)
        if fault["5xx"]:
            await _send_json(send, 503, {"code": "SERVICE_UNAVAILABLE", "message": "Injected fault"}, {})
            return
        if fault["429"]:
            await _send_json(
                send, 429, {"code": "RATE_LIMIT_EXCEEDED", "message": "Injected fault"}, {"retry-after": "1"}
            )
            return
        if not fault["lost"]:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            # Pass the status line through, drop the body: the server then closes the connection
            # mid-response, after the handler has committed its work.
            if message["type"] == "http.response.start":
                await send(message)

        await self.app(scope, receive, swallow)


async def _send_json(send: Send, status: int, error: dict[str, Any], headers: dict[str, str]) -> None:
    body = json.dumps({"success": False, "error": error}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})

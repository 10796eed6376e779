"""Fixtures shared by every test: the sandbox over real HTTP, PostgreSQL, and moto's S3 server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import RunningSandbox, start_in_thread

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("BATCH_ORCHESTRATION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

SandboxFactory = Callable[..., RunningSandbox]


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandboxes with chosen settings (keyword overrides of SandboxConfig); all stop at teardown."""
    started: list[RunningSandbox] = []

    def start(**overrides: object) -> RunningSandbox:
        running = start_in_thread(replace(SandboxConfig(), **overrides))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> RunningSandbox:
    """A fresh in-memory sandbox with the demo company and a short rate-limit window."""
    return sandbox_factory(window_seconds=2.0)


@pytest.fixture
def demo_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": DEMO_COMPANY}


def postgres_available(url: str = POSTGRES_URL) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL; outside CI a missing server skips loudly, in CI it fails."""
    if not postgres_available():
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip("SKIPPED LOUDLY: " + message)
    return POSTGRES_URL

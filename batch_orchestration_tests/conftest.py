"""Fixtures shared by every test: the sandbox over real HTTP, PostgreSQL, and moto's S3 server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import RunningSandbox, start_in_thread
from batch_orchestration.targets import ratelimit

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("BATCH_ORCHESTRATION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BATCH_ORCHESTRATION_TEST_REDIS_URL", "redis://127.0.0.1:6379")

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


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own (1 to 15, emptied after) on the test Redis; outside CI a missing server
    skips loudly, in CI it fails (.ci/run starts it)."""
    import redis

    number = 1 + uuid.uuid4().int % 15
    client = redis.Redis.from_url(f"{REDIS_URL}/{number}", socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError:
        message = f"Redis is not reachable at {REDIS_URL}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the Celery tests must run)")
        pytest.skip("SKIPPED LOUDLY: " + message)
    try:
        yield f"{REDIS_URL}/{number}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on both warehouse backends: a DuckDB file, and a fresh PostgreSQL schema."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        return
    with fresh_postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


@contextmanager
def fresh_postgres_schema(base: str) -> Iterator[str]:
    """A PostgreSQL URL whose search path is a new schema, dropped afterwards: tests never share tables."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        ratelimit.release(url)  # the rate budgets kept there: their leak threads would query dropped tables
        with psycopg.connect(base, autocommit=True) as con:
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')


# moto accepts any credentials; boto3 clients made by the code under test find these in the environment.
FAKE_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a port the OS picks), with fake credentials in the environment."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as env:
        for name, value in FAKE_AWS_ENV.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def moto_s3_bucket(moto_s3_endpoint: str) -> str:
    """A fresh bucket per test on the moto server."""
    import boto3

    name = f"bucket-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name

"""Fixtures for ingest tests: moto's S3 server over real HTTP, and landing-zone file helpers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from batch_orchestration.ingest.landing import LocalLandingZone
from batch_orchestration.ingest.mapping import ColumnMapping, load_mapping

WriteFile = Callable[[str, bytes | str], Path]


@pytest.fixture
def s3_client(moto_s3_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def bucket(s3_client: Any) -> str:
    """A fresh bucket per test, so tests never see each other's objects."""
    name = f"landing-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def landing_root(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def write_file(landing_root: Path) -> WriteFile:
    """Write a file at a key under the landing root (str content is written as UTF-8)."""

    def write(key: str, content: bytes | str) -> Path:
        path = landing_root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def local_zone(landing_root: Path) -> LocalLandingZone:
    return LocalLandingZone(landing_root)


@pytest.fixture
def customers_mapping() -> ColumnMapping:
    return load_mapping("customers")

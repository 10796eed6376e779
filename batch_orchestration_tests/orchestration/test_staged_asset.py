"""The staged asset in real Dagster runs: what it tells the operator about the files it did not stage."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest

from batch_orchestration.orchestration.assets import build_entity_assets
from batch_orchestration.orchestration.partitions import daily_partitions
from batch_orchestration.orchestration.resources import LandingZoneResource, WarehouseResource
from batch_orchestration.targets.routing import default_routing

DAY = "2024-03-01"
GOOD = "CUST_NO,CUST_NAME,EMAIL_ADDR,PHONE_NO\nC1,Alice,a@x.org,\n"
# Names an export tool, a user or an attacker may leave in a day folder; none of them is staged.
IGNORED = {
    "..hidden; export.csv": "hidden or partial file",
    "export.csv.txt": "not a .csv file",
    "nested": "a folder: only the files directly in the day folder are staged",
}


def _staged_asset() -> dg.AssetsDefinition:
    routing = default_routing("http://127.0.0.1:1", "unused", 60.0)  # staging reaches no target
    assets = build_entity_assets(daily_partitions("2024-03-01", "UTC"), routing)
    return next(a for a in assets if isinstance(a, dg.AssetsDefinition) and a.key == dg.AssetKey("customers_staged"))


def _local_landing(tmp_path: Path) -> LandingZoneResource:
    root = tmp_path / "landing"
    day = root / "customers" / DAY
    (day / "nested").mkdir(parents=True)
    (day / "nested" / "inner.csv").write_text(GOOD)
    for name in ("export.csv", "..hidden; export.csv", "export.csv.txt"):
        (day / name).write_text(GOOD)
    return LandingZoneResource(kind="local", root=str(root))


def _s3_landing(endpoint: str, bucket: str) -> LandingZoneResource:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    prefix = f"exports/customers/{DAY}/"
    client.put_object(Bucket=bucket, Key=prefix, Body=b"")  # the folder marker a console creates: not a file
    for name in ("export.csv", "..hidden; export.csv", "export.csv.txt", "nested/inner.csv"):
        client.put_object(Bucket=bucket, Key=prefix + name, Body=GOOD.encode())
    return LandingZoneResource(kind="s3", s3_bucket=bucket, s3_prefix="exports", s3_endpoint_url=endpoint)


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> LandingZoneResource:
    if request.param == "local":
        return _local_landing(tmp_path)
    return _s3_landing(request.getfixturevalue("moto_s3_endpoint"), request.getfixturevalue("moto_s3_bucket"))


def test_files_not_staged_are_counted_listed_and_logged(tmp_path: Path, landing: LandingZoneResource) -> None:
    resources: dict[str, Any] = {
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}", deployment="tests"),
        "landing": landing,
    }
    with dg.instance_for_test() as instance:
        result = dg.materialize([_staged_asset()], partition_key=DAY, resources=resources, instance=instance)
        assert result.success
        warnings = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.level == logging.WARNING and not entry.is_dagster_event
        ]

    (materialization,) = result.asset_materializations_for_node("customers_staged")
    metadata = materialization.metadata
    assert metadata["files"].value == 1
    assert metadata["dagster/row_count"].value == 1
    assert metadata["files_ignored"].value == 3
    assert metadata["files_ignored_detail"].value == [
        {"file": f"customers/{DAY}/{name}", "reason": reason} for name, reason in sorted(IGNORED.items())
    ]
    (warning,) = [w for w in warnings if "ignored" in w]
    assert warning.startswith(f"3 customers files of {DAY} ignored, not staged: ")
    for name, reason in IGNORED.items():
        assert f"{f'customers/{DAY}/{name}'!r} ({reason})" in warning


def test_a_day_with_nothing_ignored_says_so(tmp_path: Path) -> None:
    (tmp_path / "landing" / "customers" / DAY).mkdir(parents=True)
    (tmp_path / "landing" / "customers" / DAY / "export.csv").write_text(GOOD)
    resources: dict[str, Any] = {
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}", deployment="tests"),
        "landing": LandingZoneResource(kind="local", root=str(tmp_path / "landing")),
    }
    with dg.instance_for_test() as instance:
        result = dg.materialize([_staged_asset()], partition_key=DAY, resources=resources, instance=instance)
        warnings = [e for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    (materialization,) = result.asset_materializations_for_node("customers_staged")
    assert materialization.metadata["files_ignored"].value == 0
    assert materialization.metadata["files_ignored_detail"].value == []
    assert warnings == []

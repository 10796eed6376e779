"""The landing sensors: a file dropped locally or uploaded to S3 (moto server) starts a run that loads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import dagster as dg
import pytest

from batch_orchestration.orchestration.resources import LandingZoneResource
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, small_export

pytestmark = pytest.mark.slow


def _tick(pipeline: Pipeline, name: str, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    sensor = pipeline.defs.resolve_sensor_def(name)
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"landing": pipeline.defs.resources["landing"]})
    return sensor(context)


def _load_requested(pipeline: Pipeline, request: dg.RunRequest, instance: dg.DagsterInstance) -> None:
    job = pipeline.defs.resolve_job_def("migration_job")
    assert job.execute_in_process(partition_key=request.partition_key, instance=instance, tags=request.tags).success


def test_local_file_drop_is_picked_up_and_loaded(tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")
    export = tmp_path / "export"
    small_export(export, customers=60)
    landing = tmp_path / "landing"
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)

    with dg.instance_for_test() as instance:
        first = _tick(pipeline, "local_landing_sensor", instance, None)
        assert not first.run_requests  # nothing has landed yet

        day = DAY_KEYS[0]
        for entity in ("customers", "invoices", "invoice_line_items"):
            (landing / entity).mkdir(parents=True, exist_ok=True)
            (export / entity / day).rename(landing / entity / day)
        second = _tick(pipeline, "local_landing_sensor", instance, first.cursor)
        assert {r.partition_key for r in second.run_requests} == {day}
        assert len({r.run_key for r in second.run_requests}) == len(second.run_requests) == 3
        assert _tick(pipeline, "local_landing_sensor", instance, second.cursor).run_requests == []

        _load_requested(pipeline, second.run_requests[0], instance)
        assert pipeline.target_counts()["customers"] == len(pipeline.mapped_keys("customers")) > 0

        # A changed file is a new version: one new run, for its day only.
        changed = next((landing / "customers" / day).glob("*.csv"))
        stat = changed.stat()  # same bytes, a later modification time: a new version
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        third = _tick(pipeline, "local_landing_sensor", instance, second.cursor)
        assert [r.partition_key for r in third.run_requests] == [day]
        assert json.loads(third.cursor)["customers"]["day"] == day


def test_s3_upload_is_picked_up_and_loaded(tmp_path: Path, sandbox, moto_s3_endpoint: str, moto_s3_bucket: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")
    export = tmp_path / "export"
    small_export(export, customers=60)
    settings = make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}", landing_kind="s3",
                             s3_bucket=moto_s3_bucket, s3_prefix="exports/legacy", s3_endpoint_url=moto_s3_endpoint)
    pipeline = Pipeline.build(settings, sandbox)
    s3 = boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1")

    with dg.instance_for_test() as instance:
        assert _tick(pipeline, "local_landing_sensor", instance, None).skip_reason is not None
        first = _tick(pipeline, "s3_landing_sensor", instance, None)
        assert not first.run_requests
        for day in DAY_KEYS[:2]:
            for path in sorted(export.glob(f"*/{day}/*.csv")):
                key = f"exports/legacy/{path.relative_to(export).as_posix()}"
                s3.put_object(Bucket=moto_s3_bucket, Key=key, Body=path.read_bytes())
        second = _tick(pipeline, "s3_landing_sensor", instance, first.cursor)
        assert sorted({r.partition_key for r in second.run_requests}) == DAY_KEYS[:2]
        assert _tick(pipeline, "s3_landing_sensor", instance, second.cursor).run_requests == []

        for request in sorted(second.run_requests, key=lambda r: r.partition_key):
            if request.tags["landing/entity"] == "invoice_line_items":
                _load_requested(pipeline, request, instance)
    invoices = pipeline.mapped_keys("invoices")
    assert invoices and pipeline.target_counts()["invoices"] == len(invoices)


def test_landing_zone_resource_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown landing zone kind"):
        LandingZoneResource(kind="ftp").open()

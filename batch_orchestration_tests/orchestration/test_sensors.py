"""The landing sensors, evaluated directly: a real instance, a real landing folder or moto S3 bucket.

The runs a request asks for are stood in for by a one-op job run on the same instance with the
request's tags (what the daemon would attach), so the sensor sees real queued, running, failed and
successful runs. The real pipeline behind the sensor is in test_sensors_e2e.py.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import dagster as dg
import pytest

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.orchestration.partitions import daily_partitions
from batch_orchestration.orchestration.resources import LandingZoneResource
from batch_orchestration.orchestration.sensors import build_landing_sensor

DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]
PARTITIONS = daily_partitions(DAYS[0], "UTC")
Tick = Callable[[str | None], dg.SensorResult]


def _sensor_ticker(instance: dg.DagsterInstance, landing: LandingZoneResource, kind: str = "local") -> Tick:
    sensor = build_landing_sensor(f"{kind}_landing_sensor", kind, "migration_job", PARTITIONS)

    def tick(cursor: str | None) -> dg.SensorResult:
        return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"landing": landing}))

    return tick


def _land(root: Path, day: str, name: str = "export.csv") -> None:
    for entity in ENTITIES:
        folder = root / entity / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("key\n1\n")


def _stand_in_job(fail: bool = False, started: threading.Event | None = None,
                  release: threading.Event | None = None) -> dg.JobDefinition:
    """A one-op job standing in for the day's run: it may fail, or wait for ``release`` once started."""

    @dg.op
    def day_work() -> None:
        if started is not None and release is not None:
            started.set()
            release.wait()
        if fail:
            raise RuntimeError("the day's run failed")

    @dg.job(name="migration_job_stand_in")
    def stand_in() -> None:
        day_work()

    return stand_in


def _run(instance: dg.DagsterInstance, request: dg.RunRequest, fail: bool = False) -> None:
    """Run the request's stand-in to its end, tagged like the daemon's run of it."""
    tags = {**request.tags, "dagster/partition": request.partition_key}
    result = _stand_in_job(fail).execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    assert result.success is not fail


@contextmanager
def _running(instance: dg.DagsterInstance, tags: dict[str, str]) -> Iterator[None]:
    """A stand-in run that is in progress (STARTED) inside the block, and has succeeded after it."""
    started, release = threading.Event(), threading.Event()
    job = _stand_in_job(started=started, release=release)
    worker = threading.Thread(target=job.execute_in_process, kwargs={"instance": instance, "tags": tags})
    worker.start()
    try:
        assert started.wait(timeout=60), "the stand-in run did not start"
        yield
    finally:
        release.set()
        worker.join()


def _skip(result: dg.SensorResult) -> str:
    assert result.skip_reason is not None, result.run_requests
    return result.skip_reason.skip_message or ""


def _only_request(result: dg.SensorResult) -> dg.RunRequest:
    assert len(result.run_requests) == 1, result.run_requests
    return result.run_requests[0]


def test_files_that_land_together_for_a_day_give_one_run(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    with dg.instance_for_test() as instance:
        tick = _sensor_ticker(instance, LandingZoneResource(kind="local", root=str(landing)))
        empty = tick(None)
        assert not empty.run_requests

        _land(landing, DAYS[0])
        first = tick(empty.cursor)
        request = _only_request(first)
        assert request.partition_key == DAYS[0] and request.tags["landing/files"] == str(len(ENTITIES))
        _run(instance, request)
        settled = tick(first.cursor)
        assert settled.run_requests == [] and _skip(settled) == "no new file versions"

        # A file that changes after its day ran is a new version: one new run of that day, then none.
        changed = landing / "customers" / DAYS[0] / "export.csv"
        stat = changed.stat()
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        after = tick(settled.cursor)
        again = _only_request(after)
        assert again.partition_key == DAYS[0] and again.run_key != request.run_key
        _run(instance, again)
        assert tick(after.cursor).run_requests == []


def test_days_that_land_together_run_one_at_a_time_oldest_first(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for day in DAYS:
        _land(landing, day)
    with dg.instance_for_test() as instance:
        tick = _sensor_ticker(instance, LandingZoneResource(kind="local", root=str(landing)))
        first = tick(None)
        day_one = _only_request(first)
        assert day_one.partition_key == DAYS[0]

        not_started = tick(first.cursor)
        assert not not_started.run_requests and "waiting for the run of 2024-03-01" in _skip(not_started)
        with _running(instance, {**day_one.tags, "dagster/partition": DAYS[0]}):
            in_progress = tick(not_started.cursor)
            assert not in_progress.run_requests and "(STARTED)" in _skip(in_progress)
        cursor = in_progress.cursor

        for day in DAYS[1:]:
            result = tick(cursor)
            request = _only_request(result)
            assert request.partition_key == day
            _run(instance, request)
            cursor = result.cursor
        done = tick(cursor)
        assert not done.run_requests and _skip(done) == "no new file versions"
        assert tick(done.cursor).run_requests == []


def _failed_first_day(instance: dg.DagsterInstance, tick: Tick, landing: Path) -> tuple[dg.RunRequest, str]:
    """Two days land; the first day's run fails; the sensor holds the second. The request and cursor."""
    for day in DAYS[:2]:
        _land(landing, day)
    first = tick(None)
    request = _only_request(first)
    _run(instance, request, fail=True)
    held = tick(first.cursor)
    assert not held.run_requests
    assert "ended FAILURE" in _skip(held) and "2024-03-01" in _skip(held)
    assert tick(held.cursor).run_requests == []
    return request, held.cursor


def test_a_failed_day_holds_later_days_until_it_is_re_executed(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    with dg.instance_for_test() as instance:
        tick = _sensor_ticker(instance, LandingZoneResource(kind="local", root=str(landing)))
        failed, cursor = _failed_first_day(instance, tick, landing)
        _run(instance, failed)  # a re-execution keeps the failed run's tags
        assert _only_request(tick(cursor)).partition_key == DAYS[1]


def test_a_failed_day_goes_again_when_corrected_files_land(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    with dg.instance_for_test() as instance:
        tick = _sensor_ticker(instance, LandingZoneResource(kind="local", root=str(landing)))
        failed, cursor = _failed_first_day(instance, tick, landing)
        (landing / "customers" / DAYS[0] / "fix.csv").write_text("key\n2\n")
        corrected = tick(cursor)
        retry = _only_request(corrected)
        assert retry.partition_key == DAYS[0] and retry.run_key != failed.run_key
        _run(instance, retry)
        assert _only_request(tick(corrected.cursor)).partition_key == DAYS[1]


def test_an_unfinished_run_of_an_earlier_day_from_a_backfill_holds_the_sensor(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _land(landing, DAYS[1])
    with dg.instance_for_test() as instance:
        tick = _sensor_ticker(instance, LandingZoneResource(kind="local", root=str(landing)))
        with _running(instance, {"dagster/partition": DAYS[0], "dagster/backfill": "abcdefgh"}):
            waiting = tick(None)
            assert not waiting.run_requests and "unfinished run" in _skip(waiting)
        assert _only_request(tick(waiting.cursor)).partition_key == DAYS[1]


def test_s3_days_that_land_together_run_one_at_a_time(moto_s3_endpoint: str, moto_s3_bucket: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1")
    landing = LandingZoneResource(kind="s3", s3_bucket=moto_s3_bucket, s3_prefix="exports/legacy",
                                  s3_endpoint_url=moto_s3_endpoint)
    with dg.instance_for_test() as instance:
        assert _skip(_sensor_ticker(instance, landing, "local")(None)) == "the landing zone is s3, not local"
        tick = _sensor_ticker(instance, landing, "s3")
        for day in DAYS[:2]:
            for entity in ENTITIES:
                s3.put_object(Bucket=moto_s3_bucket, Key=f"exports/legacy/{entity}/{day}/export.csv", Body=b"key\n1\n")
        cursor = None
        for day in DAYS[:2]:
            result = tick(cursor)
            request = _only_request(result)
            assert request.partition_key == day
            assert tick(result.cursor).run_requests == []  # held until the run has succeeded
            _run(instance, request)
            cursor = result.cursor
        assert tick(cursor).run_requests == []


def test_landing_zone_resource_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown landing zone kind"):
        LandingZoneResource(kind="ftp").open()

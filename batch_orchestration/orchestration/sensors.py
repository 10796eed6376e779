"""Sensors that start a run when export files land, in a local folder or an S3 prefix.

A tick asks for at most one run: the whole ``migration_job`` for the oldest day that has new or
changed file versions (all the day's entities together, since they depend on each other within the
day). Later days are held until that run has succeeded; then the next tick asks for the next day.

Why one day at a time rather than every pending day at once with its own run key: the entities of a
day, and each day's loads, depend on what came before (invoices are validated against customers
validated up to their day), and the daemon's run queue does not promise to start the requests of
one tick in order, nor to wait for one to finish before the next. Holding later days in the cursor
until the instance shows the earlier day's run succeeded is the only order that survives the queue.
The same check waits while any run of an earlier or the same day is unfinished, whoever launched it
(a backfill, the nightly schedule, the UI), so the sensor never overtakes them either.

The cursor keeps ``done`` (the newest day the sensor saw succeed, with the file versions it ran) and
``requested`` (the day asked for and not yet seen to succeed). Each tick lists only the date folders
from ``done``'s day on. The run key is the day and a digest of every file version of that day, so
one set of versions runs at most once; a file that changes after its day ran gives one new run of
that day. The run carries the key in the ``landing/request`` tag too, which re-executions keep:
if the run failed or was canceled, later days stay held (the skip reason says which run), until an
operator re-executes it from the UI or lands corrected files for that day (a new version, a new run).
Files that land late in a folder older than ``done``'s day are not noticed: launch a run of that
day instead (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import dagster as dg

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.ingest.landing import LandingZone, is_day
from batch_orchestration.orchestration.partitions import PARTITION_TAG
from batch_orchestration.orchestration.resources import LandingZoneResource

REQUEST_TAG = "landing/request"
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUSPENDED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class DayFiles:
    """Every entity's files of one day, as file key -> version."""

    day: str
    files: dict[str, str]

    @property
    def run_key(self) -> str:
        digest = hashlib.sha256(json.dumps(sorted(self.files.items())).encode()).hexdigest()[:16]
        return f"{self.day}/{digest}"

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "files": self.files}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DayFiles | None:
        return cls(data["day"], dict(data["files"])) if data else None


@dataclass(frozen=True)
class LandingCursor:
    done: DayFiles | None = None
    requested: DayFiles | None = None

    def dumps(self) -> str:
        return json.dumps({"done": self.done and self.done.to_json(),
                           "requested": self.requested and self.requested.to_json()}, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> LandingCursor:
        data = json.loads(text) if text else {}
        return cls(DayFiles.from_json(data.get("done")), DayFiles.from_json(data.get("requested")))


@dataclass(frozen=True)
class Evaluation:
    request: dg.RunRequest | None
    skip_reason: str | None
    cursor: LandingCursor
    outside_partitions: list[str]
    held_by_failure: bool = False


def oldest_new_day(zone: LandingZone, done: DayFiles | None,
                   valid_days: set[str]) -> tuple[DayFiles | None, list[str]]:
    """The oldest day with a new or changed file version since ``done``, and the days before it that
    have files but are not partitions (they are never run)."""
    since = done.day if done else None
    days = sorted({day for entity in ENTITIES for day in zone.list_days(entity, since=since)})
    outside = []
    for day in days:
        files = {f.key: f.version for entity in ENTITIES for f in zone.list_files(entity, day)}
        ran = done.files if done and day == done.day else {}
        if all(ran.get(key) == version for key, version in files.items()):
            continue
        if day not in valid_days:
            outside.append(day)
            continue
        return DayFiles(day, files), outside
    return None, outside


def _latest_run(instance: dg.DagsterInstance, run_key: str) -> dg.DagsterRun | None:
    """The newest run carrying the request's key: the requested run or its latest re-execution."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={REQUEST_TAG: run_key}), limit=1)
    return records[0].dagster_run if records else None


def _unfinished_run_up_to(instance: dg.DagsterInstance, day: str) -> dg.DagsterRun | None:
    """A queued or running run of ``day`` or an earlier day, from the sensor or anywhere else."""
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        partition = record.dagster_run.tags.get(PARTITION_TAG, "")
        if is_day(partition) and partition <= day:
            return record.dagster_run
    return None


def evaluate_landing(zone: LandingZone, cursor: LandingCursor, partitions: dg.PartitionsDefinition,
                     instance: dg.DagsterInstance) -> Evaluation:
    """What one tick does: at most one run request, or why not, and the next cursor."""
    requested, failed = cursor.requested, None
    if requested is not None:
        run = _latest_run(instance, requested.run_key)
        if run is None or not run.is_finished:
            state = run.status.value if run else "not created yet"
            return Evaluation(None, f"waiting for the run of {requested.day} ({state}) before any other day",
                              cursor, [])
        if run.is_success:
            cursor = LandingCursor(done=requested)
        else:
            failed = run
    pending, outside = oldest_new_day(zone, cursor.done, set(partitions.get_partition_keys()))
    # Only new versions of the failed day (or of an earlier one) may go ahead of it.
    if failed is not None and not (pending and pending.day <= requested.day and pending.run_key != requested.run_key):
        reason = (f"the run {failed.run_id} of {requested.day} ended {failed.status.value}; later days are held "
                  f"until it is re-executed successfully or corrected files land for {requested.day}")
        return Evaluation(None, reason, cursor, outside, held_by_failure=True)
    if pending is None:
        return Evaluation(None, "no new file versions", cursor, outside)
    blocker = _unfinished_run_up_to(instance, pending.day)
    if blocker is not None:
        reason = (f"waiting for the unfinished run {blocker.run_id} of {blocker.tags[PARTITION_TAG]} "
                  f"before starting {pending.day}")
        return Evaluation(None, reason, cursor, outside)
    request = dg.RunRequest(run_key=pending.run_key, partition_key=pending.day,
                            tags={REQUEST_TAG: pending.run_key, "landing/files": str(len(pending.files))})
    return Evaluation(request, None, LandingCursor(done=cursor.done, requested=pending), outside)


def build_landing_sensor(name: str, kind: str, job_name: str,
                         partitions: dg.PartitionsDefinition) -> dg.SensorDefinition:
    """A sensor for a landing zone of ``kind`` (local or s3); it idles when the zone is of the other kind."""

    @dg.sensor(name=name, job_name=job_name, minimum_interval_seconds=30,
               description=f"Runs the oldest day whose {kind} export files landed or changed, one day at a time.")
    def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource) -> dg.SensorResult:
        if landing.kind != kind:
            return dg.SensorResult(skip_reason=f"the landing zone is {landing.kind}, not {kind}")
        result = evaluate_landing(landing.open(), LandingCursor.loads(context.cursor), partitions, context.instance)
        if result.outside_partitions:
            context.log.warning(f"files in days that are not partitions (before the start date, or not over yet) "
                                f"are not run now: {', '.join(result.outside_partitions)}")
        if result.held_by_failure:
            context.log.warning(result.skip_reason)
        if result.request is None:
            return dg.SensorResult(skip_reason=result.skip_reason, cursor=result.cursor.dumps())
        return dg.SensorResult(run_requests=[result.request], cursor=result.cursor.dumps())

    return landing_sensor

"""Sensors that start a run when export files land, in a local folder or an S3 prefix.

The cursor keeps, per entity, the latest day seen and the versions of that day's files: each tick
lists only date folders from that day on (not the whole zone), and a file that is new or changed
yields a run for its day. The run key is made of the day and its new file versions, so the same
version never runs twice. Files that land late in a folder older than the cursor's day are not
noticed: launch a backfill of that day instead (docs/operations.md).
"""


import hashlib
import json
from typing import Any

import dagster as dg

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.ingest.landing import LandingZone
from batch_orchestration.orchestration.resources import LandingZoneResource


def _run_key(entity: str, day: str, versions: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(json.dumps(sorted(versions)).encode()).hexdigest()[:16]
    return f"{entity}/{day}/{digest}"


def scan_landing_zone(zone: LandingZone, cursor: dict[str, Any],
                      partitions: dg.PartitionsDefinition) -> tuple[list[dg.RunRequest], list[str], dict[str, Any]]:
    """Run requests for new file versions, days skipped as outside the partitions, and the next cursor."""
    valid_days = set(partitions.get_partition_keys())
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    next_cursor: dict[str, Any] = {}
    for entity in ENTITIES:
        state = cursor.get(entity, {})
        since, seen = state.get("day"), state.get("seen", {})
        latest, latest_seen = since, dict(seen) if since else {}
        for day in zone.list_days(entity, since=since):
            versions = [(f.key, f.version) for f in zone.list_files(entity, day)]
            known = seen if day == since else {}
            new = [(key, version) for key, version in versions if known.get(key) != version]
            if new and day in valid_days:
                requests.append(dg.RunRequest(run_key=_run_key(entity, day, new), partition_key=day,
                                              tags={"landing/entity": entity, "landing/files": str(len(new))}))
            elif new:
                skipped.append(f"{entity}/{day}")
            if latest is None or day >= latest:
                latest, latest_seen = day, dict(versions)
        if latest is not None:
            next_cursor[entity] = {"day": latest, "seen": latest_seen}
    return requests, skipped, next_cursor


def build_landing_sensor(name: str, kind: str, job_name: str,
                         partitions: dg.PartitionsDefinition) -> dg.SensorDefinition:
    """A sensor for a landing zone of ``kind`` (local or s3); it idles when the zone is of the other kind."""

    @dg.sensor(name=name, job_name=job_name, minimum_interval_seconds=30,
               description=f"Starts a run of the day's partition when {kind} export files land or change.")
    def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource) -> dg.SensorResult:
        if landing.kind != kind:
            return dg.SensorResult(skip_reason=f"the landing zone is {landing.kind}, not {kind}")
        cursor = json.loads(context.cursor) if context.cursor else {}
        requests, skipped, next_cursor = scan_landing_zone(landing.open(), cursor, partitions)
        if skipped:
            context.log.warning(f"files in days outside the partitions were ignored: {', '.join(skipped)}")
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(next_cursor, sort_keys=True))

    return landing_sensor

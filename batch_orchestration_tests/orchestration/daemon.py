"""A real ``dagster dev`` (webserver, daemon, code server) for tests, driven the way the UI drives it: GraphQL.

Backfills are launched with the UI's own mutation (``launchPartitionBackfill``), the daemon submits and
dequeues their runs, and the order the steps ran in is read back from the instance's event log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import dagster as dg
import requests

from batch_orchestration.demo.routing import INSPECTED
from batch_orchestration.orchestration.sensors import UNFINISHED

REPOSITORY = {"repositoryLocationName": "batch_orchestration", "repositoryName": "__repository__"}

_LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on PartitionSetNotFoundError { message }
  }
}"""
_BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on PythonError { message }
  }
}"""
_PARTITIONS = """
query Partitions($repository: RepositorySelector!, $name: String!) {
  partitionSetOrError(repositorySelector: $repository, partitionSetName: $name) {
    __typename
    ... on PartitionSet { partitionsOrError { ... on Partitions { results { name } } } }
  }
}"""

_RESOURCE = """
query Resource($selector: ResourceSelector!) {
  topLevelResourceDetailsOrError(resourceSelector: $selector) {
    __typename
    ... on ResourceDetails { configuredValues { key value type } }
  }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DagsterDev:
    url: str
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
        assert answer.ok, f"{answer.status_code}: {answer.text[:2000]}"
        body = answer.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def partition_keys(self, job: str) -> list[str]:
        found = self.graphql(_PARTITIONS, {"repository": REPOSITORY, "name": f"{job}_partition_set"})
        return [p["name"] for p in found["partitionSetOrError"]["partitionsOrError"]["results"]]

    def resource_config(self, name: str) -> dict[str, tuple[str, str]]:
        """What the UI shows of a resource's configuration: field -> (VALUE or ENV_VAR, the value or variable)."""
        found = self.graphql(_RESOURCE, {"selector": {**REPOSITORY, "resourceName": name}})
        details = found["topLevelResourceDetailsOrError"]
        assert details["__typename"] == "ResourceDetails", details
        return {value["key"]: (value["type"], value["value"]) for value in details["configuredValues"]}

    def launch_backfill(self, partitions: list[str] | None, job: str | None = None,
                        assets: list[str] | None = None) -> str:
        """A job backfill (``job``) or an asset backfill (``assets``) of ``partitions`` (None: all of them, the
        UI's "All partitions"), as the UI asks for it."""
        params: dict[str, Any] = {"partitionNames": partitions} if partitions else {"allPartitions": True}
        if job:
            params["selector"] = {"partitionSetName": f"{job}_partition_set", "repositorySelector": REPOSITORY}
        if assets:
            params["assetSelection"] = [{"path": [name]} for name in assets]
        outcome = self.graphql(_LAUNCH, {"params": params})["launchPartitionBackfill"]
        assert outcome["__typename"] == "LaunchBackfillSuccess", outcome
        return outcome["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        found = self.graphql(_BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        assert found["__typename"] == "PartitionBackfill", found
        return found["status"]

    def wait_for_backfill(self, instance: dg.DagsterInstance, backfill_id: str, runs: int | None = None,
                          timeout: float = 420) -> list[dg.DagsterRun]:
        """Wait until the daemon has settled the backfill and every run it made is over; its runs, oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.backfill_status(backfill_id)
            made = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            settled = status not in ("REQUESTED", "CANCELING", "FAILING")
            if settled and made and not any(r.status in UNFINISHED for r in made) and len(made) >= (runs or 1):
                return sorted(made, key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)
            assert time.monotonic() < deadline, (f"backfill {backfill_id} still {status} with "
                                                 f"{[r.status.value for r in made]}; log: {self.tail()}")
            time.sleep(2)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


@contextmanager
def dagster_dev(command: list[str], env: dict[str, str], port: int, log: Path,
                timeout: float = 180) -> Iterator[DagsterDev]:
    """Start ``command`` (it serves the UI on ``port``), wait until the code location answers, stop it after.

    It runs in a session of its own, so stopping it stops the webserver, the daemon, the code server and the
    runs they launched, whatever their parent."""
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
    dev = DagsterDev(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"it stopped: {dev.tail()}"
            try:
                if dev.partition_keys("migration_job"):
                    break
            except (requests.ConnectionError, AssertionError, KeyError, TypeError):
                pass
            assert time.monotonic() < deadline, f"the UI did not come up: {dev.tail()}"
            time.sleep(1)
        yield dev
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGINT lets ``dagster dev`` stop its daemon and servers; what is left of its session is then killed."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with suppress(subprocess.TimeoutExpired):
        process.wait(60)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@dataclass(frozen=True)
class StepSpan:
    day: str
    started: float
    succeeded: float | None


def step_spans(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> dict[str, list[StepSpan]]:
    """step key -> when it started and succeeded in each run (its partition), from the event log."""
    found: dict[str, dict[str, StepSpan]] = defaultdict(dict)
    for run in runs:
        day = run.tags["dagster/partition"]
        started: dict[str, float] = {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or record.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                started[record.step_key] = record.timestamp
            elif event.event_type_value == "STEP_SUCCESS":
                found[record.step_key][day] = StepSpan(day, started[record.step_key], record.timestamp)
        for step, at in started.items():
            found[step].setdefault(day, StepSpan(day, at, None))
    return {step: sorted(days.values(), key=lambda s: s.day) for step, days in found.items()}


def assert_days_in_order(spans: dict[str, list[StepSpan]], steps: list[str], days: list[str]) -> None:
    """Each of ``steps`` ran on every one of ``days``, and started on a day only after the day before succeeded."""
    for step in steps:
        ran = spans.get(step, [])
        assert [s.day for s in ran] == days, f"{step} ran on {[s.day for s in ran]}, not on each of {days}"
        for before, after in pairwise(ran):
            assert before.succeeded is not None, f"{step} {before.day} did not succeed"
            assert after.started >= before.succeeded, (
                f"{step} {after.day} started {before.succeeded - after.started:.2f} s before {before.day} was done")


def target_matches_id_map(sandbox_url: str, company: str, key: str, warehouse_url: str) -> dict[str, int]:
    """What the sandbox's BigLedger holds per entity equals the ID map's records (nothing twice, nothing
    missing); the counts, for the caller to see that something was loaded."""
    from batch_orchestration.warehouse import open_warehouse

    held = requests.get(f"{sandbox_url}/_sandbox/companies/{company}/counts",
                        headers={"Authorization": f"Bearer {key}"}, timeout=30).json()["counts"]
    with open_warehouse(warehouse_url).session() as session:
        mapped = dict(session.fetch_all("SELECT entity, COUNT(DISTINCT target_id) FROM id_map "
                                        "WHERE target = 'bigledger' GROUP BY entity"))
    compared = {entity: (held.get(name, 0), int(mapped.get(entity, 0)))
                for entity, name in INSPECTED["bigledger"].items()}
    assert all(target == loaded for target, loaded in compared.values()), compared
    return {entity: loaded for entity, (_, loaded) in compared.items()}

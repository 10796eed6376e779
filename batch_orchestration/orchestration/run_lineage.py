"""OpenLineage events for each stage run: START, then COMPLETE or FAIL, with the datasets it read and wrote.

Sent through the ``openlineage-python`` client configured the standard way (its ``openlineage.yml``, where
``OPENLINEAGE_CONFIG`` or the client looks for it, or ``OPENLINEAGE__TRANSPORT__*`` / ``OPENLINEAGE_URL``
variables); off when none is set, or with ``OPENLINEAGE_DISABLED=true``. Datasets: a landing folder or
S3 prefix of a day (namespace ``file`` or ``s3://<bucket>``), the warehouse's tables (namespace: its URL
without the password), and a target's entity endpoint (namespace: the target's base URL). Staged and
validated tables carry column lineage (each canonical column from its legacy column, each validated
column from its staged one, each field of a target's payload from the validated columns its binding builds
it from, as ``load/payload_lineage.py`` observes them). An event that cannot be sent is logged, never fails the stage.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.ingest.mapping import load_mapping
from batch_orchestration.load.payload_lineage import Lineage
from batch_orchestration.warehouse.schema import staged_table as staged_table_name
from batch_orchestration.warehouse.schema import validated_table as validated_table_name

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

log = logging.getLogger(__name__)

NAMESPACE = "batch_orchestration"  # the jobs'
PRODUCER = "https://github.com/batch-orchestration/batch_orchestration"


@dataclass(frozen=True)
class Dataset:
    namespace: str
    name: str
    # column -> the (namespace, name, column) it is computed from
    columns_from: Mapping[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)


def _configured() -> bool:
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_URL") or any(name.startswith("OPENLINEAGE__TRANSPORT") for name in os.environ):
        return True
    files = [os.environ.get("OPENLINEAGE_CONFIG"), "openlineage.yml", "~/.openlineage/openlineage.yml"]
    return any(path and Path(path).expanduser().is_file() for path in files)


def payload_columns(observe: Callable[[], Lineage]) -> Lineage:
    """The load's column lineage (``load/payload_lineage.py``), observed only when events are sent, and
    never in the way of the load: what cannot be observed is logged and left out."""
    if not _configured():
        return {}
    try:
        return observe()
    except Exception as exc:  # lineage is reported, never in the way of the load
        log.warning("the load's column lineage could not be observed: %s: %s", type(exc).__name__, exc)
        return {}


def _client() -> OpenLineageClient | None:
    if not _configured():
        return None
    from openlineage.client import OpenLineageClient  # deferred: only a configured deployment pays for it

    return OpenLineageClient()


def _dataset(dataset: Dataset, output: bool) -> Any:
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import column_lineage_dataset as lineage

    facets = {}
    if dataset.columns_from:
        facets["columnLineage"] = lineage.ColumnLineageDatasetFacet(fields={
            column: lineage.Fields(inputFields=[lineage.InputField(namespace=n, name=name, field=f)
                                                for n, name, f in sources])
            for column, sources in dataset.columns_from.items()})
    kind = OutputDataset if output else InputDataset
    return kind(namespace=dataset.namespace, name=dataset.name, facets=facets)


@contextmanager
def stage_run(job: str, day: str, parent: tuple[str, str], inputs: list[Dataset],
              outputs: list[Dataset]) -> Iterator[None]:
    """Events around one stage run of ``job`` for partition ``day``; ``parent`` is the Dagster run
    (id, job name) it is a step of."""
    client = _client()
    if client is None:
        yield
        return
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run, nominal_time_run, parent_run
    from openlineage.client.uuid import generate_new_uuid

    run_id = str(generate_new_uuid())
    facets: dict[str, Any] = {
        "parent": parent_run.ParentRunFacet(run=parent_run.Run(runId=parent[0]),
                                            job=parent_run.Job(namespace=NAMESPACE, name=parent[1])),
        "nominalTime": nominal_time_run.NominalTimeRunFacet(nominalStartTime=f"{day}T00:00:00Z"),
    }

    def emit(state: RunState, extra: dict[str, Any] | None = None) -> None:
        event = RunEvent(eventType=state, eventTime=datetime.now(UTC).isoformat(), producer=PRODUCER,
                         run=Run(runId=run_id, facets={**facets, **(extra or {})}),
                         job=Job(namespace=NAMESPACE, name=job),
                         inputs=[_dataset(d, output=False) for d in inputs],
                         outputs=[_dataset(d, output=True) for d in outputs])
        try:
            client.emit(event)
        except Exception as exc:  # lineage is reported, never in the way of the load
            log.warning("OpenLineage %s event of %s not sent: %s", state.value, job, exc)

    emit(RunState.START)
    try:
        yield
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        emit(RunState.FAIL, {"errorMessage": error_message_run.ErrorMessageRunFacet(
            message=message, programmingLanguage="python")})
        raise
    emit(RunState.COMPLETE)


# -- the pipeline's datasets ---------------------------------------------------------------------------


def landing_files(kind: str, root: str, bucket: str, prefix: str, entity: str, day: str) -> Dataset:
    """The day's export folder of an entity (the landing zone's layout ``<entity>/<day>/``)."""
    if kind == "s3":
        return Dataset(f"s3://{bucket}", f"{prefix}{entity}/{day}")
    return Dataset("file", str(Path(root).resolve() / entity / day))


def staged_table(warehouse: str, entity: EntitySpec, landing: Dataset) -> Dataset:
    """``warehouse``: its URL as shown (no password)."""
    columns = load_mapping(entity.name).columns
    return Dataset(warehouse, staged_table_name(entity.name),
                   {name: ((landing.namespace, landing.name, legacy),) for name, legacy in columns.items()})


def validated_table(warehouse: str, entity: EntitySpec) -> Dataset:
    staged = staged_table_name(entity.name)
    return Dataset(warehouse, validated_table_name(entity.name),
                   {name: ((warehouse, staged, name),) for name in entity.fields})


def table(warehouse: str, name: str) -> Dataset:
    return Dataset(warehouse, name)


def target_endpoint(base_url: str, endpoint: str, warehouse: str = "", lineage: Lineage | None = None) -> Dataset:
    """A target's entity endpoint; ``lineage`` (``load/payload_lineage.py``): which validated column of the
    ``warehouse`` feeds each payload field."""
    return Dataset(base_url.rstrip("/"), endpoint,
                   {path: tuple((warehouse, validated_table_name(entity), name) for entity, name in sources)
                    for path, sources in (lineage or {}).items()})

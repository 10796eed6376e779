"""The whole chain through Dagster and over HTTP against the sandbox, on DuckDB and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
import requests

from batch_orchestration.demo.summary import BAD_KIND_CODES, REFUSED_ONLY_BY
from batch_orchestration.demo.target_seed import seed_target
from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.load.planner import payload_hash, reference_id
from batch_orchestration.load.state import open_intent
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, FaultConfig
from batch_orchestration.targets.base import BatchLabel, Outgoing, TargetIds
from batch_orchestration.targets.bigledger.bindings import BINDINGS
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.backend import nulls_as_none
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.orchestration.harness import (
    BIGLEDGER_ENTITIES,
    DAY_KEYS,
    Pipeline,
    make_settings,
    small_export,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")


def _all_source_keys(landing: Path, entity: str) -> set[str]:
    import csv

    spec = ENTITIES[entity]
    from batch_orchestration.ingest.mapping import load_mapping

    mapping = load_mapping(entity)
    keys = set()
    for path in sorted((landing / entity).glob("*/*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                keys.add("/".join(row[mapping.columns[f]] for f in spec.key_fields))
    return keys


@pytest.mark.usefixtures("api_key_env")
def test_backfill_loads_exactly_the_valid_records_in_order_and_again_sends_nothing(tmp_path: Path, sandbox) -> None:
    """On DuckDB: every entity through Dagster on PostgreSQL is test_entities_e2e's PostgreSQL run."""
    summary = small_export(tmp_path / "landing")
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    pre_existing = seed_target(sandbox.url, DEMO_COMPANY, DEMO_API_KEY, summary)
    assert pre_existing == {"customers": 1}

    with dg.DagsterInstance.ephemeral() as instance:  # a real instance, its storage in memory
        results = run_days(pipeline.defs, DAY_KEYS, instance)
        assert [r.success for r in results] == [True, True, True]
        records = instance.fetch_materializations(dg.AssetKey("invoices_loaded"), limit=10).records
        by_time = [r.partition_key for r in sorted(records, key=lambda r: r.timestamp)]
        assert by_time == DAY_KEYS
        before, metrics_before = pipeline.target_counts(), _metrics(pipeline)
        again = run_days(pipeline.defs, DAY_KEYS, instance)

    assert all(r.success for r in again)
    for result in again:  # a second backfill of the same exports sends nothing
        for entity in BIGLEDGER_ENTITIES:
            loaded = result.metadata[f"{entity}_loaded"]
            assert loaded["created"] == 0 and loaded["updated"] == 0, (result.day, entity, loaded)
            assert loaded["batches_sent"] == 0, (result.day, entity, loaded)
    assert pipeline.target_counts() == before
    assert _metrics(pipeline) == metrics_before

    expected_rejects = summary.expected_rejects("bigledger")
    assert set(expected_rejects) == set(ENTITIES)
    deleted_customers = {key for keys in summary.customer_deletes.values() for key in keys}
    for entity in BIGLEDGER_ENTITIES:
        every_key = _all_source_keys(tmp_path / "landing", entity)
        loaded, rejected = pipeline.mapped_keys(entity), pipeline.rejected_keys(entity)
        deleted = deleted_customers if entity == "customers" else set()
        assert every_key, entity
        assert loaded | rejected | deleted == every_key, entity  # the export's last day deletes a few customers
        assert not loaded & rejected and not (loaded | rejected) & deleted, entity
        expected = set(expected_rejects[entity])
        assert rejected == expected, (entity, sorted(rejected - expected)[:5], sorted(expected - rejected)[:5])

    codes: dict[tuple[str, str], set[str]] = {}
    for entity, key, code in pipeline.query("SELECT entity, source_key, code FROM rejects"):
        codes.setdefault((entity, key), set()).add(code)
    for record in summary.bad_records:  # a record may break more than one rule: its own is among them
        if REFUSED_ONLY_BY.get(record.kind, "bigledger") != "bigledger":
            continue  # only another system refuses it (payables are routed nowhere here)
        found = codes[record.entity, record.key]
        assert BAD_KIND_CODES[record.kind][1] in found, (record, found)

    counts = pipeline.target_counts()
    for entity, binding in BINDINGS.items():
        refs = pipeline.reference_ids_in_target(entity)
        mapped = pipeline.mapped_keys(entity)
        assert max(refs.values()) == 1, f"duplicate {entity} in the target"
        assert set(refs) - {None} >= {reference_id(entity, key) for key in mapped}
        assert counts.get(binding.endpoint, 0) == len(mapped) + pre_existing.get(binding.endpoint, 0), entity

    reasons = pipeline.query("SELECT code, message FROM rejects WHERE entity = 'customers'")
    assert reasons and all(code and message for code, message in reasons)


def _metrics(pipeline: Pipeline) -> int:
    """The target's batch count; this call is outside the client's rate budget, so it waits out a 429."""
    for _ in range(30):
        answer = requests.get(f"{pipeline.sandbox.url}/v1/batch/metrics", timeout=10,
                              headers={"Authorization": "Bearer sandbox-key", "X-Company-Id": "demo-company"})
        if answer.status_code != 429:
            break
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    answer.raise_for_status()
    return answer.json()["data"]["currentMonth"]["totalBatches"]


@pytest.mark.usefixtures("api_key_env")
def test_faults_on_no_duplicate_and_no_missing_record(tmp_path: Path, sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(window_seconds=2.0, faults=FaultConfig(p_5xx=0.15, p_429=0.15, p_lost=0.15),
                              fault_seed=5)
    small_export(tmp_path / "landing")
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    with dg.DagsterInstance.ephemeral() as instance:  # a real instance, its storage in memory
        results = run_days(pipeline.defs, DAY_KEYS[:1], instance)
    assert all(r.success for r in results)
    ambiguous = sum(r.metadata[f"{entity}_loaded"]["ambiguous_batches"] for r in results for entity in BINDINGS)
    assert ambiguous > 0, "the faults must have hit some batches for this test to mean anything"
    requests.put(f"{sandbox.url}/_sandbox/faults", json={"spec": ""},
                 headers={"Authorization": "Bearer sandbox-key"}, timeout=10).raise_for_status()
    for entity in BINDINGS:
        refs = pipeline.reference_ids_in_target(entity)
        assert max(refs.values()) == 1, f"duplicate {entity}"
        assert set(refs) == {reference_id(entity, key) for key in pipeline.mapped_keys(entity)}


@pytest.mark.usefixtures("api_key_env")
def test_a_run_that_died_after_sending_is_reconciled_before_resending(tmp_path: Path, sandbox) -> None:
    small_export(tmp_path / "landing")
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    day = DAY_KEYS[0]
    with dg.DagsterInstance.ephemeral() as instance:  # a real instance, its storage in memory
        # Stage and validate the day, but do not load it.
        job = pipeline.defs.resolve_job_def("migration_job")
        selection = [dg.AssetKey(f"customers_{stage}") for stage in ("staged", "validated")]
        assert job.execute_in_process(partition_key=day, instance=instance, asset_selection=selection).success
        # A run logs its intent and sends a batch of creates, then dies before recording the outcome.
        with open_warehouse(pipeline.settings.warehouse_url).session() as session:
            frame = session.fetch_df("SELECT * FROM validated_customers WHERE partition_day = ? ORDER BY source_row",
                                     (day,))
        rows = nulls_as_none(frame.head(20)).to_dict(orient="records")
        connector = pipeline.connector()
        binding = connector.binding("customers")
        data = [binding.payload(row, [], TargetIds({})) for row in rows]
        intent_ops = [{"operation": "create", "referenceId": reference_id("customers", row["source_key"]),
                       "sourceKey": row["source_key"], "contentHash": row["content_hash"],
                       "payloadHash": payload_hash(record)} for row, record in zip(rows, data, strict=True)]
        with open_warehouse(pipeline.settings.warehouse_url).session() as session:
            open_intent(session, "bigledger", "customers", day, intent_ops)
        sent = connector.send_batch(binding, [
            Outgoing("create", op["referenceId"], None, record) for op, record in zip(intent_ops, data, strict=True)],
            BatchLabel(day, 0))
        assert all(outcome.success for outcome in sent)
        # The next run finds the open intent and looks the records up before sending anything.
        results = run_days(pipeline.defs, [day], instance)
    assert results[0].success
    loaded = results[0].metadata["customers_loaded"]
    assert loaded["reconciled_intents"] == 1
    refs = pipeline.reference_ids_in_target("customers")
    assert max(refs.values()) == 1
    assert open_intents_left(pipeline) == 0


def open_intents_left(pipeline: Pipeline) -> int:
    return pipeline.query("SELECT COUNT(*) FROM intent_log WHERE status = 'open'")[0][0]

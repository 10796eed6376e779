"""OpenLineage run events (issue 11, part 4, run level): a day through Dagster with the client's file
transport configured by its variables; every event is checked against the OpenLineage JSON Schema (2-0-2,
with the facets' own schemas). Each stage run has a START and a COMPLETE (a load the target refuses, a
FAIL), with its datasets and column lineage. With nothing configured, nothing is written; an
``openlineage.yml`` where the client looks for it configures it as well as the variables do."""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from batch_orchestration.orchestration.run_lineage import stage_run
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

SPEC = Path(__file__).parent / "openlineage_spec"


def _schemas() -> tuple[Draft202012Validator, dict[str, Draft202012Validator]]:
    """The event's validator, and each facet schema's (by its ``$id``)."""
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SPEC.glob("*.json"))]
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents)
    core = next(doc for doc in documents if doc["$id"].endswith("/OpenLineage.json"))
    facets = {}
    for doc in documents:
        if doc is not core:
            (name,) = doc["properties"]  # a facet document names its one facet
            ref = doc["properties"][name]["$ref"]
            facets[doc["$id"]] = Draft202012Validator({"$ref": doc["$id"] + ref}, registry=registry,
                                                      format_checker=FormatChecker())
    return Draft202012Validator(core, registry=registry, format_checker=FormatChecker()), facets


def _checked(events: list[dict[str, Any]]) -> None:
    event_schema, facet_schemas = _schemas()
    for event in events:
        event_schema.validate(event)
        facets = [*event["run"]["facets"].values(),
                  *(facet for dataset in event["inputs"] + event["outputs"] for facet in dataset["facets"].values())]
        for facet in facets:
            schema = facet_schemas.get(facet["_schemaURL"].split("#")[0])
            assert schema is not None, f"no vendored schema for {facet['_schemaURL']}"
            schema.validate(facet)


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_each_stage_run_sends_start_and_complete_with_its_datasets_and_a_refused_load_fail(
        tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = DAY_KEYS[:2]
    for day in (first, second):
        write_export(tmp_path / "landing", day, {"customers": [
            "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY", f"C-{day},Acme {day},ap-{day}@acme.example,MY"]})
    write_export(tmp_path / "landing", first, {
        "invoices": ["INV_NO,CUST_NO,INV_DATE,INV_TOTAL", f"I1,C-{first},{first},10.00"],
        "invoice_line_items": ["INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_PRICE", "I1,1,,Widget,2,5.00"]})
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    monkeypatch.setenv("BIGLEDGER_API_KEY", DEMO_API_KEY)
    events_file = tmp_path / "lineage.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    with dg.DagsterInstance.ephemeral() as instance:
        (day,) = run_days(pipeline.defs, [first], instance)
    assert day.success
    events = _events(events_file)
    _checked(events)
    by_job: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event)
    assert {"customers_staged", "customers_validation", "customers_load", "invoices_staged"} <= set(by_job)
    for job, sent in by_job.items():
        assert [e["eventType"] for e in sent] == ["START", "COMPLETE"], job
        assert len({e["run"]["runId"] for e in sent}) == 1, job
        assert sent[0]["run"]["facets"]["nominalTime"]["nominalStartTime"] == f"{first}T00:00:00Z"
        assert sent[0]["run"]["facets"]["parent"]["job"]["name"] == "migration_job"
    staged = by_job["customers_staged"][1]
    assert staged["inputs"][0] == {**staged["inputs"][0], "namespace": "file",
                                   "name": str((tmp_path / "landing" / "customers" / first).resolve())}
    (staged_table,) = staged["outputs"]
    assert staged_table["name"] == "staged_customers" and "w.duckdb" in staged_table["namespace"]
    assert staged_table["facets"]["columnLineage"]["fields"]["name"]["inputFields"] == [
        {"namespace": "file", "name": staged["inputs"][0]["name"], "field": "CUST_NAME", "transformations": []}]
    validated = by_job["customers_validation"][1]
    assert {d["name"] for d in validated["outputs"]} == {"validated_customers", "rejects"}
    load = by_job["customers_load"][1]
    assert [d["name"] for d in load["inputs"]] == ["validated_customers"]
    assert {(d["namespace"], d["name"]) for d in load["outputs"]} == {
        (sandbox.url, "customers"), *((staged_table["namespace"], name) for name in ("id_map", "load_history",
                                                                                   "rejects"))}
    # The load's column lineage: each payload field from the validated columns the binding builds it from.
    warehouse = staged_table["namespace"]

    def fed_by(job: str, endpoint: str) -> dict[str, list[tuple[str, str]]]:
        (dataset,) = [d for d in by_job[job][1]["outputs"] if d["name"] == endpoint]
        return {path: [(f["name"], f["field"]) for f in column["inputFields"] if f["namespace"] == warehouse]
                for path, column in dataset["facets"]["columnLineage"]["fields"].items()}

    customers = fed_by("customers_load", "customers")
    assert customers["name"] == [("validated_customers", "name")]
    assert customers["address.country"] == [("validated_customers", "country")]
    invoices = fed_by("invoices_load", "invoices")
    assert invoices["customerId"] == [("validated_invoices", "customer_key")]
    assert invoices["items[].quantity"] == [("validated_invoice_line_items", "quantity")]
    assert invoices["total"] == [("validated_invoices", "total_amount")]

    events_file.unlink()
    monkeypatch.setenv("BIGLEDGER_API_KEY", "not-the-key-0451")
    with dg.DagsterInstance.ephemeral() as instance:
        (refused,) = run_days(pipeline.defs, [second], instance)
    assert not refused.success
    events = _events(events_file)
    _checked(events)
    load_events = [e for e in events if e["job"]["name"] == "customers_load"]
    assert [e["eventType"] for e in load_events] == ["START", "FAIL"]
    failure = load_events[1]["run"]["facets"]["errorMessage"]
    assert "HTTP 401" in failure["message"] and "BIGLEDGER_API_KEY" in failure["message"]
    assert "not-the-key-0451" not in events_file.read_text(encoding="utf-8")


def test_nothing_is_written_or_built_without_a_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    for name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no openlineage.yml here
    monkeypatch.setenv("HOME", str(tmp_path))  # nor in ~/.openlineage
    caplog.set_level(logging.DEBUG)
    ran = []
    with stage_run("customers_staged", DAY_KEYS[0], (str(uuid.uuid4()), "migration_job"), [], []):
        ran.append(True)
    # A client built without a configuration would print its events to the console, and log which transport
    # it chose: nothing of it is there.
    assert ran and not list(tmp_path.rglob("*"))
    assert not [r for r in caplog.records if r.name.startswith("openlineage")]
    (tmp_path / "openlineage.yml").write_text(yaml.safe_dump({"transport": {
        "type": "file", "log_file_path": str(tmp_path / "events.jsonl"), "append": True}}), encoding="utf-8")
    with pytest.raises(RuntimeError, match="the stage failed"), stage_run(
            "customers_staged", DAY_KEYS[0], (str(uuid.uuid4()), "migration_job"), [], []):
        raise RuntimeError("the stage failed")
    assert [e["eventType"] for e in _events(tmp_path / "events.jsonl")] == ["START", "FAIL"]  # the file's config

"""Every BigLedger entity, end to end through Dagster runs against the sandbox, from small hand-written exports.

Each test writes a few records per entity (legacy headers of ``entities/mappings``), runs the migration
job for its days and reads back what the sandbox holds (REST reads, counts) and what it was sent (its
request journal), with the warehouse's ID map and rejects. Every run's conservation checks must pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.orchestration.runner import DayResult, run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import RunningSandbox, start_in_thread
from batch_orchestration.targets.base import BatchLabel, Outgoing
from batch_orchestration.targets.bigledger.bindings import BINDINGS
from batch_orchestration_tests.conftest import fresh_postgres_schema
from batch_orchestration_tests.load.conftest import sent
from batch_orchestration_tests.orchestration.harness import (
    BIGLEDGER_ENTITIES,
    DAY_KEYS,
    Pipeline,
    make_settings,
    write_export,
)

pytestmark = pytest.mark.slow

DAY, NEXT_DAY = DAY_KEYS[0], DAY_KEYS[1]
CONSERVATION = "every_record_loaded_or_rejected"
# The sandbox's name (URL segment, counts key) of each root the pipeline sends.
ENDPOINTS = {entity: binding.endpoint for entity, binding in BINDINGS.items()}  # the sandbox's entity names

HEADERS = {
    "customers": "CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY",
    "suppliers": "SUPP_NO,SUPP_NAME,EMAIL_ADDR,COUNTRY,STATUS",
    "items": "ITEM_CODE,ITEM_NAME,ITEM_TYPE,UOM,COST_PRICE,SELL_PRICE",
    "accounts": "GL_CODE,GL_NAME,GL_TYPE",
    "invoices": "INV_NO,CUST_NO,INV_DATE,INV_TOTAL",
    "invoice_line_items": "INV_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_PRICE",
    "bills": "BILL_NO,SUPP_NO,BILL_DATE,BILL_TOTAL",
    "bill_line_items": "BILL_NO,LINE_NO,ITEM_CODE,DESCRIPTION,QTY,UNIT_COST",
    "journal_entries": "JE_NO,JE_DATE,JE_DESC",
    "journal_entry_lines": "JE_NO,LINE_NO,GL_CODE,DEBIT,CREDIT",
    "stock_adjustments": "ADJ_NO,ITEM_CODE,ADJ_TYPE,QTY,UNIT_COST,ADJ_DATE",
    "payments": "RECEIPT_NO,CUST_NO,SUPP_NO,INV_NO,BILL_NO,PAY_DATE,AMOUNT,PAY_METHOD",
}


def base_rows() -> dict[str, list[str]]:
    """A small, entirely valid export of all twelve source entities (no header lines)."""
    return {
        "customers": ["C1,Acme Trading,ap@acme.example,MY", "C2,Beta Foods,ap@beta.example,MY"],
        "suppliers": ["S1,Steel Works,sales@steel.example,MY,", "S2,Paper Mill,sales@paper.example,SG,active"],
        "items": ["W1,Widget,inventory,pcs,4.00,10.00", "W2,Gadget,inventory,box,3.00,7.50",
                  "SVC,Installation,service,hour,,50.00"],
        "accounts": ["1000,Cash at bank,asset", "4000,Sales,revenue", "5000,Purchases,expense"],
        "invoices": ["I1,C1,2024-02-15,25.00", "I2,C2,2024-02-16,57.50"],
        "invoice_line_items": ["I1,1,W1,,2,10.00", "I1,2,,Freight,1,5.00",
                               "I2,1,W2,,1,7.50", "I2,2,SVC,Half day on site,1,50.00"],
        "bills": ["B1,S1,2024-02-20,40.00", "B2,S2,2024-02-21,12.00"],
        "bill_line_items": ["B1,1,W1,,4,10.00", "B2,1,W2,Boxes,4,3.00"],
        "journal_entries": ["J1,2024-02-28,Opening balance", "J2,2024-02-29,Accrual"],
        "journal_entry_lines": ["J1,1,1000,100.00,", "J1,2,4000,,100.00",
                                "J2,1,5000,30.00,", "J2,2,5000,20.00,", "J2,3,1000,,50.00"],
        "stock_adjustments": ["A1,W1,increase,10,4.00,2024-02-28", "A2,W2,decrease,1,,2024-02-28"],
        "payments": ["P1,C1,,I1,,2024-02-29,25.00,bank_transfer", "P2,,S1,,B1,2024-02-29,40.00,cheque",
                     "P3,C2,,,,2024-02-29,5.00,cash"],
    }


def export(landing: Path, day: str, rows: dict[str, list[str]]) -> None:
    write_export(landing, day, {entity: [HEADERS[entity], *lines] for entity, lines in rows.items()})


def build(tmp_path: Path, sandbox: RunningSandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")
    # Small exports with deliberate rejects: the reject-rate check must not block the loads.
    settings = make_settings(tmp_path, sandbox, warehouse_url, max_reject_rate=1.0)
    return Pipeline.build(settings, sandbox)


def run(pipeline: Pipeline, days: list[str]) -> list[DayResult]:
    with dg.DagsterInstance.ephemeral() as instance:  # a real instance, its storage in memory
        results = run_days(pipeline.defs, days, instance)
    for result in results:
        assert result.success, f"run of {result.day} failed"
        assert_conserved(result)
    return results


def assert_conserved(result: DayResult) -> None:
    """The conservation check ran for every entity of the run, and passed."""
    ran = {asset for (asset, name) in result.checks if name == CONSERVATION}
    assert ran == {f"{entity}_loaded" for entity in BIGLEDGER_ENTITIES}, f"{result.day}: conservation checks missing"
    assert result.check_failures() == [], f"{result.day}: checks failed"


def load_rejects(pipeline: Pipeline) -> dict[tuple[str, str], tuple[str, str]]:
    """(entity, source key) -> (code, message) of the load rejects."""
    rows = pipeline.query("SELECT entity, source_key, code, message FROM rejects WHERE stage = 'load'")
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for entity, key, code, message in rows:
        assert (entity, key) not in found, f"two load rejects of {entity} {key}"
        found[(entity, key)] = (code, message)
    return found


def validation_rejects(pipeline: Pipeline) -> dict[tuple[str, str], set[str]]:
    """(entity, source key) -> the codes of its validation and set-rule rejects."""
    rows = pipeline.query("SELECT entity, source_key, code FROM rejects WHERE stage IN ('validation', 'set_rule')")
    found: dict[tuple[str, str], set[str]] = {}
    for entity, key, code in rows:
        found.setdefault((entity, key), set()).add(code)
    return found


def target_ids(pipeline: Pipeline, entity: str) -> dict[str, str]:
    return dict(pipeline.query("SELECT source_key, target_id FROM id_map WHERE entity = ?", (entity,)))


def held(pipeline: Pipeline, entity: str) -> dict[str, dict[str, Any]]:
    """The sandbox's records of ``entity``, by the source key the ID map holds for them."""
    connector = pipeline.connector()  # reads paced and retried as the pipeline's are
    by_id = {record["id"]: record for record in connector.read_all(connector.binding(entity))}
    return {key: by_id[target_id] for key, target_id in target_ids(pipeline, entity).items()}


def batch_posts(sandbox: RunningSandbox) -> list[dict[str, str]]:
    """Every batch request the sandbox's journal holds, in the order received (it keeps the newest 500)."""
    answer = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/requests", timeout=10,
                          headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
    answer.raise_for_status()
    requests_held = answer.json()["requests"]
    assert len(requests_held) < 500, "the journal is full: older requests may be gone"
    return [r for r in requests_held if r["method"] == "POST" and r["path"].startswith("/v1/batch/")]


def sent_data(sandbox: RunningSandbox, entity: str) -> list[dict[str, Any]]:
    """The ``data`` of every operation the pipeline sent for ``entity``, as the sandbox received it."""
    return [op["data"] for r in sent(sandbox, "POST", f"/v1/batch/{ENDPOINTS[entity]}")
            for op in json.loads(r["body"])["operations"]]


# -- the state after a run, kept for tests that share the run ---------------------------------------------


@dataclass
class Snapshot:
    """What the warehouse and the sandbox hold after a run (later runs of a shared pipeline change them)."""

    result: DayResult
    ids: dict[str, dict[str, str]]  # every entity -> source key -> target id (the ID map)
    held: dict[str, dict[str, dict[str, Any]]]  # every root -> source key -> the sandbox's record
    counts: dict[str, int]
    rejects: list[tuple[Any, ...]]  # (entity, source_key, stage, code, partition_day)
    load_rejects: dict[tuple[str, str], tuple[str, str]]
    posts: list[dict[str, str]]  # every batch request the sandbox received so far
    sent: dict[str, list[dict[str, Any]]]  # root -> the data of every operation sent so far


def snapshot(pipeline: Pipeline, result: DayResult) -> Snapshot:
    return Snapshot(
        result=result,
        ids={entity: target_ids(pipeline, entity) for entity in ENTITIES},
        held={entity: held(pipeline, entity) for entity in ENDPOINTS},
        counts=pipeline.target_counts(),
        rejects=sorted(pipeline.query("SELECT entity, source_key, stage, code, partition_day FROM rejects")),
        load_rejects=load_rejects(pipeline),
        posts=batch_posts(pipeline.sandbox),
        sent={entity: sent_data(pipeline.sandbox, entity) for entity in ENDPOINTS},
    )


@contextmanager
def module_pipeline(home: Path, warehouse_url: str) -> Iterator[Pipeline]:
    """A pipeline on a sandbox of its own, for a module-scoped fixture (function fixtures cannot serve it)."""
    running = start_in_thread(replace(SandboxConfig(), window_seconds=2.0))
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            yield build(home, running, warehouse_url, monkeypatch)
    finally:
        running.stop()


# -- every entity loads; a create-only record changed later ---------------------------------------------

CHANGED_NEXT_DAY = {
    "payments": ["P1,C1,,I1,,2024-02-29,30.00,bank_transfer",  # was 25.00
                 "P3,C2,,,,2024-02-29,5.00,cash",  # unchanged
                 "P4,C2,,I2,,2024-03-02,57.50,card"],  # new
    "journal_entries": ["J1,2024-02-28,Opening balance restated"],  # was "Opening balance"
    "journal_entry_lines": ["J1,1,1000,100.00,", "J1,2,4000,,100.00"],  # unchanged
    "stock_adjustments": ["A1,W1,increase,12,4.00,2024-02-28"],  # was 10
}


@dataclass
class History:
    """base_rows() on the first day, CHANGED_NEXT_DAY on the next, then both days run again."""

    first: Snapshot
    second: Snapshot
    rerun: Snapshot
    reruns: list[DayResult]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    home = tmp_path_factory.mktemp("history")
    with module_pipeline(home, f"duckdb:///{home / 'w.duckdb'}") as pipeline:
        export(home / "landing", DAY, base_rows())
        export(home / "landing", NEXT_DAY, CHANGED_NEXT_DAY)
        (first,) = run(pipeline, [DAY])
        after_first = snapshot(pipeline, first)
        (second,) = run(pipeline, [NEXT_DAY])
        after_second = snapshot(pipeline, second)
        reruns = run(pipeline, [DAY, NEXT_DAY])
        yield History(after_first, after_second, snapshot(pipeline, reruns[-1]), reruns)


@pytest.fixture
def postgres_warehouse_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema, for the one PostgreSQL run here."""
    with fresh_postgres_schema(postgres_url) as url:
        yield url


@pytest.fixture(params=["duckdb", "postgres"])
def first_day(request: pytest.FixtureRequest, tmp_path: Path) -> Snapshot:
    """base_rows() loaded on one day: DuckDB's is the shared history's first day; PostgreSQL's is its own run."""
    if request.param == "duckdb":
        return request.getfixturevalue("history").first
    with module_pipeline(tmp_path, request.getfixturevalue("postgres_warehouse_url")) as pipeline:
        export(tmp_path / "landing", DAY, base_rows())
        (result,) = run(pipeline, [DAY])
        return snapshot(pipeline, result)


def test_every_entity_loads_with_the_target_ids_of_what_it_names(first_day: Snapshot) -> None:
    day = first_day
    assert day.rejects == []
    expected = {"customers": 2, "suppliers": 2, "items": 3, "accounts": 3, "invoices": 2, "bills": 2,
                "journal_entries": 2, "stock_adjustments": 2, "payments": 3}
    assert day.counts == {ENDPOINTS[e]: n for e, n in expected.items()}
    for entity, count in expected.items():
        assert len(day.ids[entity]) == count, entity
        assert day.result.metadata[f"{entity}_loaded"]["created"] == count, entity
    for part, count in {"invoice_line_items": 4, "bill_line_items": 2, "journal_entry_lines": 5}.items():
        assert len(day.ids[part]) == count, part  # held by their header's record
        assert day.result.metadata[f"{part}_loaded"]["created"] == count, part
    for part, root in {"invoice_line_items": "invoices", "bill_line_items": "bills",
                       "journal_entry_lines": "journal_entries"}.items():
        assert {key: target for key, target in day.ids[part].items()} == {
            key: day.ids[root][key.split("/")[0]] for key in day.ids[part]}, part

    customers, suppliers = day.ids["customers"], day.ids["suppliers"]
    items, accounts = day.ids["items"], day.ids["accounts"]
    invoices, bills = day.ids["invoices"], day.ids["bills"]
    assert {r["itemCode"]: r["name"] for r in day.held["items"].values()} == {
        "W1": "Widget", "W2": "Gadget", "SVC": "Installation"}
    assert {r["code"]: r["type"] for r in day.held["accounts"].values()} == {
        "1000": "asset", "4000": "revenue", "5000": "expense"}
    assert day.held["suppliers"]["S2"]["address"]["country"] == "SG"

    invoice_records = day.held["invoices"]
    assert invoice_records["I1"]["customerId"] == customers["C1"]
    assert invoice_records["I2"]["customerId"] == customers["C2"]
    assert [(line.get("itemId"), line["description"], line["quantity"], line["unitPrice"])
            for line in invoice_records["I1"]["items"]] == [(items["W1"], "W1", 2, 10.0), (None, "Freight", 1, 5.0)]
    assert [line.get("itemId") for line in invoice_records["I2"]["items"]] == [items["W2"], items["SVC"]]
    assert (invoice_records["I1"]["total"], invoice_records["I2"]["total"]) == (25.0, 57.5)
    sent_i1 = next(data for data in day.sent["invoices"] if data["reference"] == "I1")
    assert sent_i1["customerId"] == customers["C1"]
    assert sent_i1["items"][0]["itemId"] == items["W1"]
    assert "itemId" not in sent_i1["items"][1], "a line without an item code is sent without an itemId"

    bill_records = day.held["bills"]
    assert {key: r["supplierId"] for key, r in bill_records.items()} == {"B1": suppliers["S1"], "B2": suppliers["S2"]}
    assert [line["itemId"] for line in bill_records["B1"]["items"]] == [items["W1"]]
    assert bill_records["B2"]["items"][0]["description"] == "Boxes"

    entries = day.held["journal_entries"]
    assert [(line["accountId"], line["debit"], line["credit"]) for line in entries["J1"]["lines"]] == [
        (accounts["1000"], 100.0, 0), (accounts["4000"], 0, 100.0)]
    assert [line["accountId"] for line in entries["J2"]["lines"]] == [accounts["5000"], accounts["5000"],
                                                                       accounts["1000"]]
    assert (entries["J2"]["totalDebit"], entries["J2"]["totalCredit"]) == (50.0, 50.0)

    adjustments = day.held["stock_adjustments"]
    assert {key: (r["itemId"], r["adjustmentType"], r["quantity"]) for key, r in adjustments.items()} == {
        "A1": (items["W1"], "increase", 10), "A2": (items["W2"], "decrease", 1)}

    payments = day.held["payments"]
    assert (payments["P1"]["customerId"], payments["P1"]["invoiceId"]) == (customers["C1"], invoices["I1"])
    assert (payments["P2"]["supplierId"], payments["P2"]["billId"]) == (suppliers["S1"], bills["B1"])
    assert payments["P3"]["customerId"] == customers["C2"] and "invoiceId" not in payments["P3"]
    assert not {"supplierId", "billId"} & set(payments["P1"]) and not {"customerId", "invoiceId"} & set(payments["P2"])
    assert {key: r["amount"] for key, r in payments.items()} == {"P1": 25.0, "P2": 40.0, "P3": 5.0}
    assert sorted(p["path"] for p in day.posts) == sorted(f"/v1/batch/{e}" for e in ENDPOINTS.values())


NOT_UPDATABLE = "bigledger takes {} only as creates; this change of a record it holds was not sent"


def test_a_create_only_record_changed_on_a_later_day_is_not_updatable(history: History) -> None:
    first, second = history.first, history.second
    entry = "journal_entries J1 was not loaded: NOT_UPDATABLE: " + NOT_UPDATABLE.format("journal_entries")
    assert second.load_rejects == {
        ("payments", "P1"): ("NOT_UPDATABLE", NOT_UPDATABLE.format("payments")),
        ("journal_entries", "J1"): ("NOT_UPDATABLE", NOT_UPDATABLE.format("journal_entries")),
        ("journal_entry_lines", "J1/1"): ("HEADER_REJECTED", entry),
        ("journal_entry_lines", "J1/2"): ("HEADER_REJECTED", entry),
        ("stock_adjustments", "A1"): ("NOT_UPDATABLE", NOT_UPDATABLE.format("stock_adjustments")),
    }
    assert {row[4] for row in second.rejects} == {NEXT_DAY}
    # The next day sent one batch: the new payment, and only it.
    (posted,) = second.posts[len(first.posts):]
    assert posted["path"] == "/v1/batch/payments"
    operations = json.loads(posted["body"])["operations"]
    assert [(op["operation"], op["data"]["amount"]) for op in operations] == [("create", 57.5)]
    # The target keeps the first versions.
    for entity in ("payments", "journal_entries", "stock_adjustments"):
        assert {k: v for k, v in second.held[entity].items() if k != "P4"} == first.held[entity], entity
    assert second.held["payments"]["P1"]["amount"] == 25.0
    assert second.held["journal_entries"]["J1"]["description"] == "Opening balance"
    assert second.held["stock_adjustments"]["A1"]["quantity"] == 10
    assert (second.held["payments"]["P4"]["customerId"], second.held["payments"]["P4"]["invoiceId"]) == (
        first.ids["customers"]["C2"], first.ids["invoices"]["I2"])
    assert second.counts == {**first.counts, "payments": 4}
    assert second.result.metadata["payments_loaded"]["skipped"] == 1  # P3, unchanged


def test_a_second_run_of_the_same_days_sends_nothing(history: History) -> None:
    second, rerun = history.second, history.rerun
    assert rerun.posts == second.posts
    assert rerun.rejects == second.rejects
    assert rerun.held == second.held and rerun.ids == second.ids and rerun.counts == second.counts
    first_again, second_again = history.reruns
    assert first_again.metadata["payments_loaded"]["skipped"] == 3
    assert second_again.metadata["payments_loaded"]["rejects/NOT_UPDATABLE"] == 1


# -- one day of trouble: a parent the target refuses, unknown items and accounts, bad journals ------------
#
# One run (the runs are what is slow) that the tests below read: the valid records of base_rows(), and
# beside them records of other keys that fail in the ways under test, each kept apart from the others.

REFUSED_ITEM = "GIZMO"  # the target already holds "gizmo": item codes are unique case-insensitively
TROUBLE = {
    "items": [f"{REFUSED_ITEM},Gizmo,inventory,pcs,1.00,2.00",
              # One item code in two cases: the first stands, the second is a DUPLICATE_KEY (codes fold case).
              "AB-1,Case one,service,unit,,", "ab-1,Case two,service,unit,,"],
    # A valid inactive supplier: it loads, but the target takes no bills for it (B6 below).
    "suppliers": ["S3,Closed Down Ltd,,MY,inactive"],
    # Depend on the refused item, or on records that do.
    "invoices": ["I3,C1,2024-02-17,23.00",
                 # Lines naming an item in no export and not in the target.
                 "I4,C1,2024-02-18,25.00", "I5,C2,2024-02-18,5.00"],
    "invoice_line_items": ["I3,1,GIZMO,,1,3.00", "I3,2,W1,,2,10.00",
                           "I4,1,W1,,2,10.00", "I4,2,NOPE,,1,5.00", "I5,1,NOPE,,1,5.00",
                           "I9,1,W1,,1,10.00"],  # a line of an invoice in no export
    "bills": ["B3,S1,2024-02-22,6.00", "B4,S2,2024-02-22,12.00", "B5,S1,2024-02-22,42.00",
              "B6,S3,2024-02-22,10.00"],
    "bill_line_items": ["B3,1,GIZMO,,3,2.00", "B4,1,NOPE,,4,3.00", "B5,1,W1,,4,10.00", "B5,2,NOPE,,1,2.00",
                        "B6,1,W1,,1,10.00"],
    "stock_adjustments": ["A3,GIZMO,increase,5,1.00,2024-02-28", "A4,NOPE,increase,5,1.00,2024-02-28"],
    "payments": ["P5,C1,,I3,,2024-02-29,23.00,cash", "P6,,S1,,B3,2024-02-29,6.00,cash",
                 "P7,C2,,I5,,2024-02-29,5.00,cash", "P8,,S3,,B6,2024-02-29,10.00,cash",
                 # Twice in the day: the last row is kept.
                 "P9,C1,,,,2024-02-29,1.00,cash", "P9,C1,,,,2024-02-29,2.00,cash"],
    # J3 names an account in no export; J4 is unbalanced; J5 has one line.
    "journal_entries": ["J3,2024-02-28,Unknown account", "J4,2024-02-28,Unbalanced", "J5,2024-02-28,One line"],
    "journal_entry_lines": ["J3,1,1000,100.00,", "J3,2,4000,,60.00", "J3,3,9999,,40.00",
                            "J4,1,1000,100.00,", "J4,2,4000,,90.00", "J5,1,1000,50.00,"],
}


class TroubledDay:
    def __init__(self, pipeline: Pipeline, result: DayResult) -> None:
        self.pipeline, self.result = pipeline, result
        self.load_rejects = load_rejects(pipeline)
        self.validation_rejects = validation_rejects(pipeline)


@pytest.fixture(scope="module")
def troubled_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TroubledDay]:
    home = tmp_path_factory.mktemp("troubled")
    with module_pipeline(home, f"duckdb:///{home / 'w.duckdb'}") as pipeline:
        rows = base_rows()
        for entity, lines in TROUBLE.items():
            rows[entity] = rows[entity] + lines
        export(home / "landing", DAY, rows)
        connector = pipeline.connector()
        created = connector.send_batch(connector.binding("items"), [
            Outgoing("create", "created-elsewhere", None, {"itemCode": REFUSED_ITEM.lower(), "name": "Gizmo"})],
            BatchLabel(DAY, 0))
        assert created[0].success
        (result,) = run(pipeline, [DAY])
        yield TroubledDay(pipeline, result)


def test_a_parent_the_target_refuses_fails_its_dependants_and_nothing_else(troubled_day: TroubledDay) -> None:
    rejects, pipeline = troubled_day.load_rejects, troubled_day.pipeline
    # The target's own code and words, which the pipeline could not foresee (no item of the export clashes).
    assert rejects[("items", REFUSED_ITEM)] == ("DUPLICATE_ERROR", "Item code already exists "
                                                                   "(itemCode: Item code already exists)")
    item_reason = f"DUPLICATE_ERROR: {rejects[('items', REFUSED_ITEM)][1]}"
    refused_item = f"items {REFUSED_ITEM} is not in the target: it was rejected at load: {item_reason}"
    assert rejects[("invoices", "I3")] == ("PARENT_REJECTED", refused_item)
    assert rejects[("bills", "B3")] == ("PARENT_REJECTED", refused_item)
    assert rejects[("stock_adjustments", "A3")] == ("PARENT_REJECTED", refused_item)
    for line in ("I3/1", "I3/2"):  # the line naming W1 too: a line travels inside its header
        assert rejects[("invoice_line_items", line)] == (
            "HEADER_REJECTED", f"invoices I3 was not loaded: PARENT_REJECTED: {refused_item}")
    assert rejects[("bill_line_items", "B3/1")] == (
        "HEADER_REJECTED", f"bills B3 was not loaded: PARENT_REJECTED: {refused_item}")
    # Two levels down: the payments of the refused invoice and bill.
    code, message = rejects[("payments", "P5")]
    assert code == "PARENT_REJECTED" and message.startswith("invoices I3 is not in the target: it was rejected at "
                                                            "load: PARENT_REJECTED: items GIZMO ")
    code, message = rejects[("payments", "P6")]
    assert code == "PARENT_REJECTED" and message.startswith("bills B3 is not in the target: it was rejected at "
                                                            "load: PARENT_REJECTED: items GIZMO ")
    assert set(rejects) == {("items", REFUSED_ITEM), ("invoices", "I3"), ("invoice_line_items", "I3/1"),
                            ("invoice_line_items", "I3/2"), ("bills", "B3"), ("bill_line_items", "B3/1"),
                            ("stock_adjustments", "A3"), ("payments", "P5"), ("payments", "P6"),
                            *INACTIVE_SUPPLIER_REJECTS}

    # Nothing else is affected: every valid record of base_rows() is in the target (and S3).
    valid = base_rows()
    valid["suppliers"].append(TROUBLE["suppliers"][0])
    valid["payments"].append(TROUBLE["payments"][-1])
    valid["items"].append("AB-1")
    for entity in ENDPOINTS:
        expected = {ENTITIES[entity].source_key(dict(zip(ENTITIES[entity].key_fields, line.split(","), strict=False)))
                    for line in valid[entity]}
        assert set(target_ids(pipeline, entity)) == expected, entity
    counts = {e: len(valid[e]) for e in ENDPOINTS}
    counts["items"] += 1  # the one created elsewhere
    assert pipeline.target_counts() == {ENDPOINTS[e]: n for e, n in counts.items()}
    assert troubled_day.validation_rejects[("items", "ab-1")] == {"DUPLICATE_KEY"}
    metadata = troubled_day.result.metadata
    assert metadata["items_loaded"]["rejects/DUPLICATE_ERROR"] == 1
    assert metadata["invoices_loaded"]["rejects/PARENT_REJECTED"] == 1
    assert metadata["invoice_line_items_loaded"]["rejects/HEADER_REJECTED"] == 2
    assert metadata["payments_loaded"]["rejects/PARENT_REJECTED"] == 3  # P5, P6 and P8 (of the refused B6)


INACTIVE_SUPPLIER_REJECTS = {("bills", "B6"), ("bill_line_items", "B6/1"), ("payments", "P8")}


def test_a_bill_the_target_refuses_takes_its_lines_and_payment_with_it(troubled_day: TroubledDay) -> None:
    """The pipeline takes an inactive supplier and its bill; the target takes the supplier, not the bill."""
    rejects = troubled_day.load_rejects
    assert troubled_day.pipeline.query("SELECT status FROM validated_suppliers WHERE source_key = 'S3'") == [
        ("inactive",)]
    assert "S3" in target_ids(troubled_day.pipeline, "suppliers")
    code, message = rejects[("bills", "B6")]
    assert code == "REFERENCE_ERROR" and "is not active" in message
    assert rejects[("bill_line_items", "B6/1")] == ("HEADER_REJECTED", f"bills B6 was not loaded: {code}: {message}")
    assert rejects[("payments", "P8")] == (
        "PARENT_REJECTED", f"bills B6 is not in the target: it was rejected at load: {code}: {message}")


def test_a_line_naming_an_unknown_item_is_rejected_with_its_header(troubled_day: TroubledDay) -> None:
    """And the other generated set rules of the day: an orphan line, a key twice in the day."""
    rejects = troubled_day.validation_rejects
    expected = {
        # A line refused rejects its header (it travels whole); the header's other line goes down with it.
        ("invoice_line_items", "I4/2"): {"PARENT_UNKNOWN"}, ("invoices", "I4"): {"LINE_REJECTED"},
        ("invoice_line_items", "I4/1"): {"HEADER_NOT_VALID"},
        ("invoice_line_items", "I5/1"): {"PARENT_UNKNOWN"}, ("invoices", "I5"): {"LINE_REJECTED"},
        ("bill_line_items", "B4/1"): {"PARENT_UNKNOWN"}, ("bills", "B4"): {"LINE_REJECTED"},
        ("bill_line_items", "B5/2"): {"PARENT_UNKNOWN"}, ("bills", "B5"): {"LINE_REJECTED"},
        ("bill_line_items", "B5/1"): {"HEADER_NOT_VALID"},
        ("stock_adjustments", "A4"): {"PARENT_UNKNOWN"},
        # A payment of the rejected invoice: not valid, so unknown to the payment.
        ("payments", "P7"): {"PARENT_UNKNOWN"},
        ("invoice_line_items", "I9/1"): {"HEADER_NOT_VALID"},
        ("payments", "P9"): {"DUPLICATE_KEY"},
        ("items", "ab-1"): {"DUPLICATE_KEY"},  # AB-1 in another case
    }
    found = {key: codes for key, codes in rejects.items() if key[0] != "journal_entries"
             and key[0] != "journal_entry_lines"}
    assert found == expected
    (message,) = troubled_day.pipeline.query(
        "SELECT message FROM rejects WHERE entity = 'invoice_line_items' AND source_key = 'I4/2'")[0]
    assert message.startswith("item_code NOPE names items")
    for entity, key in expected:
        assert (entity, key) not in troubled_day.load_rejects
        if key != "P9":
            assert key not in target_ids(troubled_day.pipeline, entity)
    assert held(troubled_day.pipeline, "payments")["P9"]["amount"] == 2.0, "the day's last P9 is loaded"


def test_journal_entries_with_an_unknown_account_or_unbalanced_are_rejected(troubled_day: TroubledDay) -> None:
    rejects = {key: codes for key, codes in troubled_day.validation_rejects.items()
               if key[0] in ("journal_entries", "journal_entry_lines") and not key[1].startswith("J5")}
    assert rejects == {
        # J3's line of the unknown account takes the entry and its other lines with it.
        ("journal_entry_lines", "J3/3"): {"PARENT_UNKNOWN"}, ("journal_entries", "J3"): {"LINE_REJECTED"},
        ("journal_entry_lines", "J3/1"): {"HEADER_NOT_VALID"}, ("journal_entry_lines", "J3/2"): {"HEADER_NOT_VALID"},
        ("journal_entries", "J4"): {"UNBALANCED"},
        ("journal_entry_lines", "J4/1"): {"HEADER_NOT_VALID"}, ("journal_entry_lines", "J4/2"): {"HEADER_NOT_VALID"},
    }
    (message,) = troubled_day.pipeline.query(
        "SELECT message FROM rejects WHERE entity = 'journal_entry_lines' AND source_key = 'J3/3'")[0]
    assert message.startswith("account_code 9999 names accounts")
    assert set(target_ids(troubled_day.pipeline, "journal_entries")) == {"J1", "J2"}


def test_a_journal_entry_with_one_line_is_rejected_for_too_few_lines(troubled_day: TroubledDay) -> None:
    rejects = troubled_day.validation_rejects
    assert rejects[("journal_entry_lines", "J5/1")] == {"HEADER_NOT_VALID"}
    assert rejects[("journal_entries", "J5")] == {"NO_LINES"}

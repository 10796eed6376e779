"""Batch semantics: partial success, continueOnError, rollbackOnError, validateOnly, limits, updates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.sandbox.bigledger_helpers import Client, create_op, customer, error_codes, invoice

MAX_RECORDS = {"customers": 500, "suppliers": 500, "invoices": 100, "bills": 100, "items": 1000,
               "journal-entries": 100, "stock-adjustments": 500, "payments": 200, "accounts": 200}


def _count(client: Client, entity: str) -> int:
    return client.listing(f"/v1/{entity}")["pagination"]["total"]


def test_continue_on_error_false_stops_and_skips_the_rest(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    operations = [create_op(customer(1), "a"), create_op({"email": "bad"}, "b"),
                  create_op(customer(3), "c"), create_op(customer(4), "d")]
    data = client.batch("customers", operations, continueOnError=False)
    assert error_codes(data) == [None, "VALIDATION_ERROR", "SKIPPED", "SKIPPED"]
    assert [r.get("skipped", False) for r in data["results"]] == [False, False, True, True]
    assert (data["totalRecords"], data["processedRecords"], data["successfulRecords"], data["failedRecords"],
            data["skippedRecords"]) == (4, 2, 1, 1, 2)
    assert data["results"][2]["error"]["context"]["rowNumber"] == 3
    assert _count(client, "customers") == 1


def test_rollback_on_error_leaves_nothing_behind(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    operations = [create_op(customer(i), f"r{i}") for i in range(5)] + [create_op({"name": ""}, "bad")]
    data = client.batch("customers", operations, rollbackOnError=True)
    assert data["status"] == "rolled_back"
    assert error_codes(data) == ["ROLLED_BACK"] * 5 + ["VALIDATION_ERROR"]
    assert data["successfulRecords"] == 0 and data["failedRecords"] == 6 and data["summary"]["created"] == 0
    assert _count(client, "customers") == 0
    # Numbers are not burnt by the rolled-back batch.
    assert client.batch("customers", [create_op(customer(9))])["results"][0]["data"]["customerNumber"] == "CUST-0001"


def test_rollback_on_error_without_failures_commits(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    data = client.batch("customers", [create_op(customer(i)) for i in range(3)], rollbackOnError=True)
    assert data["status"] == "completed" and data["successfulRecords"] == 3
    assert _count(client, "customers") == 3


def test_validate_only_persists_nothing_but_sees_in_batch_duplicates(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    operations = [create_op(customer(1)), create_op(customer(1)), create_op({"name": "x" * 101})]
    data = client.batch("customers", operations, validateOnly=True)
    assert data["status"] == "validated"
    assert error_codes(data) == [None, "DUPLICATE_ERROR", "VALIDATION_ERROR"]
    assert data["results"][0]["data"] == {"valid": True}
    assert data["summary"]["created"] == 0
    assert _count(client, "customers") == 0


@pytest.mark.parametrize(("entity", "maximum"), MAX_RECORDS.items())
def test_batch_size_limits(sandbox: RunningSandbox, entity: str, maximum: int) -> None:
    client = Client(sandbox.url)
    too_many = [create_op({})] * (maximum + 1)
    response = client.post(f"/v1/batch/{entity}", json={"operations": too_many})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BATCH_SIZE_EXCEEDED" and error["details"]["maxRecords"] == maximum
    assert _count(client, entity) == 0


def test_full_size_batches_are_accepted(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    data = client.batch("customers", [create_op(customer(i), f"c{i}") for i in range(500)])
    assert data["successfulRecords"] == 500
    customer_id = data["results"][0]["data"]["id"]
    data = client.batch("invoices", [create_op(invoice(customer_id), f"i{i}") for i in range(100)])
    assert data["successfulRecords"] == 100
    assert data["results"][-1]["data"]["invoiceNumber"] == "INV-2024-0100"


def test_update_merges_fields_and_keeps_the_creating_reference(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    created = client.batch("customers", [create_op(customer(1, creditLimit=100), "legacy-1")])
    customer_id = created["results"][0]["data"]["id"]
    data = client.batch("customers", [{"operation": "update", "referenceId": "upd",
                                       "data": {"id": customer_id, "creditLimit": 500}}])
    assert data["results"][0]["data"] == {"id": customer_id, "customerNumber": "CUST-0001"}
    assert data["summary"]["updated"] == 1
    stored = client.get(f"/v1/customers/{customer_id}").json()["data"]
    assert stored["creditLimit"] == 500 and stored["name"] == "Customer 1" and stored["referenceId"] == "legacy-1"
    bad = client.batch("customers", [{"operation": "update", "data": {"id": customer_id, "email": "nope"}}])
    assert error_codes(bad) == ["VALIDATION_ERROR"]
    missing_id = client.batch("customers", [{"operation": "update", "data": {"creditLimit": 1}}])
    assert error_codes(missing_id) == ["VALIDATION_ERROR"]


def test_invoice_update_replaces_items_and_recomputes_total(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    [customer_id] = client.create("customers", [customer(1)])
    [invoice_id] = client.create("invoices", [invoice(customer_id)])
    new_items = [{"description": "Other", "quantity": 3, "unitPrice": 7.0}]
    data = client.batch("invoices", [{"operation": "update", "data": {"id": invoice_id, "items": new_items}}])
    assert error_codes(data) == [None]
    stored = client.get(f"/v1/invoices/{invoice_id}").json()["data"]
    assert stored["items"] == new_items and stored["total"] == 21.0 and stored["invoiceNumber"] == "INV-2024-0001"


def test_delete_and_referential_integrity(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    used, unused = client.create("customers", [customer(1), customer(2)])
    client.create("invoices", [invoice(used)])
    data = client.batch("customers", [{"operation": "delete", "data": {"id": used}},
                                      {"operation": "delete", "data": {"id": unused}},
                                      {"operation": "delete", "data": {"id": "cust_gone"}}])
    assert error_codes(data) == ["REFERENCE_ERROR", None, "REFERENCE_ERROR"]
    assert data["results"][1]["data"] == {"id": unused, "deleted": True}
    assert data["summary"]["deleted"] == 1
    assert client.get(f"/v1/customers/{unused}").status_code == 404


def test_reference_ids_are_stored_filterable_and_not_unique(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    client.batch("customers", [create_op(customer(1), "ext-1"), create_op(customer(2), "ext-2")])
    client.batch("customers", [create_op(customer(3), "ext-1")])  # a duplicate send is accepted
    found = client.listing("/v1/customers", **{"referenceId[in]": "ext-1,ext-2"})
    assert sorted(r["referenceId"] for r in found["data"]) == ["ext-1", "ext-1", "ext-2"]
    assert client.listing("/v1/customers", referenceId="ext-2")["pagination"]["total"] == 1


def test_companies_are_isolated(sandbox_factory: Any) -> None:
    running = sandbox_factory(companies={"alpha": "key-a", "beta": "key-b"}, window_seconds=2.0)
    alpha, beta = Client(running.url, "key-a", "alpha"), Client(running.url, "key-b", "beta")
    [alpha_id] = alpha.create("customers", [customer(1)])
    beta.create("customers", [customer(1)])  # the same email is fine in another company
    assert _count(alpha, "customers") == 1 and _count(beta, "customers") == 1
    assert beta.get(f"/v1/customers/{alpha_id}").status_code == 404
    assert error_codes(beta.batch("invoices", [create_op(invoice(alpha_id))])) == ["REFERENCE_ERROR"]
    update = beta.batch("customers", [{"operation": "update", "data": {"id": alpha_id, "name": "Stolen"}}])
    assert error_codes(update) == ["REFERENCE_ERROR"]


def test_records_persist_across_a_restart(sandbox_factory: Any, tmp_path: Path) -> None:
    db_path = str(tmp_path / "ledger.sqlite")
    first = sandbox_factory(db_path=db_path, window_seconds=2.0)
    [customer_id] = Client(first.url).create("customers", [customer(1)])
    first.stop()
    client = Client(sandbox_factory(db_path=db_path, window_seconds=2.0).url)
    assert client.get(f"/v1/customers/{customer_id}").json()["data"]["name"] == "Customer 1"
    data = client.batch("customers", [create_op(customer(1)), create_op(customer(2))])
    assert error_codes(data) == ["DUPLICATE_ERROR", None]
    assert data["results"][1]["data"]["customerNumber"] == "CUST-0002"

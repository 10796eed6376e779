"""Batch Import API (seed 003) over real HTTP: the documented examples, partial success, errors."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import RunningSandbox, start_in_thread

SUPPLIERS = {"type": "Suppliers", "data": [{
    "id": "SUP-001", "name": "Acme Corporation", "created": "2025-01-15T10:00:00Z",
    "modified": "2025-01-15T10:00:00Z", "legalName": "Acme Corporation Inc.",
    "contacts": [{"firstName": "John", "lastName": "Smith", "email": "john.smith@acme.com",
                  "phone": "555-123-4567"}],
    "address": {"addr1": "123 Main Street", "addr2": "Suite 100", "city": "New York", "state": "NY",
                "zipcode": "10001", "country": "US"},
    "accountNumber": "ACC-12345", "website": "https://acme.com", "notes": "Preferred vendor for office supplies",
    "currency": "USD", "taxId": "12-3456789", "is1099": True, "active": True}]}
ITEMS = {"type": "Items", "data": [{
    "id": "ITEM-001", "name": "PLC Controller", "created": "2025-06-01T10:00:00Z",
    "modified": "2025-06-03T14:25:00Z", "description": "Programmable Logic Controller", "sku": "PLC-123",
    "type": "NonInventory", "expenseAccountId": "EXP-100", "incomeAccountId": "INC-200", "active": 1}]}
PURCHASE_ORDERS = {"type": "PurchaseOrders", "data": [{
    "id": "PO-001", "ref": "PO-2024-001", "supplierId": "SUP-123", "created": "2025-01-15T10:00:00Z",
    "modified": "2025-01-15T10:00:00Z", "apAccountId": "AP-001", "classId": "CLASS-100", "date": "2024-01-15",
    "dueDate": "2024-02-15", "amount": 1500.0, "description": "Office supplies order",
    "notes": "Deliver before noon", "isClosed": 0, "isReceived": 0,
    "lineItems": [
        {"id": "LINE-001", "itemId": "ITEM-001", "accountId": "EXP-100", "classId": "CLASS-100",
         "description": "Paper", "qty": 100, "price": 10.0, "total": 1000.0},
        {"id": "LINE-002", "itemId": "ITEM-002", "accountId": "EXP-100", "classId": "CLASS-100",
         "description": "Pens", "qty": 50, "price": 10.0, "total": 500.0}]}]}
ITEM_RECEIPTS = {"type": "ItemReceipts", "data": [{
    "id": "PO-1001", "created": "2025-06-01T10:00:00Z", "modified": "2025-06-03T14:25:00Z", "ref": "PO-INV-001",
    "receiptDate": "2025-06-03", "supplierId": "SUP-456", "apAccountId": "AP-001", "classId": "CLASS-100",
    "date": "2025-06-01", "dueDate": "2025-06-10", "description": "Office supply restock",
    "notes": "Deliver before noon", "isClosed": 1, "isReceived": 1, "amount": 305.0,
    "lineItems": [
        {"id": "PO-LI-001", "itemId": "ITEM-001", "accountId": "EXP-100", "customerId": "CUST-001",
         "classId": "CLASS-100", "qty": 5, "price": 20, "total": 100, "description": "Printer paper (500 sheets)",
         "receivedQty": 5, "receivedTotal": 100},
        {"id": "PO-LI-002", "itemId": "ITEM-002", "accountId": "EXP-200", "customerId": None,
         "classId": "CLASS-100", "qty": 1, "price": 205, "total": 205, "description": "Office chair",
         "receivedQty": 1, "receivedTotal": 205}]}]}

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def post(sandbox: RunningSandbox, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{sandbox.url}/v1/import", json=body, headers=AUTH if headers is None else headers,
                         timeout=10)


def counts(sandbox: RunningSandbox, company: str = DEMO_COMPANY, key: str = DEMO_API_KEY) -> dict[str, int]:
    response = requests.get(f"{sandbox.url}/_sandbox/companies/{company}/counts",
                            headers={"Authorization": f"Bearer {key}"}, timeout=10)
    return response.json()["counts"]


@pytest.fixture(scope="module")
def shared() -> Iterator[RunningSandbox]:
    """One sandbox for the many cases that store nothing, to keep the suite fast."""
    running = start_in_thread(SandboxConfig())
    yield running
    running.stop()


def error_body(msg: str) -> dict[str, Any]:
    return {"status": "Error", "msg": msg, "result": None}


@pytest.mark.parametrize("example", [SUPPLIERS, ITEMS, PURCHASE_ORDERS, ITEM_RECEIPTS],
                         ids=["suppliers", "items", "purchaseOrders", "itemReceipts"])
def test_documented_examples_are_accepted(shared: RunningSandbox, example: dict[str, Any]) -> None:
    response = post(shared, example)
    assert response.status_code == 200
    assert response.json() == {"status": "OK", "msg": "Data imported", "result": {"accepted": 1, "rejected": []}}


def test_all_accepted_then_partial_success_as_documented(sandbox: RunningSandbox) -> None:
    two = copy.deepcopy(PURCHASE_ORDERS)
    two["data"].append({**two["data"][0], "id": "PO-002", "ref": "PO-2024-002"})
    assert post(sandbox, two).json() == {"status": "OK", "msg": "Data imported",
                                         "result": {"accepted": 2, "rejected": []}}
    del two["data"][1]["supplierId"]
    response = post(sandbox, two)
    assert response.status_code == 200
    assert response.json() == {"status": "OK", "msg": "Data imported",
                               "result": {"accepted": 1, "rejected": [{"index": 1, "msg": "Missing Supplier ID"}]}}


@pytest.mark.parametrize(("body", "msg"), [
    ({"type": "Vendors", "data": []}, "Invalid import type"),
    ({"data": []}, "Invalid import type"),
    ([{"type": "Items"}], "Invalid import type"),
    ({"type": "Items", "data": {"id": "x"}}, "Data should be an array of object."),
    ({"type": "Items", "data": ["ITEM-001"]}, "Data should be an array of object."),
    ({"type": "Items", "data": [{"id": str(i), "name": "n"} for i in range(101)]},
     "Exceeded max allowable batch count."),
])
def test_documented_400_messages(shared: RunningSandbox, body: Any, msg: str) -> None:
    response = post(shared, body)
    assert response.status_code == 400
    assert response.json() == error_body(msg)


def test_a_hundred_records_is_the_limit(sandbox: RunningSandbox) -> None:
    body = {"type": "Items", "data": [{"id": f"I-{i}", "name": "n"} for i in range(100)]}
    assert post(sandbox, body).json()["result"] == {"accepted": 100, "rejected": []}
    assert counts(sandbox)["import_items"] == 100


def test_invalid_json_unauthorized_and_media_type(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.url}/v1/import"
    bad_json = requests.post(url, data=b"{not json", headers={**AUTH, "Content-Type": "application/json"},
                             timeout=10)
    assert bad_json.status_code == 400 and bad_json.json() == error_body("Invalid JSON")
    assert post(sandbox, ITEMS, headers={}).status_code == 401
    assert post(sandbox, ITEMS, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert post(sandbox, ITEMS, headers={"Authorization": DEMO_API_KEY}).status_code == 401
    text = requests.post(url, data=json.dumps(ITEMS), headers={**AUTH, "Content-Type": "text/plain"}, timeout=10)
    assert text.status_code == 415
    with_charset = requests.post(url, data=json.dumps(ITEMS).encode(),
                                 headers={**AUTH, "Content-Type": "application/json; charset=utf-8"}, timeout=10)
    assert with_charset.status_code == 200


@pytest.mark.parametrize(("import_type", "record", "msg"), [
    ("Suppliers", {"name": "No id"}, "Missing Supplier ID"),
    ("Suppliers", {"id": "S", "name": ""}, "Missing Supplier Name"),
    ("Suppliers", {"id": 7, "name": "Numeric id"}, "Invalid id: expected string"),
    ("Suppliers", {"id": "S", "name": "n", "is1099": "yes"}, "Invalid is1099: expected boolean"),
    ("Suppliers", {"id": "S", "name": "n", "currency": "usd"}, "Invalid currency: expected 3-letter currency code"),
    ("Suppliers", {"id": "S", "name": "n", "contacts": [{"email": 1}]},
     "Invalid contacts[0].email: expected string"),
    ("Suppliers", {"id": "S", "name": "n", "address": "Main St"}, "Invalid address: expected object"),
    ("Suppliers", {"id": "S", "name": "n", "created": "15/01/2025"},
     "Invalid created: expected timestamp YYYY-MM-DD HH:mm:ss"),
    ("Suppliers", {"id": "S", "name": "n", "colour": "red"}, "Unknown field colour"),
    ("Items", {"id": "I"}, "Missing Item Name"),
    ("Items", {"id": "I", "name": "n", "active": True}, "Invalid active: expected integer"),
    ("Items", {"id": "I", "name": "n", "active": 2}, "Invalid active: expected 0 or 1"),
    ("Items", {"id": "I", "name": "n", "type": "Gadget"},
     "Invalid type: expected Inventory or NonInventory or Service"),
    ("PurchaseOrders", {"supplierId": "S"}, "Missing ID or Ref"),
    ("PurchaseOrders", {"id": "P", "supplierId": "S", "amount": "1500"}, "Invalid amount: expected number"),
    ("PurchaseOrders", {"id": "P", "supplierId": "S", "date": "2024-02-30"}, "Invalid date: expected date YYYY-MM-DD"),
    ("PurchaseOrders", {"id": "P", "supplierId": "S", "lineItems": [{"qty": "5"}]},
     "Invalid lineItems[0].qty: expected number"),
    ("ItemReceipts", {"id": "R", "supplierId": "S"}, "Missing Receipt Date"),
    ("ItemReceipts", {"ref": "R", "supplierId": "S", "receiptDate": "2025-06-03", "lineItems": [{"receivedQty": True}]},
     "Invalid lineItems[0].receivedQty: expected number"),
])
def test_invalid_records_are_rejected_with_a_message(shared: RunningSandbox, import_type: str,
                                                     record: dict[str, Any], msg: str) -> None:
    body = {"type": import_type, "data": [record]}
    assert post(shared, body).json()["result"] == {"accepted": 0, "rejected": [{"index": 0, "msg": msg}]}


def _stored(db: Path, entity: str) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id, data FROM records WHERE entity = ?", (entity,)).fetchall()
    return {record_id: json.loads(data) for record_id, data in rows}


def test_records_persist_and_reimport_updates(sandbox_factory: Callable[..., RunningSandbox],
                                              tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    sandbox = sandbox_factory(db_path=str(db))
    assert post(sandbox, SUPPLIERS).json()["result"]["accepted"] == 1
    renamed = {"type": "Suppliers", "data": [{"id": "SUP-001", "name": "Acme Renamed",
                                              "created": "2025-01-16 09:30:00"}]}
    assert post(sandbox, renamed).json()["result"]["accepted"] == 1
    assert counts(sandbox)["import_suppliers"] == 1
    supplier = _stored(db, "import_suppliers")["SUP-001"]
    assert supplier["name"] == supplier["legalName"] == "Acme Renamed"  # legalName defaults to the name
    assert supplier["created"] == "2025-01-16 09:30:00"
    assert (supplier["is1099"], supplier["active"]) == (False, True)

    assert post(sandbox, ITEM_RECEIPTS).status_code == 200
    receipt = _stored(db, "import_item_receipts")["PO-1001"]
    assert receipt["created"] == "2025-06-01 10:00:00"  # ISO-8601 with T/Z, stored as the table's format
    assert "customerId" not in receipt["lineItems"][1]  # null is treated as absent

    only_ref = {"type": "PurchaseOrders", "data": [{"ref": "EXT-9", "supplierId": "S", "date": "2024-01-15"}]}
    post(sandbox, only_ref)
    assert "ref:EXT-9" in _stored(db, "import_purchase_orders")


def test_the_bearer_key_names_the_company(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = sandbox_factory(companies={"a": "k1", "b": "k2"})
    assert post(sandbox, ITEMS, headers={"Authorization": "Bearer k2"}).status_code == 200
    assert counts(sandbox, "b", "k2") == {"import_items": 1}
    assert counts(sandbox, "a", "k1") == {}

"""Bulk Payables API (seed 004, REST design of our own) over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from batch_orchestration.sandbox.server import RunningSandbox


class Payables:
    def __init__(self, sandbox: RunningSandbox, headers: dict[str, str]) -> None:
        self.base = sandbox.url
        self.headers = headers

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = requests.request(method, f"{self.base}{path}", json=body, headers=self.headers, timeout=10)
        assert response.status_code == expect, response.text
        envelope = response.json()
        assert envelope["success"] is (expect < 400)
        return envelope["data"] if expect < 400 else envelope["error"]

    def collaborator(self, email: str, external_id: str | None = None) -> str:
        return self.call("POST", "/v1/collaborators", {"email": email, "externalId": external_id}, 201)["id"]

    def batch(self, strategy: str = "Single", labels: dict[str, str] | None = None) -> str:
        body = {"processingStrategy": strategy, "labels": labels or {}}
        created = self.call("POST", "/v1/bulk-payables/batches", body, 201)
        assert created["status"] == "Open"
        return created["bulkPayableBatchId"]

    def add(self, batch_id: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
        return self.call("POST", f"/v1/bulk-payables/batches/{batch_id}/items", {"items": list(items)}, 201)

    def submit_and_wait(self, batch_id: str) -> dict[str, Any]:
        assert self.call("POST", f"/v1/bulk-payables/batches/{batch_id}/submit", expect=202)["status"] == "Pending"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            batch = self.call("GET", f"/v1/bulk-payables/batches/{batch_id}")
            if batch["status"] in ("Complete", "Failed"):
                return batch
            time.sleep(0.05)
        raise AssertionError("the batch did not finish")

    def items(self, batch_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/v1/bulk-payables/batches/{batch_id}/items")


@pytest.fixture
def api(sandbox: RunningSandbox, demo_headers: dict[str, str]) -> Payables:
    return Payables(sandbox, demo_headers)


def test_single_strategy_resolves_by_email_id_and_external_id(api: Payables) -> None:
    ann = api.collaborator("Ann@Example.com", "EXT-ANN")
    bob = api.collaborator("bob@example.com")
    batch_id = api.batch(labels={"source": "migration"})
    added = api.add(
        batch_id,
        {"amount": 100.25, "collaboratorEmail": "ann@example.com", "dueDate": "2024-03-01",
         "lineItemDescription": "March retainer", "labels": {"project": "p1"}},
        {"amount": -20, "collaboratorId": bob, "payableStatus": "Approved"},
        {"amount": 50, "collaboratorExternalId": "EXT-ANN", "payableStatus": "Paid", "paidDate": "2024-02-01"},
        {"amount": 10, "collaboratorEmail": "nobody@example.com"},
    )
    assert [item["status"] for item in added] == ["Open"] * 4
    assert api.call("GET", f"/v1/bulk-payables/batches/{batch_id}")["itemCount"] == 4

    batch = api.submit_and_wait(batch_id)
    assert (batch["status"], batch["completeCount"], batch["failedCount"]) == ("Complete", 3, 1)
    items = api.items(batch_id)
    assert [item["status"] for item in items] == ["Complete", "Complete", "Complete", "Failed"]
    assert [item["metadata"].get("collaboratorId") for item in items[:3]] == [ann, bob, ann]
    assert [item["metadata"]["resolvedBy"] for item in items[:3]] == [
        "collaboratorEmail", "collaboratorId", "collaboratorExternalId"]
    assert items[3]["metadata"] == {"error": "No collaborator with email 'nobody@example.com'"}

    payables = api.call("GET", f"/v1/payables?bulkPayableBatchId={batch_id}")
    assert [(p["collaboratorId"], p["amount"], p["status"]) for p in payables] == [
        (ann, 100.25, "Open"), (bob, -20.0, "Approved"), (ann, 50.0, "Paid")]
    first = api.call("GET", f"/v1/payables/{items[0]['metadata']['payableId']}")
    assert first["labels"] == {"source": "migration", "project": "p1"}
    assert first["dueDate"] == "2024-03-01" and first["lineItems"][0]["description"] == "March retainer"


def test_merge_strategy_sums_items_sharing_a_merge_key(api: Payables) -> None:
    ann = api.collaborator("ann@example.com")
    bob = api.collaborator("bob@example.com", "EXT-BOB")
    batch_id = api.batch("Merge")
    api.add(
        batch_id,
        {"amount": 100, "collaboratorEmail": "ann@example.com", "bulkPayableItemMergeKey": "ann-march"},
        {"amount": 25.5, "collaboratorId": ann, "bulkPayableItemMergeKey": "ann-march"},
        {"amount": -5, "collaboratorEmail": "ann@example.com", "bulkPayableItemMergeKey": "ann-march"},
        {"amount": 40, "collaboratorExternalId": "EXT-BOB", "bulkPayableItemMergeKey": "bob"},
        {"amount": 1, "collaboratorEmail": "ann@example.com", "bulkPayableItemMergeKey": "mixed"},
        {"amount": 2, "collaboratorId": bob, "bulkPayableItemMergeKey": "mixed"},
    )
    batch = api.submit_and_wait(batch_id)
    assert (batch["status"], batch["completeCount"], batch["failedCount"]) == ("Complete", 4, 2)
    payables = api.call("GET", f"/v1/payables?bulkPayableBatchId={batch_id}")
    assert [(p["collaboratorId"], p["amount"], len(p["lineItems"])) for p in payables] == [
        (ann, 120.5, 3), (bob, 40.0, 1)]
    items = api.items(batch_id)
    assert len({item["metadata"]["payableId"] for item in items[:3]}) == 1
    assert items[4]["metadata"]["error"] == "Items of one merge group must have the same collaborator"


def test_a_batch_whose_items_all_fail_is_failed(api: Payables) -> None:
    batch_id = api.batch()
    api.add(batch_id, {"amount": 5, "collaboratorId": "col_999999"})
    batch = api.submit_and_wait(batch_id)
    assert (batch["status"], batch["failedCount"]) == ("Failed", 1)
    assert api.items(batch_id)[0]["metadata"]["error"] == "No collaborator with id 'col_999999'"
    assert api.call("GET", "/v1/payables") == []


def test_validation_and_state_errors(api: Payables, sandbox: RunningSandbox) -> None:
    batch_id = api.batch()
    assert api.call("POST", f"/v1/bulk-payables/batches/{batch_id}/submit", expect=409)["code"] == "BATCH_EMPTY"
    error = api.call("POST", f"/v1/bulk-payables/batches/{batch_id}/items",
                     {"items": [{"amount": 0, "collaboratorEmail": "a@example.com"}, {"amount": 3}]}, 422)
    assert error["code"] == "VALIDATION_ERROR" and [d["field"] for d in error["details"]] == ["items.0", "items.1"]
    assert api.call("POST", "/v1/bulk-payables/batches", {"processingStrategy": "Split"}, 422)["details"]
    paid_without_date = {"amount": 3, "collaboratorEmail": "a@example.com", "payableStatus": "Paid"}
    assert api.call("POST", f"/v1/bulk-payables/batches/{batch_id}/items", {"items": [paid_without_date]}, 422)

    merge_id = api.batch("Merge")
    error = api.call("POST", f"/v1/bulk-payables/batches/{merge_id}/items",
                     {"items": [{"amount": 3, "collaboratorEmail": "a@example.com"}]}, 422)
    assert error["details"][0]["field"] == "items.0.bulkPayableItemMergeKey"

    api.collaborator("a@example.com")
    assert api.call("POST", "/v1/collaborators", {"email": "A@example.com"}, 409)["code"] == "DUPLICATE"
    api.add(batch_id, {"amount": 3, "collaboratorEmail": "a@example.com"})
    api.submit_and_wait(batch_id)
    again = api.call("POST", f"/v1/bulk-payables/batches/{batch_id}/items",
                     {"items": [{"amount": 3, "collaboratorEmail": "a@example.com"}]}, 409)
    assert again["code"] == "BATCH_NOT_OPEN"
    assert api.call("GET", "/v1/bulk-payables/batches/bpb_404404", expect=404)["code"] == "NOT_FOUND"
    assert api.call("GET", "/v1/payables/pay_404404", expect=404)["code"] == "NOT_FOUND"

    other = Payables(sandbox, {"Authorization": "Bearer wrong", "X-Company-Id": "demo-company"})
    assert other.call("GET", "/v1/payables", expect=401)["code"] == "UNAUTHORIZED"
    response = requests.post(f"{sandbox.url}/v1/bulk-payables/batches", data=b"{oops",
                             headers=api.headers, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_JSON"


def test_batches_are_found_again_by_their_labels(api: Payables) -> None:
    """How a client that lost the answer to its create finds the batch instead of making a second one."""
    first = api.batch(labels={"source": "batch_orchestration", "job": "bo-payables-2024-03-01-0-aa"})
    second = api.batch(labels={"source": "batch_orchestration", "job": "bo-payables-2024-03-02-0-bb"})
    api.batch(labels={"source": "someone else"})
    found = api.call("GET", "/v1/bulk-payables/batches?label.source=batch_orchestration&label.job="
                            "bo-payables-2024-03-02-0-bb")
    assert [batch["bulkPayableBatchId"] for batch in found] == [second]
    mine = api.call("GET", "/v1/bulk-payables/batches?label.source=batch_orchestration")
    assert [batch["bulkPayableBatchId"] for batch in mine] == [first, second]
    assert len(api.call("GET", "/v1/bulk-payables/batches")) == 3
    assert api.call("GET", "/v1/bulk-payables/batches?label.job=none") == []

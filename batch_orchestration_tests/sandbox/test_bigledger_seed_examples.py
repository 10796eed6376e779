"""Every request example of seeds 000 and 002, sent as written, answered in the documented shape."""

from __future__ import annotations

from typing import Any

from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.sandbox.bigledger_helpers import Client, detail_codes, error_codes

SEED_CUSTOMERS = {
    "operations": [
        {"operation": "create", "referenceId": "new_customer_1", "data": {
            "name": "Acme Corporation", "email": "billing@acme.com", "phone": "+60123456789",
            "address": {"street": "123 Main Street", "city": "Kuala Lumpur", "state": "Selangor",
                        "postalCode": "50000", "country": "MY"},
            "creditLimit": 10000.00, "paymentTerms": 30, "taxNumber": "123456789012"}},
        {"operation": "update", "referenceId": "update_customer_1", "data": {
            "id": "cust_existing123", "creditLimit": 15000.00, "status": "active"}},
        {"operation": "create", "referenceId": "new_customer_2", "data": {
            "name": "Tech Solutions Sdn Bhd", "email": "accounts@techsolutions.my", "phone": "+60387654321",
            "creditLimit": 25000.00, "paymentTerms": 45}},
    ],
    "options": {"continueOnError": True, "validateOnly": False},
}
SEED_INVOICES = {
    "operations": [
        {"operation": "create", "referenceId": "inv_batch_001", "data": {
            "customerId": "cust_123abc456", "invoiceDate": "2024-01-15", "dueDate": "2024-02-14",
            "reference": "SO-2024-001",
            "items": [{"itemId": "item_123", "description": "Professional Services", "quantity": 10,
                       "unitPrice": 100.00, "taxCode": "SST"}],
            "notes": "Bulk generated invoice"}},
        {"operation": "create", "referenceId": "inv_batch_002", "data": {
            "customerId": "cust_456def789", "invoiceDate": "2024-01-15", "dueDate": "2024-02-14",
            "items": [{"description": "Consulting Services", "quantity": 5, "unitPrice": 200.00, "taxCode": "SST"}]}},
    ],
    "options": {"continueOnError": True, "async": False},
}
SEED_ADJUSTMENTS = {
    "operations": [
        {"operation": "create", "referenceId": "adj_001", "data": {
            "itemId": "item_123abc456", "locationId": "loc_warehouse1", "adjustmentType": "increase",
            "quantity": 100, "unitCost": 25.00, "reason": "Stock count correction", "reference": "SC-2024-001"}},
        {"operation": "create", "referenceId": "adj_002", "data": {
            "itemId": "item_456def789", "locationId": "loc_warehouse1", "adjustmentType": "decrease",
            "quantity": 50, "reason": "Damaged goods write-off", "reference": "WO-2024-001"}},
    ]
}
SEED_ITEMS = {
    "operations": [
        {"operation": "create", "referenceId": "item_001", "data": {
            "itemCode": "WIDGET-001", "name": "Premium Widget", "description": "High-quality widget for industrial use",
            "category": "Widgets", "type": "inventory", "unitOfMeasure": "pieces", "costPrice": 25.00,
            "sellingPrice": 50.00, "taxCode": "SST", "reorderLevel": 100, "reorderQuantity": 500,
            "trackSerial": False, "trackBatch": False}},
        {"operation": "create", "referenceId": "item_002", "data": {
            "itemCode": "SERVICE-001", "name": "Consulting Hour", "description": "Professional consulting services",
            "type": "service", "sellingPrice": 150.00, "taxCode": "SST"}},
    ]
}
SEED_JOURNAL = {
    "operations": [
        {"operation": "create", "referenceId": "je_001", "data": {
            "date": "2024-01-15", "reference": "JE-2024-001", "description": "Monthly depreciation",
            "lines": [
                {"accountId": "acc_depreciation", "debit": 5000.00, "credit": 0.00,
                 "description": "Equipment depreciation"},
                {"accountId": "acc_accumulated_dep", "debit": 0.00, "credit": 5000.00,
                 "description": "Accumulated depreciation"}]}},
        {"operation": "create", "referenceId": "je_002", "data": {
            "date": "2024-01-15", "reference": "JE-2024-002", "description": "Prepaid insurance adjustment",
            "lines": [
                {"accountId": "acc_insurance_exp", "debit": 2000.00, "credit": 0.00,
                 "description": "Monthly insurance expense"},
                {"accountId": "acc_prepaid_ins", "debit": 0.00, "credit": 2000.00,
                 "description": "Prepaid insurance reduction"}]}},
    ]
}
BATCH_KEYS = {"batchId", "status", "totalRecords", "processedRecords", "successfulRecords", "failedRecords",
              "skippedRecords", "results", "summary", "executionTime", "startedAt", "completedAt"}


def _post(client: Client, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/v1/batch/{entity}", json=body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["success"] is True and set(envelope["meta"]) == {"timestamp", "requestId"}
    data = envelope["data"]
    assert set(data) >= BATCH_KEYS
    assert set(data["summary"]) == {"created", "updated", "deleted", "errors", "warnings"}
    assert [r["referenceId"] for r in data["results"]] == [op["referenceId"] for op in body["operations"]]
    return data


def test_customer_example(sandbox: RunningSandbox) -> None:
    data = _post(Client(sandbox.url), "customers", SEED_CUSTOMERS)
    assert error_codes(data) == [None, "REFERENCE_ERROR", None]
    first = data["results"][0]
    assert first["operation"] == "create" and first["data"]["id"].startswith("cust_")
    assert first["data"]["customerNumber"] == "CUST-0001"
    assert data["results"][2]["data"]["customerNumber"] == "CUST-0002"
    missing = data["results"][1]["error"]
    assert missing["category"] == "reference" and missing["context"]["rowNumber"] == 2
    assert missing["context"]["originalData"]["id"] == "cust_existing123"
    assert (data["processedRecords"], data["successfulRecords"], data["failedRecords"]) == (3, 2, 1)
    assert data["summary"]["created"] == 2 and data["summary"]["errors"] == 1


def test_invoice_example_reports_missing_customers(sandbox: RunningSandbox) -> None:
    data = _post(Client(sandbox.url), "invoices", SEED_INVOICES)
    assert error_codes(data) == ["REFERENCE_ERROR", "REFERENCE_ERROR"]
    assert data["results"][0]["error"]["field"] == "customerId"


def test_invoice_example_with_existing_customers(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    ids = client.create("customers", [{"name": "A"}, {"name": "B"}])
    body = {**SEED_INVOICES, "operations": [
        {**op, "data": {**op["data"], "customerId": cid}} for op, cid in zip(SEED_INVOICES["operations"], ids,
                                                                             strict=True)]}
    data = _post(client, "invoices", body)
    assert error_codes(data) == [None, None]
    assert data["results"][0]["data"]["invoiceNumber"] == "INV-2024-0001"
    stored = client.get(f"/v1/invoices/{data['results'][0]['data']['id']}").json()["data"]
    assert stored["total"] == 1000.0 and stored["status"] == "draft" and stored["referenceId"] == "inv_batch_001"


def test_stock_adjustment_example(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    assert error_codes(_post(client, "stock-adjustments", SEED_ADJUSTMENTS)) == ["REFERENCE_ERROR"] * 2
    ids = client.create("items", [{"itemCode": "A", "name": "A"}, {"itemCode": "B", "name": "B"}])
    body = {"operations": [{**op, "data": {**op["data"], "itemId": iid}}
                           for op, iid in zip(SEED_ADJUSTMENTS["operations"], ids, strict=True)]}
    data = _post(client, "stock-adjustments", body)
    assert error_codes(data) == [None, None]
    assert data["results"][0]["data"]["adjustmentNumber"].startswith("ADJ-")


def test_item_example(sandbox: RunningSandbox) -> None:
    data = _post(Client(sandbox.url), "items", SEED_ITEMS)
    assert error_codes(data) == [None, None]
    assert [r["data"]["itemCode"] for r in data["results"]] == ["WIDGET-001", "SERVICE-001"]
    assert data["results"][0]["data"]["id"].startswith("item_")


def test_journal_entry_example(sandbox: RunningSandbox) -> None:
    data = _post(Client(sandbox.url), "journal-entries", SEED_JOURNAL)
    assert error_codes(data) == [None, None]
    assert data["results"][0]["data"]["entryNumber"] == "JE-2024-0001"


def test_validate_only_and_rollback_examples(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    data = _post(client, "customers", {"operations": SEED_CUSTOMERS["operations"], "options": {"validateOnly": True}})
    assert data["status"] == "validated" and error_codes(data) == [None, "REFERENCE_ERROR", None]
    data = _post(client, "customers", {"operations": SEED_CUSTOMERS["operations"],
                                       "options": {"rollbackOnError": True}})
    assert data["status"] == "rolled_back" and data["successfulRecords"] == 0
    assert client.listing("/v1/customers")["pagination"]["total"] == 0


def test_documented_multiple_validation_errors(sandbox: RunningSandbox) -> None:
    """Seed 000 "Error Response Format": INVALID_EMAIL and INVALID_AMOUNT together, with context."""
    operations = [{"operation": "create", "referenceId": f"ok_{i}", "data": {"name": f"Ok {i}"}} for i in range(14)]
    bad = {"name": "Bad", "email": "not-an-email", "creditLimit": -5}
    operations.append({"operation": "create", "referenceId": "ref_001", "data": bad})
    result = _post(Client(sandbox.url), "customers", {"operations": operations})["results"][14]
    assert result["referenceId"] == "ref_001" and result["operation"] == "create" and not result["success"]
    error = result["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["message"] == "Multiple validation errors"
    assert {(d["field"], d["code"]) for d in error["details"]} == {("email", "INVALID_EMAIL"),
                                                                  ("creditLimit", "INVALID_AMOUNT")}
    assert error["context"] == {"rowNumber": 15, "originalData": bad}


def test_async_example(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    response = client.post("/v1/batch/customers", json={"operations": SEED_CUSTOMERS["operations"],
                                                        "options": {"async": True, "continueOnError": True}})
    assert response.status_code == 202
    data = response.json()["data"]
    assert {"jobId", "status", "totalRecords", "estimatedCompletion", "progressUrl", "downloadUrl"} <= set(data)
    assert data["status"] == "queued" and data["progressUrl"] == f"/v1/batch/jobs/{data['jobId']}"
    assert data["downloadUrl"] is None and data["jobId"].startswith("job_")


def test_bulk_examples(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    create = {"operations": [
        {"operation": "create", "data": {"name": "Customer 1", "email": "customer1@example.com"}},
        {"operation": "create", "data": {"name": "Customer 2", "email": "customer2@example.com"}}]}
    response = client.post("/api/v1/bulk/customers", json=create)
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["processed"], data["successful"], data["failed"]) == (2, 2, 0)
    assert [r["index"] for r in data["results"]] == [0, 1]
    assert data["results"][0]["data"]["name"] == "Customer 1"
    ids = [r["data"]["id"] for r in data["results"]]
    update = {"operations": [
        {"operation": "update", "id": ids[0], "data": {"creditLimit": 15000}},
        {"operation": "update", "id": "cust_456", "data": {"status": "inactive"}}]}
    data = client.post("/api/v1/bulk/customers", json=update).json()["data"]
    assert (data["processed"], data["successful"], data["failed"]) == (2, 1, 1)
    assert data["results"][0]["data"]["creditLimit"] == 15000
    assert data["results"][1]["error"]["code"] == "REFERENCE_ERROR"
    duplicate = client.post("/v1/bulk/customers", json={"operations": [create["operations"][0]]}).json()["data"]
    assert duplicate["results"][0]["error"]["message"] == "Email already exists"
    assert "DUPLICATE_EMAIL" in detail_codes(duplicate["results"][0])


def test_auth_verify_and_company(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    verify = client.get("/v1/auth/verify").json()
    assert verify["success"] and verify["data"]["companyId"] == "demo-company"
    assert client.get("/v1/company").json()["data"]["id"] == "demo-company"


def test_response_headers_and_request_id(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    response = client.get("/v1/customers", headers={"X-Request-ID": "trace-42"})
    assert response.headers["X-Request-ID"] == "trace-42"
    assert response.json()["meta"]["requestId"] == "trace-42"
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Response-Time"):
        assert name in response.headers
    assert response.headers["X-RateLimit-Limit"] == "1000"
    generated = client.get("/v1/customers")
    assert generated.json()["meta"]["requestId"].startswith("req_")
    assert generated.headers["X-Request-ID"] == generated.json()["meta"]["requestId"]


def test_framework_errors_use_the_envelope(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    for response, status in (
        (client.post("/v1/batch/customers", json={"operations": "nope"}), 422),
        (client.post("/v1/batch/customers", data="{not json", headers={"Content-Type": "application/json"}), 422),
        (client.get("/v1/customers?limit=500"), 422),
        (client.get("/v1/no-such-thing"), 404),
        (client.get("/api/v1/no-such-thing"), 404),
        (client.get("/v1/customers/cust_missing"), 404),
    ):
        assert response.status_code == status, response.text
        body = response.json()
        assert body["success"] is False and {"code", "message", "details"} <= set(body["error"])
        assert "requestId" in body["meta"] and "X-Response-Time" in response.headers


def test_openapi_describes_every_endpoint(sandbox: RunningSandbox) -> None:
    paths = Client(sandbox.url).get("/openapi.json").json()["paths"]
    for entity in ("customers", "suppliers", "invoices", "bills", "items", "journal-entries", "stock-adjustments",
                   "payments", "accounts"):
        assert "post" in paths[f"/v1/batch/{entity}"] and "get" in paths[f"/v1/{entity}"]
        assert "get" in paths[f"/v1/{entity}/{{record_id}}"]
    for path in ("/v1/batch/jobs/{job_id}", "/v1/batch/jobs/{job_id}/results", "/v1/batch/metrics",
                 "/v1/batch/customers/import-csv", "/v1/batch/templates/excel/{entity}", "/v1/auth/verify",
                 "/v1/company", "/api/v1/bulk/customers", "/v1/bulk/inventory-adjustments"):
        assert path in paths
    assert "requestBody" in paths["/v1/batch/customers"]["post"]

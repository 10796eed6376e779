"""Reads (pagination, every filter operator, search, sort), metrics, templates and CSV import."""

from __future__ import annotations

import json

import pytest

from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.sandbox.bigledger_helpers import Client, create_op, customer, error_codes


@pytest.fixture
def seeded(sandbox: RunningSandbox) -> Client:
    client = Client(sandbox.url)
    rows = [
        customer(1, name="Acme Corporation", creditLimit=1000, address={"city": "Kuala Lumpur"}),
        customer(2, name="Beta Trading", creditLimit=250.5, status="inactive", address={"city": "Penang"}),
        customer(3, name="Gamma Acme Ltd", creditLimit=5000, email="billing@gamma.org"),
        customer(4, name="Delta", creditLimit=90),
        customer(5, name="Epsilon"),
    ]
    client.batch("customers", [create_op(row, f"ref{i}") for i, row in enumerate(rows, 1)])
    return client


def _names(client: Client, **params: str) -> list[str]:
    return [r["name"] for r in client.listing("/v1/customers", **params)["data"]]


def test_every_filter_operator(seeded: Client) -> None:
    cases = {
        "status": ("active", ["Acme Corporation", "Gamma Acme Ltd", "Delta", "Epsilon"]),
        "status[eq]": ("inactive", ["Beta Trading"]),
        "status[ne]": ("active", ["Beta Trading"]),
        "creditLimit[gt]": ("250.5", ["Acme Corporation", "Gamma Acme Ltd"]),
        "creditLimit[gte]": ("250.5", ["Acme Corporation", "Beta Trading", "Gamma Acme Ltd"]),
        "creditLimit[lt]": ("250.5", ["Delta"]),
        "creditLimit[lte]": ("1000", ["Acme Corporation", "Beta Trading", "Delta"]),
        "creditLimit": ("1000.0", ["Acme Corporation"]),
        "referenceId[in]": ("ref1,ref4", ["Acme Corporation", "Delta"]),
        "referenceId[nin]": ("ref1,ref2,ref3", ["Delta", "Epsilon"]),
        "name[contains]": ("acme", ["Acme Corporation", "Gamma Acme Ltd"]),
        "name[startswith]": ("a", ["Acme Corporation"]),
        "email[endswith]": (".org", ["Gamma Acme Ltd"]),
        "address.city": ("Penang", ["Beta Trading"]),
    }
    for key, (value, expected) in cases.items():
        assert _names(seeded, **{key: value}) == expected, key
    assert _names(seeded, **{"creditLimit[gte]": "100", "creditLimit[lt]": "2000"}) == ["Acme Corporation",
                                                                                     "Beta Trading"]


def test_invalid_queries_are_400(seeded: Client) -> None:
    for params in ({"name[like]": "x"}, {"sort": "name:sideways"}, {"cursor": "!!!"}, {"na me": "x"}):
        response = seeded.get("/v1/customers", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "INVALID_QUERY"


def test_field_names_never_reach_sql(seeded: Client) -> None:
    response = seeded.get("/v1/customers", params={"name') OR 1=1 --": "x"})
    assert response.status_code == 400
    assert _names(seeded, **{"name": "x' OR '1'='1"}) == []


def test_search_and_sort(seeded: Client) -> None:
    assert _names(seeded, search="ACME") == ["Acme Corporation", "Gamma Acme Ltd"]
    assert _names(seeded, search="gamma.org", searchFields="email") == ["Gamma Acme Ltd"]
    assert _names(seeded, search="gamma.org", searchFields="name") == []
    assert _names(seeded, sort="creditLimit:desc") == ["Gamma Acme Ltd", "Acme Corporation", "Beta Trading",
                                                       "Delta", "Epsilon"]
    assert _names(seeded, sort="status:asc,name:desc") == ["Gamma Acme Ltd", "Epsilon", "Delta",
                                                           "Acme Corporation", "Beta Trading"]


def test_cursor_pagination(seeded: Client) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "2", "sort": "name:asc", **({"cursor": cursor} if cursor else {})}
        page = seeded.listing("/v1/customers", **params)
        assert page["pagination"]["limit"] == 2 and page["pagination"]["total"] == 5
        seen += [r["name"] for r in page["data"]]
        cursor = page["pagination"]["nextCursor"]
        if not page["pagination"]["hasMore"]:
            assert cursor is None
            break
    assert seen == sorted(seen) and len(seen) == 5
    default = seeded.listing("/v1/customers")
    assert default["pagination"] == {"hasMore": False, "nextCursor": None, "limit": 20, "total": 5}


def test_get_one_and_date_range(seeded: Client) -> None:
    customer_id = seeded.listing("/v1/customers", limit=1)["data"][0]["id"]
    assert seeded.get(f"/api/v1/customers/{customer_id}").json()["data"]["id"] == customer_id
    dates = ["2024-01-05", "2024-01-20", "2024-02-10"]
    seeded.batch("invoices", [create_op({"customerId": customer_id, "invoiceDate": day,
                                         "items": [{"description": "x", "quantity": 1, "unitPrice": 10}]})
                              for day in dates])
    found = seeded.listing("/v1/invoices", fromDate="2024-01-01", toDate="2024-01-31", sort="invoiceDate:desc")
    assert [r["invoiceDate"] for r in found["data"]] == ["2024-01-20", "2024-01-05"]
    assert seeded.listing("/v1/invoices", customerName="Acme Corporation")["pagination"]["total"] == 3


def test_bulk_endpoints(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    [customer_id] = client.create("customers", [customer(1)])
    [item_id] = client.create("items", [{"itemCode": "A", "name": "A"}])
    line = {"description": "x", "quantity": 1, "unitPrice": 10.0}
    bodies = {
        "invoices": [{"customerId": customer_id, "invoiceDate": "2024-01-02", "items": [line]}],
        "inventory-adjustments": [{"itemId": item_id, "adjustmentType": "increase", "quantity": 3}],
        "journal-entries": [{"date": "2024-01-02", "lines": [{"accountId": "a", "debit": 5, "credit": 0},
                                                             {"accountId": "b", "debit": 0, "credit": 5}]}],
        "payments": [{"customerId": customer_id, "amount": 10.0, "date": "2024-01-03"}],
    }
    for path, records in bodies.items():
        operations = [{"operation": "create", "data": r} for r in records] + [{"operation": "create", "data": {}}]
        data = client.post(f"/v1/bulk/{path}", json={"operations": operations}).json()["data"]
        assert (data["processed"], data["successful"], data["failed"]) == (2, 1, 1), (path, data)
        assert data["results"][1] == {"index": 1, "success": False, "error": data["results"][1]["error"]}
    assert client.listing("/v1/stock-adjustments")["pagination"]["total"] == 1
    for path, maximum in (("customers", 100), ("invoices", 50), ("inventory-adjustments", 200)):
        too_many = {"operations": [{"operation": "create", "data": {}}] * (maximum + 1)}
        assert client.post(f"/api/v1/bulk/{path}", json=too_many).status_code == 400


def test_metrics_reflect_persisted_batches(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    client.batch("customers", [create_op(customer(1)), create_op({"name": ""})])
    client.batch("customers", [create_op(customer(2)), create_op(customer(3))])
    data = client.get("/v1/batch/metrics").json()["data"]
    assert data["currentMonth"] == {**data["currentMonth"], "totalBatches": 2, "totalRecords": 4, "successRate": 75.0}
    assert data["currentMonth"]["averageProcessingTime"] >= 0
    assert (data["activeBatches"], data["queuedBatches"]) == (0, 0)
    assert data["rateLimits"]["remaining"] == 8 and data["rateLimits"]["resetTime"].endswith("Z")


def test_templates(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    for entity in ("customers", "items", "suppliers", "accounts"):
        response = client.get(f"/v1/batch/{entity}/template.csv")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert "X-RateLimit-Limit" in response.headers
    header = client.get("/v1/batch/customers/template.csv").text.splitlines()[0]
    assert header.startswith("name,email,phone,credit_limit,payment_terms,tax_number")
    excel = client.get("/v1/batch/templates/excel/customers")
    assert excel.status_code == 501 and excel.json()["error"]["details"]["csvTemplate"].endswith("template.csv")
    assert client.get("/v1/batch/templates/excel/unicorns").status_code == 404


SEED_CSV = """name,email,phone,credit_limit,payment_terms,tax_number
"Acme Corp","billing@acme.com","+60123456789",10000,30,"123456789012"
"Tech Solutions","accounts@tech.my","+60387654321",25000,45,"987654321012"
"""
SEED_MAPPING = {"name": "name", "email": "email", "phone": "phone", "creditLimit": "credit_limit",
                "paymentTerms": "payment_terms", "taxNumber": "tax_number"}


def test_csv_import_runs_the_customer_batch(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    files = {"file": ("customers.csv", SEED_CSV, "text/csv")}
    form = {"mapping": json.dumps(SEED_MAPPING), "options": json.dumps({"continueOnError": True})}
    data = client.post("/v1/batch/customers/import-csv", files=files, data=form).json()["data"]
    assert data["successfulRecords"] == 2 and data["results"][0]["data"]["customerNumber"] == "CUST-0001"
    stored = client.listing("/v1/customers", email="billing@acme.com")["data"][0]
    assert stored["creditLimit"] == 10000 and stored["paymentTerms"] == 30 and stored["taxNumber"] == "123456789012"
    again = client.post("/v1/batch/customers/import-csv", files=files, data=form).json()["data"]
    assert error_codes(again) == ["DUPLICATE_ERROR", "DUPLICATE_ERROR"]
    with_refs = "ref,name,credit_limit\nlegacy-7,Zeta,-1\nlegacy-8,Eta,abc\n"
    mapping = {"referenceId": "ref", "name": "name", "creditLimit": "credit_limit"}
    data = client.post("/v1/batch/customers/import-csv", files={"file": ("c.csv", with_refs)},
                       data={"mapping": json.dumps(mapping)}).json()["data"]
    assert [r["referenceId"] for r in data["results"]] == ["legacy-7", "legacy-8"]
    assert error_codes(data) == ["VALIDATION_ERROR", "VALIDATION_ERROR"]
    bad = client.post("/v1/batch/customers/import-csv", files=files, data={"mapping": '{"name": "nope"}'})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_MAPPING"
    assert client.post("/v1/batch/customers/import-csv", files=files, data={"mapping": "{"}).status_code == 400


def test_csv_import_of_a_malformed_file_is_a_400(sandbox: RunningSandbox) -> None:
    """The OpenAPI fuzz run found csv.Error answered as a 500; a field over the csv limit raises it too."""
    client = Client(sandbox.url)
    malformed = f'name,email\n"{"x" * 200_000}",billing@acme.com\n'
    answer = client.post("/v1/batch/customers/import-csv", files={"file": ("c.csv", malformed, "text/csv")},
                         data={"mapping": json.dumps({"name": "name", "email": "email"})})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "INVALID_REQUEST"
    assert "malformed" in answer.json()["error"]["message"]


def test_records_are_selected_by_their_ids_with_the_other_filters_applied(seeded: Client) -> None:
    ids = {r["name"]: r["id"] for r in seeded.listing("/v1/customers", limit="100")["data"]}
    wanted = f"{ids['Delta']},{ids['Acme Corporation']},cust_does_not_exist"
    assert _names(seeded, **{"id[in]": wanted}) == ["Acme Corporation", "Delta"]  # in the order created
    assert _names(seeded, **{"id[in]": wanted, "creditLimit[gt]": "100"}) == ["Acme Corporation"]
    assert _names(seeded, **{"id": ids["Epsilon"]}) == ["Epsilon"]
    assert seeded.listing("/v1/customers", **{"id[in]": wanted})["pagination"]["total"] == 2

"""Every validation rule of seed 000 "Data Validation", plus the documented rules of the other entities.

Each test sends one batch of cases and checks every record's outcome, so a rule is one row here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.sandbox.bigledger_helpers import Client, customer, detail_codes, invoice, item

TOMORROW = (date.today() + timedelta(days=2)).isoformat()
ARABIC_INDIC = {ord("0") + d: 0x0660 + d for d in range(10)}
Case = tuple[dict[str, Any], str | None, str | None]  # (data, error code or None for success, detail code)


def _check(client: Client, entity: str, cases: list[Case]) -> None:
    data = client.batch(entity, [{"operation": "create", "referenceId": f"case_{i}", "data": case[0]}
                                 for i, case in enumerate(cases)])
    for index, ((record, code, detail), result) in enumerate(zip(cases, data["results"], strict=True)):
        where = f"case {index}: {record} -> {result}"
        if code is None:
            assert result["success"], where
            continue
        assert not result["success"] and result["error"]["code"] == code, where
        assert result["error"]["context"]["rowNumber"] == index + 1, where
        if detail:
            assert detail in detail_codes(result), where


def test_customer_rules(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    client.create("customers", [customer(0, email="Taken@Example.com")])
    _check(client, "customers", [
        ({"email": "a@b.co"}, "VALIDATION_ERROR", "REQUIRED"),
        ({"name": ""}, "VALIDATION_ERROR", "REQUIRED"),
        ({"name": "x" * 100}, None, None),
        ({"name": "x" * 101}, "VALIDATION_ERROR", "TOO_LONG"),
        ({"name": 42}, "VALIDATION_ERROR", "INVALID_TYPE"),
        (customer(1, email="no-at-sign"), "VALIDATION_ERROR", "INVALID_EMAIL"),
        (customer(2, email="two@@example.com"), "VALIDATION_ERROR", "INVALID_EMAIL"),
        (customer(3, email="taken@example.COM"), "DUPLICATE_ERROR", "DUPLICATE_EMAIL"),
        (customer(4, email="fresh@example.com"), None, None),
        (customer(5, email="FRESH@example.com"), "DUPLICATE_ERROR", "DUPLICATE_EMAIL"),  # same batch
        (customer(6, phone="+60 12-345 6789"), None, None),
        (customer(7, phone="0123456789"), "VALIDATION_ERROR", "INVALID_PHONE"),
        (customer(8, phone="+12345"), "VALIDATION_ERROR", "INVALID_PHONE"),
        (customer(9, phone="+1234567890123456"), "VALIDATION_ERROR", "INVALID_PHONE"),
        (customer(10, phone="+6012abc6789"), "VALIDATION_ERROR", "INVALID_PHONE"),
        (customer(11, taxNumber="123456789012"), None, None),
        (customer(12, taxNumber="C20880050010"), None, None),
        (customer(13, taxNumber="12345"), "VALIDATION_ERROR", "INVALID_TAX_NUMBER"),
        (customer(14, taxNumber="GB123456789", address={"country": "GB"}), None, None),
        (customer(15, taxNumber="AB-1", address={"country": "GB"}), "VALIDATION_ERROR", "INVALID_TAX_NUMBER"),
        (customer(16, creditLimit=0), None, None),
        (customer(17, creditLimit=-0.01), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (customer(18, creditLimit="100"), "VALIDATION_ERROR", "INVALID_TYPE"),
        (customer(19, paymentTerms=-1), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (customer(20, status="archived"), "VALIDATION_ERROR", "INVALID_VALUE"),
        (customer(21, address={"country": "Malaysia"}), "VALIDATION_ERROR", "TOO_LONG"),
        # Formats are ASCII and matched whole (docs/target-apis.md, "Validation rules").
        (customer(22, email="trailing@newline.com\n"), "VALIDATION_ERROR", "INVALID_EMAIL"),
        (customer(23, phone="+" + "60123456789".translate(ARABIC_INDIC)), "VALIDATION_ERROR", "INVALID_PHONE"),
        (customer(24, taxNumber="123456789012".translate(ARABIC_INDIC)), "VALIDATION_ERROR", "INVALID_TAX_NUMBER"),
        (customer(25, taxNumber="\u00df" * 5, address={"country": "GB"}), "VALIDATION_ERROR", "INVALID_TAX_NUMBER"),
        (customer(26, taxNumber="c2088005-0010"), None, None),
    ])


def test_customers_default_to_active_and_ignore_read_only_fields(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    [customer_id] = client.create("customers", [customer(1, id="cust_mine", customerNumber="X-1")])
    stored = client.get(f"/v1/customers/{customer_id}").json()["data"]
    assert customer_id != "cust_mine" and stored["customerNumber"] == "CUST-0001" and stored["status"] == "active"


def test_invoice_rules(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    active, inactive = client.create("customers", [customer(1), customer(2, status="inactive")])
    line = {"description": "x", "quantity": 1, "unitPrice": 10.0}
    _check(client, "invoices", [
        (invoice(active), None, None),
        (invoice("cust_nope"), "REFERENCE_ERROR", "NOT_FOUND"),
        (invoice(inactive), "REFERENCE_ERROR", "INACTIVE"),
        ({**invoice(active), "customerId": None}, "VALIDATION_ERROR", "REQUIRED"),
        (invoice(active, invoiceDate="2024-02-30"), "VALIDATION_ERROR", "INVALID_DATE"),
        (invoice(active, invoiceDate="15/01/2024"), "VALIDATION_ERROR", "INVALID_DATE"),
        (invoice(active, invoiceDate=TOMORROW), "VALIDATION_ERROR", "FUTURE_DATE"),
        (invoice(active, items=[]), "VALIDATION_ERROR", "REQUIRED"),
        (invoice(active, items=[{**line, "quantity": 0}]), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (invoice(active, items=[{**line, "unitPrice": -1}]), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (invoice(active, items=[{"quantity": 1, "unitPrice": 1}]), "VALIDATION_ERROR", "REQUIRED"),
        (invoice(active, total=100.0), None, None),
        (invoice(active, total=100.005), None, None),
        (invoice(active, total=99.0), "VALIDATION_ERROR", "UNBALANCED"),
        # Exact and inclusive: 100.01 - 100.00 is 0.01, whatever floats make of it.
        (invoice(active, total=100.01), None, None),
        (invoice(active, total=99.99), None, None),
        (invoice(active, total=100.0101), "VALIDATION_ERROR", "UNBALANCED"),
        (invoice(active, total=1.0, items=[{**line, "quantity": 1, "unitPrice": 0.3333}] * 3), None, None),
        (invoice(active, total=1.01, items=[{**line, "quantity": 1, "unitPrice": 0.3333}] * 3),
         "VALIDATION_ERROR", "UNBALANCED"),  # 0.9999: no per-line or final rounding
    ])
    data = client.batch("invoices", [{"operation": "create", "data": invoice(active, dueDate="2024-01-01")}])
    assert data["results"][0]["success"] and data["summary"]["warnings"] == 1
    assert data["results"][0]["warnings"][0]["code"] == "DUE_BEFORE_DATE"


def test_future_invoice_dates_are_configurable(sandbox_factory: Any) -> None:
    client = Client(sandbox_factory(allow_future_invoice_dates=True).url)
    [customer_id] = client.create("customers", [customer(1)])
    client.create("invoices", [invoice(customer_id, invoiceDate=TOMORROW)])


def test_item_rules(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    client.create("items", [item("TAKEN-1")])
    _check(client, "items", [
        (item("OK-1"), None, None),
        ({"name": "No code"}, "VALIDATION_ERROR", "REQUIRED"),
        (item("taken-1"), "DUPLICATE_ERROR", "DUPLICATE_ITEMCODE"),
        (item("OK-2"), None, None),
        (item("OK-2"), "DUPLICATE_ERROR", "DUPLICATE_ITEMCODE"),
        ({"itemCode": "NONAME"}, "VALIDATION_ERROR", "REQUIRED"),
        (item("LONG", name="n" * 200), None, None),
        (item("LONGER", name="n" * 201), "VALIDATION_ERROR", "TOO_LONG"),
        (item("NEG-COST", costPrice=-1), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (item("NEG-PRICE", sellingPrice=-0.5), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (item("FREE", costPrice=0, sellingPrice=0), None, None),
        (item("UOM-KG", unitOfMeasure="KG"), None, None),
        (item("UOM-BAD", unitOfMeasure="furlongs"), "VALIDATION_ERROR", "INVALID_VALUE"),
        (item("TYPE-BAD", type="magic"), "VALIDATION_ERROR", "INVALID_VALUE"),
        (item("SERIAL", trackSerial="yes"), "VALIDATION_ERROR", "INVALID_TYPE"),
    ])


def test_journal_entry_rules(sandbox: RunningSandbox) -> None:
    def entry(*lines: tuple[float, float], **fields: Any) -> dict[str, Any]:
        return {"date": "2024-01-15", **fields,
                "lines": [{"accountId": f"acc_{i}", "debit": d, "credit": c} for i, (d, c) in enumerate(lines)]}

    _check(Client(sandbox.url), "journal-entries", [
        (entry((100, 0), (0, 100)), None, None),
        (entry((100, 0), (0, 60), (0, 40)), None, None),
        (entry((100, 0), (0, 99)), "VALIDATION_ERROR", "UNBALANCED"),
        (entry((100.01, 0), (0, 100)), None, None),
        (entry((100.0101, 0), (0, 100)), "VALIDATION_ERROR", "UNBALANCED"),
        (entry((100, 0)), "VALIDATION_ERROR", "TOO_FEW"),
        (entry((100, 100), (0, 0)), "VALIDATION_ERROR", "INVALID_LINE"),
        (entry((-5, 0), (0, -5)), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        ({**entry((1, 0), (0, 1)), "date": None}, "VALIDATION_ERROR", "REQUIRED"),
        ({"date": "2024-01-15", "lines": [{"debit": 1, "credit": 0}, {"accountId": "a", "debit": 0, "credit": 1}]},
         "VALIDATION_ERROR", "REQUIRED"),
    ])


def test_supplier_and_bill_rules(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    _check(client, "suppliers", [
        ({"name": "Supplier", "email": "ap@supplier.my", "taxNumber": "123456789012"}, None, None),
        ({"email": "ap@supplier.my"}, "VALIDATION_ERROR", "REQUIRED"),
        ({"name": "Bad", "email": "nope"}, "VALIDATION_ERROR", "INVALID_EMAIL"),
    ])
    [supplier_id] = [r["id"] for r in client.listing("/v1/suppliers")["data"]]
    bill = {"supplierId": supplier_id, "billDate": "2024-01-10", "items": [{"description": "x", "quantity": 1,
                                                                           "unitPrice": 5.0}]}
    _check(client, "bills", [
        (bill, None, None),
        ({**bill, "supplierId": "supp_nope"}, "REFERENCE_ERROR", "NOT_FOUND"),
        ({**bill, "items": []}, "VALIDATION_ERROR", "REQUIRED"),
        ({**bill, "billDate": TOMORROW}, "VALIDATION_ERROR", "FUTURE_DATE"),
        ({**bill, "total": 6.0}, "VALIDATION_ERROR", "UNBALANCED"),
    ])


def test_stock_adjustment_payment_and_account_rules(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    [item_id] = client.create("items", [item("STOCK-1")])
    [customer_id] = client.create("customers", [customer(1)])
    adjustment = {"itemId": item_id, "adjustmentType": "increase", "quantity": 5}
    _check(client, "stock-adjustments", [
        (adjustment, None, None),
        ({**adjustment, "itemId": "item_nope"}, "REFERENCE_ERROR", "NOT_FOUND"),
        ({**adjustment, "adjustmentType": "sideways"}, "VALIDATION_ERROR", "INVALID_VALUE"),
        ({**adjustment, "quantity": 0}, "VALIDATION_ERROR", "INVALID_AMOUNT"),
        ({**adjustment, "unitCost": -1}, "VALIDATION_ERROR", "INVALID_AMOUNT"),
    ])
    payment = {"customerId": customer_id, "amount": 100.0, "date": "2024-01-20", "method": "bank_transfer"}
    _check(client, "payments", [
        (payment, None, None),
        ({**payment, "customerId": "cust_nope"}, "REFERENCE_ERROR", "NOT_FOUND"),
        ({**payment, "supplierId": "supp_x"}, "VALIDATION_ERROR", "REQUIRED"),
        ({**payment, "amount": 0}, "VALIDATION_ERROR", "INVALID_AMOUNT"),
        ({**payment, "date": TOMORROW}, "VALIDATION_ERROR", "FUTURE_DATE"),
        ({**payment, "method": "barter"}, "VALIDATION_ERROR", "INVALID_VALUE"),
        ({**payment, "invoiceId": "inv_nope"}, "REFERENCE_ERROR", "NOT_FOUND"),
    ])
    _check(client, "accounts", [
        ({"code": "1000", "name": "Cash", "type": "asset"}, None, None),
        ({"code": "1000", "name": "Cash again", "type": "asset"}, "DUPLICATE_ERROR", "DUPLICATE_CODE"),
        ({"code": "10 00", "name": "Spaces", "type": "asset"}, "VALIDATION_ERROR", "INVALID_FORMAT"),
        ({"code": "2000", "name": "Odd", "type": "weird"}, "VALIDATION_ERROR", "INVALID_VALUE"),
        ({"code": "3000", "name": "Child", "type": "equity", "parentId": "acc_nope"}, "REFERENCE_ERROR", "NOT_FOUND"),
    ])


def test_amounts_fit_the_ledger_precision(sandbox: RunningSandbox) -> None:
    """Every amount and quantity: at most 4 decimal places (trailing zeros aside) and 14 digits before the point."""
    client = Client(sandbox.url)
    [customer_id] = client.create("customers", [customer(1)])
    [item_id] = client.create("items", [item("PREC-1")])
    _check(client, "customers", [
        (customer(2, creditLimit=100.1234), None, None),
        (customer(3, creditLimit=100.12345), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (customer(4, creditLimit=99999999999999), None, None),
        (customer(5, creditLimit=100000000000000), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (customer(6, creditLimit=1e3), None, None),
    ])
    _check(client, "items", [
        (item("PREC-2", costPrice=1.2345), None, None),
        (item("PREC-3", costPrice=1.23456), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (item("PREC-4", reorderLevel=0.00001), "VALIDATION_ERROR", "INVALID_AMOUNT"),
    ])
    line = {"description": "x", "quantity": 1, "unitPrice": 1.2345}
    _check(client, "invoices", [
        (invoice(customer_id, items=[line]), None, None),
        (invoice(customer_id, items=[{**line, "unitPrice": 1.23456}]), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (invoice(customer_id, items=[{**line, "quantity": 0.00001}]), "VALIDATION_ERROR", "INVALID_AMOUNT"),
        (invoice(customer_id, items=[line], total=1.23451), "VALIDATION_ERROR", "INVALID_AMOUNT"),
    ])
    _check(client, "journal-entries", [
        ({"date": "2024-01-15", "lines": [{"accountId": "a", "debit": 0.12345, "credit": 0},
                                          {"accountId": "b", "debit": 0, "credit": 0.12345}]},
         "VALIDATION_ERROR", "INVALID_AMOUNT"),
    ])
    adjustment = {"itemId": item_id, "adjustmentType": "increase", "quantity": 0.0001}
    _check(client, "stock-adjustments", [
        (adjustment, None, None),
        ({**adjustment, "quantity": 0.00001}, "VALIDATION_ERROR", "INVALID_AMOUNT"),
        ({**adjustment, "unitCost": 25.00001}, "VALIDATION_ERROR", "INVALID_AMOUNT"),
    ])
    payment = {"customerId": customer_id, "amount": 150.0001, "date": "2024-01-20"}
    _check(client, "payments", [
        (payment, None, None),
        ({**payment, "amount": 150.00001}, "VALIDATION_ERROR", "INVALID_AMOUNT"),
        ({**payment, "amount": 1e14}, "VALIDATION_ERROR", "INVALID_AMOUNT"),
    ])


@pytest.mark.parametrize(
    ("entity", "operation"),
    [("invoices", "delete"), ("bills", "delete"), ("journal-entries", "update"), ("stock-adjustments", "delete"),
     ("payments", "update"), ("accounts", "delete"), ("customers", "upsert")],
)
def test_disallowed_operations_are_per_record_errors(sandbox: RunningSandbox, entity: str, operation: str) -> None:
    data = Client(sandbox.url).batch(entity, [{"operation": operation, "referenceId": "r", "data": {"id": "x"}}])
    result = data["results"][0]
    assert not result["success"] and result["error"]["code"] == "VALIDATION_ERROR"
    assert detail_codes(result) == {"OPERATION_NOT_SUPPORTED"}

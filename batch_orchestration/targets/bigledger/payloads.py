"""Validated source records -> BigLedger batch ``data`` objects (seed 000's request examples)."""

from __future__ import annotations

from typing import Any

from batch_orchestration.targets.base import MissingParent


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def customer_data(record: dict[str, Any]) -> dict[str, Any]:
    address = _drop_none(
        {
            "street": record.get("street"),
            "city": record.get("city"),
            "state": record.get("state"),
            "postalCode": record.get("postal_code"),
            "country": record.get("country"),
        }
    )
    return _drop_none(
        {
            "name": record["name"],
            "email": record.get("email"),
            "phone": record.get("phone"),
            "address": address or None,
            "creditLimit": record.get("credit_limit"),
            "paymentTerms": record.get("payment_terms"),
            "taxNumber": record.get("tax_number"),
            "status": record.get("status"),
        }
    )


def invoice_line_data(line: dict[str, Any]) -> dict[str, Any]:
    return _drop_none(
        {
            "description": line.get("description") or line.get("item_code") or f"Line {line['line_number']}",
            "quantity": line["quantity"],
            "unitPrice": line["unit_price"],
            "taxCode": line.get("tax_code"),
        }
    )


def invoice_data(record: dict[str, Any], customer_ids: dict[str, str],
                 lines: list[dict[str, Any]]) -> dict[str, Any]:
    customer_id = customer_ids.get(record["customer_key"])
    if customer_id is None:
        raise MissingParent("customers", record["customer_key"])
    ordered = sorted(lines, key=lambda line: int(line["line_number"]))
    return _drop_none(
        {
            "customerId": customer_id,
            "invoiceDate": record["invoice_date"],
            "dueDate": record.get("due_date"),
            "reference": record.get("reference") or record["invoice_key"],
            "notes": record.get("notes"),
            "total": record["total_amount"],
            "items": [invoice_line_data(line) for line in ordered],
        }
    )

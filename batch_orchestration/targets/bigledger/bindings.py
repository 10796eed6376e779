"""BigLedger's batch entities (seed 000, "Batch Entities"): how each is sent, one binding per entity.

A payload builder turns a validated record, its lines (in key order) and the target's ids of the
records it names into seed 000's ``data`` object; a reference the ID map cannot resolve raises
MissingParent. The largest batch and the operations are the seed's table. Invoice and bill lines and
journal lines have no endpoint of their own: they travel inside their header (``items``, ``lines``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from batch_orchestration.targets.base import Amounts, Binding, PayloadBuilder, Record, TargetIds

CREATE_ONLY = frozenset({"create"})
CREATE_UPDATE_DELETE = frozenset({"create", "update", "delete"})  # seed 000: customers, suppliers, items


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def party_data(record: Record, _: Sequence[Record], __: TargetIds) -> dict[str, Any]:
    """Customers and suppliers."""
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


def _document_line(line: Record, ids: TargetIds) -> dict[str, Any]:
    """A line without a description is sent with its item code (else ``Line <n>``) as the description."""
    return _drop_none(
        {
            "itemId": ids.of("items", line.get("item_code")),
            "description": line.get("description") or line.get("item_code") or f"Line {line['line_number']}",
            "quantity": line["quantity"],
            "unitPrice": line["unit_price"],
            "taxCode": line.get("tax_code"),
        }
    )


def document_data(party: str, party_field: str, party_key: str, date_field: str, date_key: str,
                  key: str) -> PayloadBuilder:
    """Invoices (``customerId``, ``invoiceDate``) and bills (``supplierId``, ``billDate``) with their ``items``."""

    def build(record: Record, lines: Sequence[Record], ids: TargetIds) -> dict[str, Any]:
        return _drop_none(
            {
                party_field: ids.of(party, record[party_key]),
                date_field: record[date_key],
                "dueDate": record.get("due_date"),
                "reference": record.get("reference") or record[key],
                "notes": record.get("notes"),
                "total": record["total_amount"],
                "items": [_document_line(line, ids) for line in lines],
            }
        )

    return build


def item_data(record: Record, _: Sequence[Record], __: TargetIds) -> dict[str, Any]:
    return _drop_none(
        {
            "itemCode": record["item_code"],
            "name": record["name"],
            "description": record.get("description"),
            "category": record.get("category"),
            "type": record.get("item_type"),
            "unitOfMeasure": record.get("unit_of_measure"),
            "costPrice": record.get("cost_price"),
            "sellingPrice": record.get("selling_price"),
            "taxCode": record.get("tax_code"),
            "reorderLevel": record.get("reorder_level"),
            "reorderQuantity": record.get("reorder_quantity"),
            "status": record.get("status"),
        }
    )


def account_data(record: Record, _: Sequence[Record], __: TargetIds) -> dict[str, Any]:
    return _drop_none(
        {
            "code": record["account_code"],
            "name": record["name"],
            "type": record["account_type"],
            "description": record.get("description"),
            "status": record.get("status"),
        }
    )


def journal_entry_data(record: Record, lines: Sequence[Record], ids: TargetIds) -> dict[str, Any]:
    return _drop_none(
        {
            "date": record["entry_date"],
            "reference": record.get("reference") or record["entry_key"],
            "description": record.get("description"),
            "lines": [
                _drop_none({
                    "accountId": ids.of("accounts", line["account_code"]),
                    "debit": line.get("debit") or 0,
                    "credit": line.get("credit") or 0,
                    "description": line.get("description"),
                })
                for line in lines
            ],
        }
    )


def stock_adjustment_data(record: Record, _: Sequence[Record], ids: TargetIds) -> dict[str, Any]:
    """BigLedger has no locations to migrate: the export's location code is sent as its ``locationId``."""
    return _drop_none(
        {
            "itemId": ids.of("items", record["item_code"]),
            "locationId": record.get("location"),
            "adjustmentType": record["adjustment_type"],
            "quantity": record["quantity"],
            "unitCost": record.get("unit_cost"),
            "reason": record.get("reason"),
            "reference": record.get("reference") or record["adjustment_key"],
            "date": record.get("adjustment_date"),
        }
    )


def payment_data(record: Record, _: Sequence[Record], ids: TargetIds) -> dict[str, Any]:
    return _drop_none(
        {
            "customerId": ids.of("customers", record.get("customer_key")),
            "supplierId": ids.of("suppliers", record.get("supplier_key")),
            "invoiceId": ids.of("invoices", record.get("invoice_key")),
            "billId": ids.of("bills", record.get("bill_key")),
            "amount": record["amount"],
            "date": record["payment_date"],
            "method": record.get("method"),
            "reference": record.get("reference") or record["payment_key"],
        }
    )



def _decimal(value: Any) -> Decimal:
    """An amount as sent (a Decimal) or as read back (a JSON number), exactly."""
    return Decimal(str(value if value is not None else 0))


def amount(field: str) -> Amounts:
    """An amount held in one field (an invoice's ``total``, a payment's ``amount``)."""
    return lambda data: {field: _decimal(data.get(field))}


def journal_amounts(data: dict[str, Any]) -> dict[str, Decimal]:
    lines = data.get("lines") or []
    return {"debits": sum((_decimal(line.get("debit")) for line in lines), Decimal(0)),
            "credits": sum((_decimal(line.get("credit")) for line in lines), Decimal(0))}


BINDINGS: dict[str, Binding] = {
    binding.entity: binding
    for binding in (
        Binding("customers", "customers", 500, party_data, CREATE_UPDATE_DELETE),
        Binding("suppliers", "suppliers", 500, party_data, CREATE_UPDATE_DELETE),
        Binding("items", "items", 1000, item_data, CREATE_UPDATE_DELETE),
        Binding("accounts", "accounts", 200, account_data),
        Binding("invoices", "invoices", 100, document_data(
            "customers", "customerId", "customer_key", "invoiceDate", "invoice_date", "invoice_key"),
            resolves=("customers", "items"), amounts=amount("total")),
        Binding("bills", "bills", 100, document_data(
            "suppliers", "supplierId", "supplier_key", "billDate", "bill_date", "bill_key"),
            resolves=("suppliers", "items"), amounts=amount("total")),
        Binding("journal_entries", "journal-entries", 100, journal_entry_data, CREATE_ONLY, resolves=("accounts",),
                amounts=journal_amounts),
        Binding("stock_adjustments", "stock-adjustments", 500, stock_adjustment_data, CREATE_ONLY,
                resolves=("items",)),
        Binding("payments", "payments", 200, payment_data, CREATE_ONLY,
                resolves=("customers", "suppliers", "invoices", "bills"), amounts=amount("amount")),
    )
}

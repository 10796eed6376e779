"""The Batch Import API's record types (seed 003): which entity is which type, and its record.

A record's ``id`` is its legacy key: the API stores a record under its ``id`` and replaces it when
the same ``id`` is imported again, so the key is also the target's id the ID map keeps. Purchase orders
and item receipts carry their lines in ``lineItems`` (each line's ``id`` is ``<document>-<line>``) and
name their supplier and items by those ids. No ``ref`` is sent: the seed makes "id or ref" a record's
identity, and a legacy reference (a supplier's own number) is not unique, so two documents could be
taken for one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from batch_orchestration.targets.base import Binding, PayloadBuilder, Record, TargetIds

MAX_RECORDS = 100  # seed 003: "Maximum 100 records per request"
ITEM_TYPES = {"inventory": "Inventory", "non-inventory": "NonInventory", "service": "Service"}


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != {} and v != []}


def supplier_record(record: Record, _: Sequence[Record], __: TargetIds) -> dict[str, Any]:
    contact = _drop_none({"email": record.get("email"), "phone": record.get("phone")})
    address = _drop_none({"addr1": record.get("street"), "city": record.get("city"), "state": record.get("state"),
                          "zipcode": record.get("postal_code"), "country": record.get("country")})
    return _drop_none({"id": record["supplier_key"], "name": record["name"], "contacts": [contact] if contact else None,
                       "address": address, "taxId": record.get("tax_number"),
                       "active": record.get("status") != "inactive"})


def item_record(record: Record, _: Sequence[Record], __: TargetIds) -> dict[str, Any]:
    item_type = record.get("item_type")
    return _drop_none({"id": record["item_code"], "name": record["name"], "description": record.get("description"),
                       "sku": record["item_code"], "type": ITEM_TYPES[item_type] if item_type else None,
                       "active": 0 if record.get("status") == "inactive" else 1})


def _line(document_key: str, line: Record, ids: TargetIds) -> dict[str, Any]:
    quantity, price = Decimal(line["quantity"]), Decimal(line["unit_price"])
    return _drop_none({"id": f"{document_key}-{line['line_number']}", "itemId": ids.of("items", line.get("item_code")),
                       "description": line.get("description"), "qty": quantity, "price": price,
                       "total": quantity * price})


def _received_line(document_key: str, line: Record, ids: TargetIds) -> dict[str, Any]:
    """A receipt line: received as ordered unless the export says how many came."""
    given = line.get("received_quantity")
    received = Decimal(given if given is not None else line["quantity"])
    return {**_line(document_key, line, ids), "receivedQty": received,
            "receivedTotal": received * Decimal(line["unit_price"])}


def _document(key_field: str, line: Callable[[str, Record, TargetIds], dict[str, Any]],
              dates: dict[str, str]) -> PayloadBuilder:
    """Purchase orders and item receipts: the header's ``dates`` (API field: source field), its lines
    in ``lineItems``, the amount the export's total, else the lines' sum (exact)."""

    def build(record: Record, lines: Sequence[Record], ids: TargetIds) -> dict[str, Any]:
        key = record[key_field]
        items = [line(key, part, ids) for part in lines]
        total = record.get("total_amount")
        return _drop_none({"id": key,
                           "supplierId": ids.of("suppliers", record["supplier_key"]),
                           **{api: record.get(field) for api, field in dates.items()},
                           "dueDate": record.get("due_date"), "notes": record.get("notes"),
                           "amount": Decimal(total) if total is not None else sum((i["total"] for i in items),
                                                                                  Decimal(0)),
                           "lineItems": items})

    return build


BINDINGS: dict[str, Binding] = {
    binding.entity: binding
    for binding in (
        Binding("suppliers", "Suppliers", MAX_RECORDS, supplier_record),
        Binding("items", "Items", MAX_RECORDS, item_record),
        Binding("purchase_orders", "PurchaseOrders", MAX_RECORDS,
                _document("po_key", _line, {"date": "po_date"}), resolves=("suppliers", "items")),
        Binding("item_receipts", "ItemReceipts", MAX_RECORDS,
                _document("receipt_key", _received_line, {"receiptDate": "receipt_date"}),
                resolves=("suppliers", "items")),
    )
}

"""eBill's files (docs/target-apis.md, "CSV files"): which entity goes in which file, and its row.

A payload is ``{"row": {column: value}, "parts": [row, ...]}``: the record's row of its own file and
its lines' rows of the child file (an Invoice batch's ``Invoice Line Item`` files). The target's id
of a record is its natural key: ``customerNumber``, ``invoiceNumber``, ``invoiceNumber:lineNumber``.

eBill stores amounts with two decimal places. A quantity, price or amount with more would be stored
rounded, and the ledger would be off: such a record is held back (CannotRepresent), never sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from batch_orchestration.targets.base import Binding, Record, TargetIds
from batch_orchestration.targets.wire import cents as _cents

# A file's rows per upload batch: the loader's batch, one intent and one jobId. A day of 1M records
# is 100 files; an Invoice file of 10,000 invoices is one request to create, one to finalize and a
# poll, against 100 BigLedger batches (and the minutes of rate budget they take).
RECORDS_PER_FILE = 10_000


@dataclass(frozen=True)
class FileLayout:
    """The columns of one file and which of them make a row's id (joined by ``:``)."""

    sub_operation: str
    columns: tuple[str, ...]
    key: tuple[str, ...]

    def row_id(self, row: dict[str, str]) -> str:
        return ":".join(row[column] for column in self.key)


CUSTOMER_FILE = FileLayout("Customer", (
    "customerNumber", "name", "email", "phone", "addressLine1", "city", "state", "postalCode", "country"),
    ("customerNumber",))
INVOICE_FILE = FileLayout("Invoice", (
    "invoiceNumber", "customerNumber", "invoiceType", "invoiceDate", "dueDate", "amount", "description",
    "poNumber"), ("invoiceNumber",))
LINE_ITEM_FILE = FileLayout("Invoice Line Item", (
    "invoiceNumber", "lineNumber", "itemCode", "description", "quantity", "unitPrice", "amount"),
    ("invoiceNumber", "lineNumber"))
FILES = {layout.sub_operation: layout for layout in (CUSTOMER_FILE, INVOICE_FILE, LINE_ITEM_FILE)}
CHILD_FILE = {INVOICE_FILE.sub_operation: LINE_ITEM_FILE}  # a file whose records' parts go in child files


def cents(value: Any, what: str) -> str:
    """``value`` as eBill's files write it, or CannotRepresent when storing it would round it."""
    return str(_cents(value, what, "eBill"))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def customer_row(record: Record, _: Sequence[Record], __: TargetIds) -> dict[str, Any]:
    row = {"customerNumber": record["customer_key"], "name": record["name"], "email": record.get("email"),
           "phone": record.get("phone"), "addressLine1": record.get("street"), "city": record.get("city"),
           "state": record.get("state"), "postalCode": record.get("postal_code"), "country": record.get("country")}
    return {"row": {column: _text(value) for column, value in row.items()}, "parts": []}


def _line_row(invoice_number: str, line: Record) -> dict[str, str]:
    amount = Decimal(line["quantity"]) * Decimal(line["unit_price"])
    where = f"line {line['line_number']}:"
    return {"invoiceNumber": invoice_number, "lineNumber": str(line["line_number"]),
            "itemCode": _text(line.get("item_code")), "description": _text(line.get("description")),
            "quantity": cents(line["quantity"], f"{where} quantity"),
            "unitPrice": cents(line["unit_price"], f"{where} unit price"),
            "amount": cents(amount, f"{where} quantity x unit price")}


def invoice_row(record: Record, lines: Sequence[Record], ids: TargetIds) -> dict[str, Any]:
    """An invoice without a total is sent with the sum of its lines: eBill requires an amount."""
    number = record["invoice_key"]
    parts = [_line_row(number, line) for line in lines]
    total = record.get("total_amount")
    amount = cents(total, "total") if total is not None else str(sum((Decimal(p["amount"]) for p in parts),
                                                                     Decimal("0.00")))
    row = {"invoiceNumber": number, "customerNumber": ids.of("customers", record["customer_key"]),
           "invoiceType": "Invoice", "invoiceDate": record["invoice_date"], "dueDate": record.get("due_date"),
           "amount": amount, "description": record.get("notes"), "poNumber": record.get("reference")}
    return {"row": {column: _text(value) for column, value in row.items()}, "parts": parts}


BINDINGS: dict[str, Binding] = {
    binding.entity: binding
    for binding in (
        Binding("customers", CUSTOMER_FILE.sub_operation, RECORDS_PER_FILE, customer_row),
        Binding("invoices", INVOICE_FILE.sub_operation, RECORDS_PER_FILE, invoice_row, resolves=("customers",)),
    )
}

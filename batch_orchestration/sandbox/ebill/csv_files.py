"""The CSV files of an eBill import: their columns, row validation and the output file.

The seed does not define the columns; the sandbox's choice is documented in
docs/target-apis.md. Headers are matched exactly (surrounding blanks ignored); columns not
listed are ignored. Each validator turns one row into the (record id, record) to store, or raises
:class:`RowError` with the message written to the output file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from batch_orchestration.sandbox.store import Store

CUSTOMERS = "ebill_customers"
INVOICES = "ebill_invoices"
LINE_ITEMS = "ebill_invoice_line_items"
INVOICE_TYPES = ("Invoice", "CreditMemo", "DebitMemo")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

Row = dict[str, str]


class RowError(ValueError):
    """A row that cannot be imported; the message goes to the output file."""


class FileError(ValueError):
    """A file that cannot be read at all (encoding, missing columns)."""


@dataclass(frozen=True)
class FileSpec:
    entity: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    to_record: Callable[[Store, str, Row], tuple[str, dict[str, Any]]]


def _required(row: Row, column: str) -> str:
    value = row.get(column, "").strip()
    if not value:
        raise RowError(f"{column} is required")
    return value


def _decimal(row: Row, column: str, default: str | None = None) -> str:
    raw = row.get(column, "").strip()
    if not raw:
        if default is None:
            raise RowError(f"{column} is required")
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise RowError(f"{column} must be a decimal number, got {raw!r}") from exc
    if not value.is_finite():
        raise RowError(f"{column} must be a decimal number, got {raw!r}")
    return str(value.quantize(Decimal("0.01")))


def _date(row: Row, column: str, required: bool) -> str | None:
    raw = row.get(column, "").strip()
    if not raw:
        if required:
            raise RowError(f"{column} is required")
        return None
    try:
        parsed: date | None = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RowError(f"{column} must be a date YYYY-MM-DD, got {raw!r}")
    return parsed.isoformat()


def _currency(row: Row) -> str:
    value = row.get("currency", "").strip() or "USD"
    if not _CURRENCY.match(value):
        raise RowError(f"currency must be a 3-letter code, got {value!r}")
    return value


def _optional(row: Row, columns: tuple[str, ...]) -> dict[str, str]:
    return {column: row.get(column, "").strip() for column in columns}


def customer_record(store: Store, company: str, row: Row) -> tuple[str, dict[str, Any]]:
    number = _required(row, "customerNumber")
    email = row.get("email", "").strip()
    if email and not _EMAIL.match(email):
        raise RowError(f"email is not a valid address: {email!r}")
    record = {
        "customerNumber": number,
        "name": _required(row, "name"),
        "email": email,
        **_optional(row, ("phone", "addressLine1", "addressLine2", "city", "state", "postalCode", "country")),
        "currency": _currency(row),
        "balance": _decimal(row, "balance", default="0.00"),
    }
    return number, record


def invoice_record(store: Store, company: str, row: Row) -> tuple[str, dict[str, Any]]:
    number = _required(row, "invoiceNumber")
    customer = _required(row, "customerNumber")
    if store.get(company, CUSTOMERS, customer) is None:
        raise RowError(f"unknown customerNumber {customer!r}")
    invoice_type = row.get("invoiceType", "").strip() or "Invoice"
    if invoice_type not in INVOICE_TYPES:
        raise RowError(f"invoiceType must be one of {', '.join(INVOICE_TYPES)}, got {invoice_type!r}")
    invoice_date = _date(row, "invoiceDate", required=True)
    due_date = _date(row, "dueDate", required=False)
    if due_date and invoice_date and due_date < invoice_date:
        raise RowError("dueDate must not be before invoiceDate")
    record = {
        "invoiceNumber": number,
        "customerNumber": customer,
        "invoiceType": invoice_type,
        "invoiceDate": invoice_date,
        "dueDate": due_date,
        "amount": _decimal(row, "amount"),
        "currency": _currency(row),
        **_optional(row, ("description", "poNumber")),
        "status": "Open",
    }
    return number, record


def line_item_record(store: Store, company: str, row: Row) -> tuple[str, dict[str, Any]]:
    invoice = _required(row, "invoiceNumber")
    if store.get(company, INVOICES, invoice) is None:
        raise RowError(f"unknown invoiceNumber {invoice!r}")
    line = _required(row, "lineNumber")
    if not line.isdigit() or int(line) < 1:
        raise RowError(f"lineNumber must be a whole number from 1, got {line!r}")
    quantity, unit_price = _decimal(row, "quantity"), _decimal(row, "unitPrice")
    expected = (Decimal(quantity) * Decimal(unit_price)).quantize(Decimal("0.01"))
    amount = _decimal(row, "amount", default=str(expected))
    if Decimal(amount) != expected:
        raise RowError(f"amount {amount} is not quantity x unitPrice = {expected}")
    record = {
        "invoiceNumber": invoice,
        "lineNumber": int(line),
        **_optional(row, ("itemCode", "description")),
        "quantity": quantity,
        "unitPrice": unit_price,
        "amount": amount,
    }
    return f"{invoice}:{int(line)}", record


SPECS: dict[str, FileSpec] = {
    "Customer": FileSpec(
        CUSTOMERS,
        ("customerNumber", "name"),
        (
            "email",
            "phone",
            "addressLine1",
            "addressLine2",
            "city",
            "state",
            "postalCode",
            "country",
            "currency",
            "balance",
        ),
        customer_record,
    ),
    "Invoice": FileSpec(
        INVOICES,
        ("invoiceNumber", "customerNumber", "invoiceDate", "amount"),
        ("invoiceType", "dueDate", "currency", "description", "poNumber"),
        invoice_record,
    ),
    "Invoice Line Item": FileSpec(
        LINE_ITEMS,
        ("invoiceNumber", "lineNumber", "quantity", "unitPrice"),
        ("itemCode", "description", "amount"),
        line_item_record,
    ),
}


@dataclass(frozen=True)
class CsvTable:
    header: list[str]
    rows: list[Row]


def read_csv(content: bytes, spec: FileSpec) -> CsvTable:
    """The rows of an uploaded file; raises :class:`FileError` when it is unreadable or lacks columns."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError("the file is not UTF-8 text") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader, [])]
    missing = [column for column in spec.required if column not in header]
    if missing:
        raise FileError(f"missing required columns: {', '.join(missing)}")
    rows = [dict(zip(header, values, strict=False)) for values in reader if any(v.strip() for v in values)]
    return CsvTable(header, rows)


def write_output(table: CsvTable, results: list[tuple[str, str]]) -> bytes:
    """The input rows with a ``status`` (Success/Failed) and ``errorMessage`` column each.

    RFC 4180 line ends, so that a value holding a lone ``\r`` is quoted (with ``\n`` alone Python's
    writer leaves it bare, and a reader would break the row there).
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*table.header, "status", "errorMessage"])
    for row, (status, message) in zip(table.rows, results, strict=True):
        writer.writerow([*(row.get(column, "") for column in table.header), status, message])
    return out.getvalue().encode()


def write_file_error(message: str) -> bytes:
    """The output of a file that could not be read: one line saying why."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([["status", "errorMessage"], ["Failed", message]])
    return out.getvalue().encode()

"""The record types of the Batch Import API (seed 003): fields, their types, required fields.

:func:`validate` turns one submitted record into the record to store, or raises
:class:`RecordError` with the message reported in ``rejected[].msg``. JSON ``null`` counts as
absent. Fields the seed does not list are rejected, so a connector's typo is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from batch_orchestration.sandbox.store import utc_now

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class RecordError(ValueError):
    """A record the import rejects; the message is the seed's ``msg``."""


Check = Callable[[str, Any], Any]


def _fail(name: str, expected: str) -> RecordError:
    return RecordError(f"Invalid {name}: expected {expected}")


def string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(name, "string")
    return value


def number(name: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, "number")
    return value


def integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, "integer")
    return value


def flag(name: str, value: Any) -> int:
    if integer(name, value) not in (0, 1):
        raise _fail(name, "0 or 1")
    return value


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, "boolean")
    return value


def day(name: str, value: Any) -> str:
    text = string(name, value)
    try:
        valid = bool(_DATE.match(text)) and bool(date.fromisoformat(text))
    except ValueError:
        valid = False
    if not valid:
        raise _fail(name, "date YYYY-MM-DD")
    return text


def timestamp(name: str, value: Any) -> str:
    """``YYYY-MM-DD HH:mm:ss`` as the table says, or ISO-8601 as the examples send; stored in UTC."""
    text = string(name, value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00")) if _TIMESTAMP.match(text) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise _fail(name, "timestamp YYYY-MM-DD HH:mm:ss")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def currency(name: str, value: Any) -> str:
    if not _CURRENCY.match(string(name, value)):
        raise _fail(name, "3-letter currency code")
    return value


def one_of(*choices: str) -> Check:
    def check(name: str, value: Any) -> str:
        if string(name, value) not in choices:
            raise _fail(name, " or ".join(choices))
        return value

    return check


def obj(fields: dict[str, Check]) -> Check:
    def check(name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _fail(name, "object")
        return _check_fields(value, fields, prefix=f"{name}.")

    return check


def array_of(item: Check) -> Check:
    def check(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _fail(name, "array")
        return [item(f"{name}[{i}]", element) for i, element in enumerate(value)]

    return check


def _check_fields(record: dict[str, Any], fields: dict[str, Check], prefix: str = "") -> dict[str, Any]:
    unknown = [name for name in record if name not in fields]
    if unknown:
        raise RecordError(f"Unknown field {prefix}{unknown[0]}")
    return {name: fields[name](f"{prefix}{name}", value) for name, value in record.items() if value is not None}


_LINE_ITEM = {
    "id": string,
    "itemId": string,
    "accountId": string,
    "customerId": string,
    "classId": string,
    "description": string,
    "qty": number,
    "price": number,
    "total": number,
}
_TRANSACTION = {
    "id": string,
    "ref": string,
    "supplierId": string,
    "created": timestamp,
    "modified": timestamp,
    "apAccountId": string,
    "classId": string,
    "date": day,
    "dueDate": day,
    "description": string,
    "notes": string,
    "isClosed": flag,
    "isReceived": flag,
    "amount": number,
    "lineItems": array_of(obj(_LINE_ITEM)),
}


@dataclass(frozen=True)
class ImportType:
    entity: str
    fields: dict[str, Check]
    required: tuple[tuple[str, str], ...]  # (field, message when missing)
    id_or_ref: bool = False
    defaults: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda record: {})

    def validate(self, record: Any) -> tuple[str, dict[str, Any]]:
        """(storage key, record to store); the key is ``id``, or ``ref:<ref>`` when only a ref is given."""
        if not isinstance(record, dict):
            raise RecordError("Record should be an object")
        for name, message in self.required:
            if record.get(name) in (None, ""):
                raise RecordError(message)
        if self.id_or_ref and record.get("id") in (None, "") and record.get("ref") in (None, ""):
            raise RecordError("Missing ID or Ref")
        checked = _check_fields(record, self.fields)
        checked = {**self.defaults(checked), **checked}
        return (checked["id"] if checked.get("id") else f"ref:{checked['ref']}"), checked


def _supplier_defaults(record: dict[str, Any]) -> dict[str, Any]:
    now = timestamp("created", utc_now())
    return {"created": now, "modified": now, "legalName": record.get("name"), "is1099": False, "active": True}


IMPORT_TYPES: dict[str, ImportType] = {
    "Suppliers": ImportType(
        "import_suppliers",
        {
            "id": string,
            "name": string,
            "created": timestamp,
            "modified": timestamp,
            "parentId": string,
            "legalName": string,
            "contacts": array_of(obj({"firstName": string, "lastName": string, "email": string, "phone": string})),
            "address": obj({k: string for k in ("addr1", "addr2", "city", "state", "zipcode", "country")}),
            "accountNumber": string,
            "website": string,
            "notes": string,
            "currency": currency,
            "taxId": string,
            "is1099": boolean,
            "active": boolean,
        },
        (("id", "Missing Supplier ID"), ("name", "Missing Supplier Name")),
        defaults=_supplier_defaults,
    ),
    "Items": ImportType(
        "import_items",
        {
            "id": string,
            "name": string,
            "created": timestamp,
            "modified": timestamp,
            "parentId": string,
            "description": string,
            "sku": string,
            "type": one_of("Inventory", "NonInventory", "Service"),
            "expenseAccountId": string,
            "incomeAccountId": string,
            "assetAccountId": string,
            "active": flag,
        },
        (("id", "Missing Item ID"), ("name", "Missing Item Name")),
    ),
    "PurchaseOrders": ImportType(
        "import_purchase_orders",
        _TRANSACTION,
        (("supplierId", "Missing Supplier ID"),),
        id_or_ref=True,
    ),
    "ItemReceipts": ImportType(
        "import_item_receipts",
        {
            **_TRANSACTION,
            "receiptDate": day,
            "lineItems": array_of(obj({**_LINE_ITEM, "receivedQty": number, "receivedTotal": number})),
        },
        (("supplierId", "Missing Supplier ID"), ("receiptDate", "Missing Receipt Date")),
        id_or_ref=True,
    ),
}

"""The Batch Import API's record types (seed 003): which entity is which type, and its record.

A record's ``id`` is its legacy key: the API stores a record under its ``id`` and replaces it when
the same ``id`` is imported again, so the key is also the target's id the ID map keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batch_orchestration.targets.base import Binding, Record, TargetIds

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


BINDINGS: dict[str, Binding] = {
    binding.entity: binding
    for binding in (
        Binding("suppliers", "Suppliers", MAX_RECORDS, supplier_record),
        Binding("items", "Items", MAX_RECORDS, item_record),
    )
}

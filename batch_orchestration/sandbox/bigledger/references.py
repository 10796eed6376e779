"""Rules that need the database: references to other records (REFERENCE) and uniqueness (DUPLICATE)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batch_orchestration.sandbox.bigledger.session import Session
from batch_orchestration.sandbox.bigledger.validation import DUPLICATE, REFERENCE, Problem

# (session, merged record, own id or None on create) -> problems
DatabaseRule = Callable[[Session, dict[str, Any], str | None], list[Problem]]


def none(_: Session, __: dict[str, Any], ___: str | None) -> list[Problem]:
    return []


def _must_exist(
    session: Session, entity: str, field: str, value: Any, label: str, active: bool = False
) -> list[Problem]:
    if value in (None, ""):
        return []
    found = session.get(entity, value)
    if found is None:
        return [Problem(field, f"{label} {value!r} does not exist", "NOT_FOUND", REFERENCE)]
    if active and found.get("status", "active") != "active":
        return [Problem(field, f"{label} {value!r} is not active", "INACTIVE", REFERENCE)]
    return []


def _unique(entity: str, key: str, label: str) -> DatabaseRule:
    def rule(session: Session, record: dict[str, Any], own_id: str | None) -> list[Problem]:
        value = record.get(key)
        if value in (None, "") or not session.taken(entity, key, value, own_id):
            return []
        return [Problem(key, f"{label} already exists", f"DUPLICATE_{key.upper()}", DUPLICATE)]

    return rule


customer_email = _unique("customers", "email", "Email")
item_code = _unique("items", "itemCode", "Item code")
_account_code = _unique("accounts", "code", "Account code")


def invoice(session: Session, record: dict[str, Any], _: str | None) -> list[Problem]:
    return _must_exist(session, "customers", "customerId", record.get("customerId"), "Customer", active=True)


def bill(session: Session, record: dict[str, Any], _: str | None) -> list[Problem]:
    return _must_exist(session, "suppliers", "supplierId", record.get("supplierId"), "Supplier", active=True)


def stock_adjustment(session: Session, record: dict[str, Any], _: str | None) -> list[Problem]:
    return _must_exist(session, "items", "itemId", record.get("itemId"), "Item")


def payment(session: Session, record: dict[str, Any], _: str | None) -> list[Problem]:
    return [
        *_must_exist(session, "customers", "customerId", record.get("customerId"), "Customer"),
        *_must_exist(session, "suppliers", "supplierId", record.get("supplierId"), "Supplier"),
        *_must_exist(session, "invoices", "invoiceId", record.get("invoiceId"), "Invoice"),
        *_must_exist(session, "bills", "billId", record.get("billId"), "Bill"),
    ]


def account(session: Session, record: dict[str, Any], own_id: str | None) -> list[Problem]:
    parent = record.get("parentId")
    if parent is not None and parent == own_id:
        return [Problem("parentId", "An account cannot be its own parent", "INVALID_PARENT", REFERENCE)]
    return _must_exist(session, "accounts", "parentId", parent, "Account") or _account_code(session, record, own_id)

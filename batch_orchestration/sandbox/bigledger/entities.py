"""The nine batch entities of seed 000: limits, allowed operations, ids, numbers, rules and defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batch_orchestration.sandbox.bigledger import references, rules
from batch_orchestration.sandbox.bigledger.session import Session

CREATE, UPDATE, DELETE = "create", "update", "delete"
# Fields the ledger owns: ignored when a caller sends them in ``data``.
READ_ONLY = ("id", "referenceId", "createdAt", "updatedAt")

# (session, record being written, whether it is new) -> None; fills defaults and computed fields.
Finalizer = Callable[[Session, dict[str, Any], bool], None]


def _default_status(status: str) -> Finalizer:
    def finalize(_: Session, record: dict[str, Any], created: bool) -> None:
        if created:
            record.setdefault("status", status)
        if record.get("status"):
            record["status"] = str(record["status"]).lower()

    return finalize


def _document(party_entity: str, party_field: str, name_field: str) -> Finalizer:
    """Invoices and bills: draft on create, computed subtotal/total, the party's name for filtering."""

    def finalize(session: Session, record: dict[str, Any], created: bool) -> None:
        if created:
            record["status"] = "draft"
        subtotal = round(sum(line["quantity"] * line["unitPrice"] for line in record["items"]), 2)
        record["subtotal"] = record["total"] = subtotal
        party = session.get(party_entity, record.get(party_field)) or {}
        record[name_field] = party.get("name")

    return finalize


_POSTED = _default_status("posted")


def _journal_entry(_: Session, record: dict[str, Any], created: bool) -> None:
    record["status"] = "posted"
    record["totalDebit"] = round(sum(line.get("debit") or 0 for line in record["lines"]), 2)
    record["totalCredit"] = round(sum(line.get("credit") or 0 for line in record["lines"]), 2)


def _item(session: Session, record: dict[str, Any], created: bool) -> None:
    if created:
        record.setdefault("type", "inventory")
    _default_status("active")(session, record, created)


@dataclass(frozen=True)
class EntitySpec:
    name: str  # URL segment and store entity, e.g. "journal-entries"
    label: str
    max_records: int
    operations: frozenset[str]
    id_prefix: str
    rule: rules.Rule
    check_database: references.DatabaseRule = references.none
    finalize: Finalizer = _POSTED
    # Generated number, e.g. ("customerNumber", "CUST-{n:04d}") or ("invoiceNumber", "INV-{year}-{n:04d}").
    number: tuple[str, str] | None = None
    # A caller-given code echoed in results instead of a number (items, accounts).
    code_field: str | None = None
    date_field: str | None = None
    # (entity, field) of records that point at this one; deleting a referenced record is refused.
    referenced_by: tuple[tuple[str, str], ...] = ()
    search_fields: tuple[str, ...] = ("name",)
    # Fields the ledger computes; dropped before an update is validated, then recomputed.
    computed: tuple[str, ...] = ()

    @property
    def result_field(self) -> str | None:
        return self.number[0] if self.number else self.code_field


_CUD = frozenset({CREATE, UPDATE, DELETE})
_CU = frozenset({CREATE, UPDATE})
_C = frozenset({CREATE})

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec(
            "customers",
            "Customer",
            500,
            _CUD,
            "cust",
            rules.party,
            references.customer_email,
            _default_status("active"),
            ("customerNumber", "CUST-{n:04d}"),
            referenced_by=(("invoices", "customerId"), ("payments", "customerId")),
            search_fields=("name", "email", "phone", "customerNumber"),
        ),
        EntitySpec(
            "suppliers",
            "Supplier",
            500,
            _CUD,
            "supp",
            rules.party,
            references.none,
            _default_status("active"),
            ("supplierNumber", "SUPP-{n:04d}"),
            referenced_by=(("bills", "supplierId"), ("payments", "supplierId")),
            search_fields=("name", "email", "phone", "supplierNumber"),
        ),
        EntitySpec(
            "invoices",
            "Invoice",
            100,
            _CU,
            "inv",
            rules.document("customerId", "invoiceDate"),
            references.invoice,
            _document("customers", "customerId", "customerName"),
            ("invoiceNumber", "INV-{year}-{n:04d}"),
            date_field="invoiceDate",
            search_fields=("invoiceNumber", "reference", "customerName", "notes"),
            computed=("subtotal", "total", "customerName"),
        ),
        EntitySpec(
            "bills",
            "Bill",
            100,
            _CU,
            "bill",
            rules.document("supplierId", "billDate"),
            references.bill,
            _document("suppliers", "supplierId", "supplierName"),
            ("billNumber", "BILL-{year}-{n:04d}"),
            date_field="billDate",
            search_fields=("billNumber", "reference", "supplierName", "notes"),
            computed=("subtotal", "total", "supplierName"),
        ),
        EntitySpec(
            "items",
            "Item",
            1000,
            _CUD,
            "item",
            rules.item,
            references.item_code,
            _item,
            code_field="itemCode",
            referenced_by=(("stock-adjustments", "itemId"),),
            search_fields=("itemCode", "name", "description", "category"),
        ),
        EntitySpec(
            "journal-entries",
            "Journal entry",
            100,
            _C,
            "je",
            rules.journal_entry,
            finalize=_journal_entry,
            number=("entryNumber", "JE-{year}-{n:04d}"),
            date_field="date",
            search_fields=("entryNumber", "reference", "description"),
            computed=("totalDebit", "totalCredit"),
        ),
        EntitySpec(
            "stock-adjustments",
            "Stock adjustment",
            500,
            _C,
            "adj",
            rules.stock_adjustment,
            references.stock_adjustment,
            number=("adjustmentNumber", "ADJ-{year}-{n:04d}"),
            date_field="date",
            search_fields=("adjustmentNumber", "reference", "reason"),
        ),
        EntitySpec(
            "payments",
            "Payment",
            200,
            _C,
            "pay",
            rules.payment,
            references.payment,
            _default_status("completed"),
            ("paymentNumber", "PAY-{year}-{n:04d}"),
            date_field="date",
            search_fields=("paymentNumber", "reference"),
        ),
        EntitySpec(
            "accounts",
            "Account",
            200,
            _CU,
            "acc",
            rules.account,
            references.account,
            _default_status("active"),
            code_field="code",
            search_fields=("code", "name", "description"),
        ),
    )
}

"""The entity registry: what the pipeline knows of each entity of the *source*, in one entry.

An entry names the entity's model, natural key, the fields that name other entities' keys
(references), and, for the root of an aggregate (an invoice with its lines), its parts. Nothing here
is about a target: how an entity is sent is its binding's (``targets/<system>/bindings.py``).

Adding an entity is a model (models.py), a column mapping (mappings/<name>.yaml), an entry here and
a binding for each target system that takes it; staging, validation (with the set rules every
entity needs, generated from these entries), loading and the asset graph follow from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, get_args

from batch_orchestration.entities.models import (
    Account,
    Bill,
    BillLineItem,
    Customer,
    Invoice,
    InvoiceLineItem,
    Item,
    ItemReceipt,
    ItemReceiptLine,
    JournalEntry,
    JournalEntryLine,
    Payable,
    Payment,
    PurchaseOrder,
    PurchaseOrderLine,
    SourceRecord,
    StockAdjustment,
    Supplier,
)

# Money and quantities are exact: 14 digits before the point and 4 after (docs/architecture.md).
MONEY_SQL_TYPE = "DECIMAL(18,4)"
_SQL_TYPES = {str: "TEXT", int: "BIGINT", Decimal: MONEY_SQL_TYPE, date: "TEXT"}


def join_key(parts: Iterable[str]) -> str:
    """The one spelling of a composite source key, wherever a key is written (ID map, rejects)."""
    return "/".join(parts)


@dataclass(frozen=True)
class Reference:
    """A field that holds the natural key of a record of another entity (an invoice's customer).

    The record is valid only if that record is valid up to its day or already in a target (a set
    rule generated from this), and it is loaded after it, with the target's id of it.
    """

    field: str
    entity: str


@dataclass(frozen=True)
class LinesTotal:
    """The root's ``total`` must equal the sum of ``quantity x price`` over its parts, within 0.01."""

    total: str
    quantity: str
    price: str


@dataclass(frozen=True)
class Parts:
    """The parts of an aggregate root (an invoice's lines): validated and loaded with it, as one unit.

    ``link`` is the part's field holding its root's key; a root needs at least ``minimum`` valid parts.
    """

    entity: str
    link: str
    minimum: int = 1
    total: LinesTotal | None = None


@dataclass(frozen=True)
class EntitySpec:
    """One entity of the migration. ``parts`` makes it the root of an aggregate; ``key_folds_case``
    says that keys differing only in case name one record (item and account codes)."""

    name: str
    model: type[SourceRecord]
    key_fields: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    parts: Parts | None = None
    key_folds_case: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.model.model_fields)

    @property
    def parents(self) -> tuple[str, ...]:
        """The entities a record refers to: validated against, and loaded, before it."""
        return tuple(dict.fromkeys(reference.entity for reference in self.references))

    def compared_key(self, key: str) -> str:
        """A source key as records are told apart: item and account codes ignore case."""
        return key.lower() if self.key_folds_case else key

    def source_key(self, record: dict[str, Any]) -> str:
        """The natural key of a source record, as text (composite keys joined by ``/``).

        The same whether the record is the model's values or the export's text: an integer key part
        is written as the integer (line ``01`` of a refused row is ``1``, as in its valid version).
        """
        return join_key(self._key_text(f, record[f]) for f in self.key_fields)

    def _key_text(self, field_name: str, value: Any) -> str:
        text = str(value).strip()
        if self.sql_type(field_name) == "BIGINT" and text.isascii() and text.isdigit():
            return str(int(text))
        return text

    def sql_type(self, field_name: str) -> str:
        return _sql_type(self.model.model_fields[field_name].annotation)


def _sql_type(annotation: Any) -> str:
    """The column type of an annotation, looking through ``X | None`` and ``Annotated[X, ...]``."""
    if annotation in _SQL_TYPES:
        return _SQL_TYPES[annotation]
    found = [_sql_type(arg) for arg in get_args(annotation) if arg is not type(None)]
    return next((kind for kind in found if kind != "TEXT"), "TEXT")


def _document_lines(part: str, link: str) -> Parts:
    return Parts(part, link, total=LinesTotal("total_amount", "quantity", "unit_price"))


_ITEM = Reference("item_code", "items")

# In dependency order: an entity always comes after the entities it refers to.
ENTITIES: dict[str, EntitySpec] = {
    e.name: e
    for e in (
        EntitySpec("customers", Customer, ("customer_key",)),
        EntitySpec("suppliers", Supplier, ("supplier_key",)),
        EntitySpec("items", Item, ("item_code",), key_folds_case=True),
        EntitySpec("accounts", Account, ("account_code",), key_folds_case=True),
        EntitySpec("invoice_line_items", InvoiceLineItem, ("invoice_key", "line_number"), (_ITEM,)),
        EntitySpec("invoices", Invoice, ("invoice_key",), (Reference("customer_key", "customers"),),
                   _document_lines("invoice_line_items", "invoice_key")),
        EntitySpec("bill_line_items", BillLineItem, ("bill_key", "line_number"), (_ITEM,)),
        EntitySpec("bills", Bill, ("bill_key",), (Reference("supplier_key", "suppliers"),),
                   _document_lines("bill_line_items", "bill_key")),
        EntitySpec("journal_entry_lines", JournalEntryLine, ("entry_key", "line_number"),
                   (Reference("account_code", "accounts"),)),
        EntitySpec("journal_entries", JournalEntry, ("entry_key",), parts=Parts("journal_entry_lines", "entry_key", 2)),
        EntitySpec("stock_adjustments", StockAdjustment, ("adjustment_key",), (_ITEM,)),
        EntitySpec("purchase_order_lines", PurchaseOrderLine, ("po_key", "line_number"), (_ITEM,)),
        EntitySpec("purchase_orders", PurchaseOrder, ("po_key",), (Reference("supplier_key", "suppliers"),),
                   _document_lines("purchase_order_lines", "po_key")),
        EntitySpec("item_receipt_lines", ItemReceiptLine, ("receipt_key", "line_number"), (_ITEM,)),
        EntitySpec("item_receipts", ItemReceipt, ("receipt_key",), (Reference("supplier_key", "suppliers"),),
                   _document_lines("item_receipt_lines", "receipt_key")),
        EntitySpec("payments", Payment, ("payment_key",), (
            Reference("customer_key", "customers"), Reference("supplier_key", "suppliers"),
            Reference("invoice_key", "invoices"), Reference("bill_key", "bills"))),
        EntitySpec("payables", Payable, ("payable_key",)),
    )
}


def get_entity(name: str) -> EntitySpec:
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITIES)}") from None


def root_of(entity: str) -> EntitySpec | None:
    """The aggregate root whose part ``entity`` is, or None."""
    return next((e for e in ENTITIES.values() if e.parts and e.parts.entity == entity), None)


def members(root: EntitySpec) -> tuple[EntitySpec, ...]:
    """The entities validated and loaded together with ``root``: its parts first, then itself."""
    return (ENTITIES[root.parts.entity], root) if root.parts else (root,)


def units() -> list[EntitySpec]:
    """The roots of the units of work, in dependency order: each aggregate once, by its root."""
    return [entity for entity in ENTITIES.values() if root_of(entity.name) is None]

"""The entity registry: everything the pipeline knows about an entity, in one entry.

Adding an entity is adding a model (models.py), a column mapping (mappings/<name>.yaml) and an entry
here; the asset factory, staging, validation and loading are driven by these entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, get_args

from batch_orchestration.entities.models import Customer, Invoice, InvoiceLineItem, SourceRecord

# Money and quantities are exact: 14 digits before the point and 4 after (docs/architecture.md).
MONEY_SQL_TYPE = "DECIMAL(18,4)"
_SQL_TYPES = {str: "TEXT", int: "BIGINT", Decimal: MONEY_SQL_TYPE, date: "TEXT"}


def join_key(parts: Iterable[str]) -> str:
    """The one spelling of a composite source key, wherever a key is written (ID map, rejects)."""
    return "/".join(parts)


@dataclass(frozen=True)
class EntitySpec:
    """One entity of the migration.

    ``parents`` are the entities a record refers to (validated against, loaded after).
    ``validate_with`` are other entities whose *staged* rows the set rules need (an invoice's
    lines, for "at least one line" and "total consistent with its lines").
    ``travels_with`` names the parent whose payload carries this entity's records, where the
    target accepts them only that way (BigLedger: invoice line items inside the invoice).
    """

    name: str
    model: type[SourceRecord]
    key_fields: tuple[str, ...]
    parents: tuple[str, ...] = ()
    validate_with: tuple[str, ...] = ()
    travels_with: str | None = None
    candidate_columns: tuple[str, ...] = field(default=())

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.model.model_fields)

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
        annotation = self.model.model_fields[field_name].annotation
        candidates = [annotation, *get_args(annotation)]
        for candidate in candidates:
            if candidate in _SQL_TYPES:
                return _SQL_TYPES[candidate]
        return "TEXT"


CUSTOMERS = EntitySpec(
    name="customers",
    model=Customer,
    key_fields=("customer_key",),
    candidate_columns=("email", "name"),
)
INVOICES = EntitySpec(
    name="invoices",
    model=Invoice,
    key_fields=("invoice_key",),
    parents=("customers",),
    validate_with=("invoice_line_items",),
    candidate_columns=("customer_key", "invoice_date", "total_amount"),
)
INVOICE_LINE_ITEMS = EntitySpec(
    name="invoice_line_items",
    model=InvoiceLineItem,
    key_fields=("invoice_key", "line_number"),
    parents=("invoices",),
    travels_with="invoices",
    candidate_columns=("invoice_key", "line_number", "quantity", "unit_price"),
)

# In dependency order: a parent always comes before its children.
ENTITIES: dict[str, EntitySpec] = {e.name: e for e in (CUSTOMERS, INVOICES, INVOICE_LINE_ITEMS)}


def get_entity(name: str) -> EntitySpec:
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITIES)}") from None

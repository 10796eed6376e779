"""The pydantic model of each entity: the single statement of what a valid source record is.

Fields are the canonical names of the column mappings; values arrive as strings from staging.
Lengths and formats are the target's (seed 000 as read in docs/target-apis.md); the building
blocks are in :mod:`batch_orchestration.entities.rules`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from batch_orchestration.entities.rules import (
    ACCOUNT_TYPES,
    ADJUSTMENT_TYPES,
    DEFAULT_COUNTRY,
    ITEM_TYPES,
    PAYMENT_METHODS,
    TAX_NUMBER_MAX_LENGTH,
    UNITS_OF_MEASURE,
    AccountCode,
    Country,
    Email,
    IsoDate,
    NonNegativeAmount,
    NonZeroAmount,
    OptionalIsoDate,
    OptionalPastOrTodayDate,
    PastOrTodayDate,
    PayableStatus,
    Phone,
    PositiveAmount,
    Status,
    _blank_to_none,
    choice,
    optional_choice,
    optional_text,
    valid_tax_number,
    valid_tax_number_twin,
)
from batch_orchestration.entities.sql_twins import Check, sql_twin

Key = Annotated[str, Field(min_length=1, max_length=64)]
OptionalKey = Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=64)]
ItemCode = Annotated[str, Field(min_length=1, max_length=50)]
LineNumber = Annotated[int, Field(ge=1)]  # a line of a document or a journal entry
LINE_DESCRIPTION_MAX_LENGTH = 500
OptionalAmount = Annotated[NonNegativeAmount | None, BeforeValidator(_blank_to_none)]
OptionalCount = Annotated[int | None, BeforeValidator(_blank_to_none), Field(ge=0)]


class SourceRecord(BaseModel):
    """Base of the entity models: strict about unknown fields, lenient about surrounding blanks."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Party(SourceRecord):
    """What customers and suppliers share: the target checks both by the same rules."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    email: Email = None
    phone: Phone = None
    street: optional_text(200) = None
    city: optional_text(200) = None
    state: optional_text(200) = None
    postal_code: optional_text(200) = None
    country: Country = DEFAULT_COUNTRY
    credit_limit: Annotated[NonNegativeAmount, BeforeValidator(_blank_to_none)] = Decimal("0")
    payment_terms: Annotated[int, BeforeValidator(_blank_to_none), Field(ge=0)] = 30
    tax_number: optional_text(TAX_NUMBER_MAX_LENGTH) = None
    status: Status = "active"

    @model_validator(mode="after")
    @sql_twin(lambda sql, f: Check(
        f"({f['tax_number']} IS NULL OR {valid_tax_number_twin(sql, f['tax_number'], f['country'])})"))
    def _tax_number_fits_country(self) -> Party:
        if self.tax_number is not None and not valid_tax_number(self.tax_number, self.country):
            raise PydanticCustomError(
                "INVALID_TAX_NUMBER", "Tax number {number} is not valid for {country}",
                {"number": self.tax_number, "country": self.country},
            )
        return self


class Customer(Party):
    customer_key: Key


class Supplier(Party):
    supplier_key: Key


class Document(SourceRecord):
    """What invoices and bills share: the target checks both by the same rules (seed 000, "Invoice Validation").

    A due date before the document date is allowed: the target only warns (``DUE_BEFORE_DATE``). The total
    is optional, as in the seed's request examples (which send none: the target sums the lines); when
    given it must be positive and equal the sum of the lines (``TOTAL_MISMATCH``, a set rule).
    """

    due_date: OptionalIsoDate = None
    reference: optional_text(100) = None
    total_amount: Annotated[PositiveAmount | None, BeforeValidator(_blank_to_none)] = None
    notes: optional_text(2000) = None


class Invoice(Document):
    invoice_key: Key
    customer_key: Key
    invoice_date: PastOrTodayDate


class DocumentLine(SourceRecord):
    """A line of an invoice or a bill; its item code, when given, names an item of the migration."""

    line_number: LineNumber
    item_code: optional_text() = None
    description: optional_text(LINE_DESCRIPTION_MAX_LENGTH) = None
    quantity: PositiveAmount
    unit_price: PositiveAmount
    tax_code: optional_text(20) = None

    @model_validator(mode="after")
    @sql_twin(lambda sql, f: Check(f"({f['description']} IS NOT NULL OR {f['item_code']} IS NULL "
                                   f"OR {sql.byte_length(f['item_code'])} <= {LINE_DESCRIPTION_MAX_LENGTH})"))
    def _item_code_fits_as_description(self) -> DocumentLine:
        """A line without a description is sent with its item code as the description."""
        if self.description is None and self.item_code is not None \
                and len(self.item_code) > LINE_DESCRIPTION_MAX_LENGTH:
            raise PydanticCustomError(
                "TOO_LONG", "item_code stands in for the missing description and is longer than {limit}",
                {"limit": LINE_DESCRIPTION_MAX_LENGTH},
            )
        return self


class InvoiceLineItem(DocumentLine):
    invoice_key: Key


class Bill(Document):
    """A supplier's bill; the target checks it as an invoice (seed 000 lists both with the same rules)."""

    bill_key: Key
    supplier_key: Key
    bill_date: PastOrTodayDate


class BillLineItem(DocumentLine):
    bill_key: Key


class PurchaseOrder(Document):
    """An order to a supplier (Batch Import's ``PurchaseOrders``), with its lines."""

    po_key: Key
    supplier_key: Key
    po_date: PastOrTodayDate


class PurchaseOrderLine(DocumentLine):
    po_key: Key


class ItemReceipt(Document):
    """Goods received from a supplier (Batch Import's ``ItemReceipts``), with its lines."""

    receipt_key: Key
    supplier_key: Key
    receipt_date: PastOrTodayDate


class ItemReceiptLine(DocumentLine):
    """A received line: the quantity ordered and, when the export says, the quantity received (0: none yet)."""

    receipt_key: Key
    received_quantity: OptionalAmount = None


class Item(SourceRecord):
    item_code: ItemCode
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: optional_text(1000) = None
    category: optional_text(100) = None
    item_type: optional_choice("Item type", ITEM_TYPES) = None
    unit_of_measure: optional_choice("Unit of measure", UNITS_OF_MEASURE) = None
    cost_price: OptionalAmount = None
    selling_price: OptionalAmount = None
    tax_code: optional_text(20) = None
    reorder_level: OptionalAmount = None
    reorder_quantity: OptionalAmount = None
    status: Status = "active"


class Account(SourceRecord):
    account_code: AccountCode
    name: Annotated[str, Field(min_length=1, max_length=100)]
    account_type: choice("Account type", ACCOUNT_TYPES)
    description: optional_text(500) = None
    status: Status = "active"


class JournalEntry(SourceRecord):
    """Any valid date: the target takes journal entries dated in the future (accruals)."""

    entry_key: Key
    entry_date: IsoDate
    reference: optional_text(100) = None
    description: optional_text(500) = None


class JournalEntryLine(SourceRecord):
    entry_key: Key
    line_number: LineNumber
    account_code: AccountCode
    description: optional_text(500) = None
    debit: OptionalAmount = None
    credit: OptionalAmount = None

    @model_validator(mode="after")
    @sql_twin(lambda sql, f: Check(f"((COALESCE({f['debit']}, 0) <> 0) <> (COALESCE({f['credit']}, 0) <> 0))"))
    def _debit_or_credit(self) -> JournalEntryLine:
        if bool(self.debit) == bool(self.credit):
            raise PydanticCustomError("INVALID_LINE", "A line needs either a debit or a credit amount, not both", {})
        return self


class StockAdjustment(SourceRecord):
    adjustment_key: Key
    item_code: ItemCode
    location: optional_text(100) = None
    adjustment_type: choice("Adjustment type", ADJUSTMENT_TYPES)
    quantity: PositiveAmount
    unit_cost: OptionalAmount = None
    reason: optional_text(500) = None
    reference: optional_text(100) = None
    adjustment_date: OptionalPastOrTodayDate = None


class Payment(SourceRecord):
    """Received from a customer or paid to a supplier: exactly one of the two, as the target requires."""

    payment_key: Key
    customer_key: OptionalKey = None
    supplier_key: OptionalKey = None
    invoice_key: OptionalKey = None
    bill_key: OptionalKey = None
    payment_date: PastOrTodayDate
    amount: PositiveAmount
    method: optional_choice("Payment method", PAYMENT_METHODS) = None
    reference: optional_text(100) = None

    @model_validator(mode="after")
    @sql_twin(lambda sql, f: Check(f"(({f['customer_key']} IS NULL) <> ({f['supplier_key']} IS NULL))"))
    def _one_party(self) -> Payment:
        if (self.customer_key is None) == (self.supplier_key is None):
            raise PydanticCustomError("REQUIRED", "Exactly one of customer_key or supplier_key is required", {})
        return self


class Payable(SourceRecord):
    """An amount owed to a collaborator (Bulk Payables): an invoice to pay, or a deduction (negative).

    The collaborator is named by whichever of email, the target's id or an external id the export has;
    the target resolves it (an unknown one is its reject). ``statement_key`` is the legacy statement
    that groups a collaborator's charges and deductions, a natural merge-key column.
    """

    payable_key: Key
    collaborator_email: Email = None
    collaborator_id: OptionalKey = None
    collaborator_external_id: OptionalKey = None
    amount: NonZeroAmount
    status: PayableStatus = "open"
    due_date: OptionalIsoDate = None
    paid_date: OptionalPastOrTodayDate = None
    description: optional_text(LINE_DESCRIPTION_MAX_LENGTH) = None
    statement_key: OptionalKey = None

    @model_validator(mode="after")
    def _collaborator_and_paid_date(self) -> Payable:
        if not (self.collaborator_email or self.collaborator_id or self.collaborator_external_id):
            raise PydanticCustomError(
                "REQUIRED", "One of collaborator_email, collaborator_id, collaborator_external_id is required", {})
        if (self.status == "paid") != (self.paid_date is not None):
            raise PydanticCustomError("INVALID_PAID_DATE", "A paid date is given with status paid, and only then "
                                      "(status {status}, paid date {paid})",
                                      {"status": self.status, "paid": str(self.paid_date or "none")})
        return self

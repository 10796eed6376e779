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
    DEFAULT_COUNTRY,
    TAX_NUMBER_MAX_LENGTH,
    Country,
    Email,
    NonNegativeAmount,
    OptionalIsoDate,
    PastOrTodayDate,
    Phone,
    PositiveAmount,
    Status,
    _blank_to_none,
    optional_text,
    valid_tax_number,
)

Key = Annotated[str, Field(min_length=1, max_length=64)]
LINE_DESCRIPTION_MAX_LENGTH = 500


class SourceRecord(BaseModel):
    """Base of the entity models: strict about unknown fields, lenient about surrounding blanks."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Customer(SourceRecord):
    customer_key: Key
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
    def _tax_number_fits_country(self) -> Customer:
        if self.tax_number is not None and not valid_tax_number(self.tax_number, self.country):
            raise PydanticCustomError(
                "INVALID_TAX_NUMBER", "Tax number {number} is not valid for {country}",
                {"number": self.tax_number, "country": self.country},
            )
        return self


class Invoice(SourceRecord):
    """A due date before the invoice date is allowed: the target only warns (``DUE_BEFORE_DATE``)."""

    invoice_key: Key
    customer_key: Key
    invoice_date: PastOrTodayDate
    due_date: OptionalIsoDate = None
    reference: optional_text(100) = None
    total_amount: PositiveAmount
    notes: optional_text(2000) = None


class InvoiceLineItem(SourceRecord):
    invoice_key: Key
    line_number: Annotated[int, Field(ge=1)]
    item_code: optional_text() = None
    description: optional_text(LINE_DESCRIPTION_MAX_LENGTH) = None
    quantity: PositiveAmount
    unit_price: PositiveAmount
    tax_code: optional_text(20) = None

    @model_validator(mode="after")
    def _item_code_fits_as_description(self) -> InvoiceLineItem:
        """A line without a description is sent with its item code as the description."""
        if self.description is None and self.item_code is not None \
                and len(self.item_code) > LINE_DESCRIPTION_MAX_LENGTH:
            raise PydanticCustomError(
                "TOO_LONG", "item_code stands in for the missing description and is longer than {limit}",
                {"limit": LINE_DESCRIPTION_MAX_LENGTH},
            )
        return self

"""The pydantic model of each entity: the single statement of what a valid source record is.

Fields are the canonical names of the column mappings; values arrive as strings from staging.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from batch_orchestration.entities.rules import (
    Email,
    NonNegativeAmount,
    OptionalIsoDate,
    OptionalText,
    PastOrTodayDate,
    Phone,
    PositiveAmount,
    _blank_to_none,
)

Key = Annotated[str, Field(min_length=1, max_length=64)]


class SourceRecord(BaseModel):
    """Base of the entity models: strict about unknown fields, lenient about surrounding blanks."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Customer(SourceRecord):
    customer_key: Key
    name: Annotated[str, Field(min_length=1, max_length=100)]
    email: Email = None
    phone: Phone = None
    street: OptionalText = None
    city: OptionalText = None
    state: OptionalText = None
    postal_code: OptionalText = None
    country: Annotated[str, BeforeValidator(_blank_to_none), Field(pattern=r"^[A-Z]{2}$")] = "MY"
    credit_limit: Annotated[NonNegativeAmount, BeforeValidator(_blank_to_none)] = Decimal("0")
    payment_terms: Annotated[int, BeforeValidator(_blank_to_none), Field(ge=0, le=365)] = 30
    tax_number: OptionalText = None
    status: Annotated[Literal["active", "inactive"], BeforeValidator(_blank_to_none)] = "active"

    @model_validator(mode="after")
    def _tax_number_fits_country(self) -> Customer:
        # Seed 000: "Tax Number: Valid format for country". Malaysian TINs are 12 digits here.
        number = self.tax_number
        if number is None:
            return self
        valid = number.isdigit() and len(number) == 12 if self.country == "MY" else 5 <= len(number) <= 20
        if not valid:
            raise PydanticCustomError(
                "INVALID_TAX_NUMBER", "Tax number {number} is not valid for {country}",
                {"number": number, "country": self.country},
            )
        return self


class Invoice(SourceRecord):
    invoice_key: Key
    customer_key: Key
    invoice_date: PastOrTodayDate
    due_date: OptionalIsoDate = None
    reference: OptionalText = None
    total_amount: PositiveAmount
    notes: OptionalText = None

    @model_validator(mode="after")
    def _due_after_issue(self) -> Invoice:
        if self.due_date is not None and self.due_date < self.invoice_date:
            raise PydanticCustomError("INVALID_DATE", "Due date {due} is before invoice date {issued}",
                                      {"due": str(self.due_date), "issued": str(self.invoice_date)})
        return self


class InvoiceLineItem(SourceRecord):
    invoice_key: Key
    line_number: Annotated[int, Field(ge=1)]
    item_code: OptionalText = None
    description: Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=200)] = None
    quantity: PositiveAmount
    unit_price: PositiveAmount
    tax_code: OptionalText = None


def as_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None

"""Request bodies of the Bulk Payables API (seed 004), validated by pydantic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

PayableStatus = Literal["Draft", "Open", "Approved", "Paid", "Cancelled"]
Labels = dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollaboratorIn(_Strict):
    email: EmailStr
    name: str | None = None
    externalId: str | None = Field(None, min_length=1)


class BatchIn(_Strict):
    processingStrategy: Literal["Single", "Merge"] = "Single"
    labels: Labels = Field(default_factory=dict)


class ItemIn(_Strict):
    amount: Decimal = Field(
        description="Positive for an invoice, negative for a deduction; never 0.", max_digits=14, decimal_places=2
    )
    payableStatus: PayableStatus = "Open"
    collaboratorEmail: EmailStr | None = None
    collaboratorId: str | None = Field(None, min_length=1)
    collaboratorExternalId: str | None = Field(None, min_length=1)
    dueDate: date | None = None
    paidDate: date | None = None
    lineItemDescription: str | None = None
    labels: Labels = Field(default_factory=dict)
    bulkPayableItemMergeKey: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ItemIn:
        if self.amount == 0:
            raise ValueError("amount must not be 0")
        if not (self.collaboratorEmail or self.collaboratorId or self.collaboratorExternalId):
            raise ValueError("one of collaboratorEmail, collaboratorId, collaboratorExternalId is required")
        if (self.payableStatus == "Paid") != (self.paidDate is not None):
            raise ValueError("paidDate is required when payableStatus is Paid, and only then")
        return self


class ItemsIn(_Strict):
    items: list[ItemIn] = Field(min_length=1, max_length=500)

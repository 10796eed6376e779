"""Building blocks shared by the entity models: the target's documented formats and error codes.

Every rule here mirrors seed 000, "Data Validation"; the error code of a failed rule is what the
rejects table shows, so operators can count and fix rejects by kind.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,20}$")
# The same shape the target checks: something@domain.tld with no spaces.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _check_phone(value: str | None) -> str | None:
    if value is None:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 7 <= digits <= 15:
        raise PydanticCustomError("INVALID_PHONE", "Phone format is invalid: {value}", {"value": value})
    return value


def _check_email(value: str | None) -> str | None:
    if value is None:
        return None
    if not _EMAIL.match(value):
        raise PydanticCustomError("INVALID_EMAIL", "Email format is invalid: {value}", {"value": value})
    return value


def _parse_iso_date(value: object) -> object:
    """Only ISO dates are accepted: a legacy ``31/12/2024`` is ambiguous, so it is rejected, not guessed."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "INVALID_DATE", "Not a valid YYYY-MM-DD date: {value}", {"value": value}
            ) from None
    return value


def _check_not_future(value: date) -> date:
    if value > date.today():
        raise PydanticCustomError("FUTURE_DATE", "Date {value} is in the future", {"value": str(value)})
    return value


def _parse_decimal(value: object) -> object:
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace(",", ""))
        except ArithmeticError:
            raise PydanticCustomError("INVALID_NUMBER", "Not a number: {value}", {"value": value}) from None
    return value


def _check_non_negative(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise PydanticCustomError("INVALID_AMOUNT", "Must be a non-negative number, got {value}",
                                  {"value": str(value)})
    return value


def _check_positive(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise PydanticCustomError("INVALID_AMOUNT", "Must be a positive number, got {value}",
                                  {"value": str(value)})
    return value


OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]
Phone = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_phone)]
Email = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_email)]
IsoDate = Annotated[date, BeforeValidator(_parse_iso_date)]
PastOrTodayDate = Annotated[date, BeforeValidator(_parse_iso_date), AfterValidator(_check_not_future)]
OptionalIsoDate = Annotated[date | None, BeforeValidator(_blank_to_none), BeforeValidator(_parse_iso_date)]
NonNegativeAmount = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_non_negative)]
PositiveAmount = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_positive)]

# pydantic's own error types, as the codes the rejects table shows.
BUILTIN_ERROR_CODES = {
    "missing": "REQUIRED",
    "string_too_short": "REQUIRED",
    "string_too_long": "TOO_LONG",
    "int_parsing": "INVALID_NUMBER",
    "decimal_parsing": "INVALID_NUMBER",
    "greater_than_equal": "INVALID_AMOUNT",
    "greater_than": "INVALID_AMOUNT",
    "literal_error": "INVALID_VALUE",
    "string_pattern_mismatch": "INVALID_FORMAT",
}

"""Building blocks of the entity models: the pipeline's one statement of each row rule of the target.

Every rule follows seed 000, "Data Validation", as read in docs/target-apis.md ("Validation rules");
the sandbox states the target's side independently and ``test_rule_parity`` keeps the two in line.
Patterns are ASCII and matched whole (``[0-9]``, not ``\\d``, which also takes Arabic-Indic or
fullwidth digits). The error code of a failed rule is what the rejects table shows, so operators can
count and fix rejects by kind.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from batch_orchestration.entities.sql_twins import Check, Sql, sql_twin

# "+" then digits, spaces and dashes, ending in a digit; 7-15 digits; at most 30 characters.
PHONE = re.compile(r"\+[0-9][0-9 \-]*[0-9]")
PHONE_DIGITS = range(7, 16)
PHONE_MAX_LENGTH = 30
# RFC 5322 atext and dots before the @; two or more letter/digit/hyphen labels after it, no label
# starting or ending with a hyphen. ASCII only; case is kept (uniqueness ignores it).
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
EMAIL_MAX_LENGTH = 254
# At most 20 characters as written; dashes are ignored when the pattern of the country is matched.
TAX_NUMBER_MAX_LENGTH = 20
MY_TAX_NUMBER = re.compile(r"[0-9]{12}|[A-Za-z]{1,2}[0-9]{8,11}")  # 12 digits, or an LHDN TIN
OTHER_TAX_NUMBER = re.compile(r"[A-Za-z0-9]{5,20}")
DEFAULT_COUNTRY = "MY"
COUNTRY = re.compile(r"[A-Za-z]{2}")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
STATUSES = ("active", "inactive")
ITEM_TYPES = ("inventory", "service", "non-inventory")
ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
ADJUSTMENT_TYPES = ("increase", "decrease")
PAYMENT_METHODS = ("cash", "bank_transfer", "cheque", "card", "online", "other")
PAYABLE_STATUSES = ("draft", "open", "approved", "paid", "cancelled")  # Bulk Payables' payableStatus
UNITS_OF_MEASURE = (
    "pieces", "piece", "pcs", "unit", "units", "each", "ea", "box", "boxes", "carton", "pack", "set", "pair",
    "dozen", "roll", "kg", "g", "mg", "tonne", "lb", "oz", "l", "ml", "gal", "m", "cm", "mm", "km", "ft", "in",
    "m2", "m3", "hour", "hours", "day", "days", "month", "months", "service", "lot",
)
ACCOUNT_CODE = re.compile(r"[A-Za-z0-9.\-]+")
ACCOUNT_CODE_MAX_LENGTH = 20


# Staged values are stripped and never empty (empty cells are null), so none of them is blank.
@sql_twin(lambda sql, value: Check("TRUE"))
def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


@sql_twin(lambda sql, value: Check(sql.guarded(
    sql.matches(value, PHONE.pattern),
    f"length(regexp_replace({value}, '[^0-9]', '', 'g')) BETWEEN {PHONE_DIGITS.start} AND {PHONE_DIGITS.stop - 1}")))
def _check_phone(value: str | None) -> str | None:
    if value is None:
        return None
    digits = sum("0" <= ch <= "9" for ch in value)
    if not PHONE.fullmatch(value) or digits not in PHONE_DIGITS:
        raise PydanticCustomError("INVALID_PHONE", "Phone must be +<country code><number>, 7-15 digits: {value}",
                                  {"value": value})
    return value


@sql_twin(lambda sql, value: Check(sql.matches(value, EMAIL.pattern)))
def _check_email(value: str | None) -> str | None:
    if value is None:
        return None
    if not EMAIL.fullmatch(value):
        raise PydanticCustomError("INVALID_EMAIL", "Email format is invalid: {value}", {"value": value})
    return value


def valid_tax_number(number: str, country: str) -> bool:
    """MY: 12 digits or an LHDN TIN (1-2 letters, 8-11 digits); elsewhere 5-20 letters/digits."""
    pattern = MY_TAX_NUMBER if country == "MY" else OTHER_TAX_NUMBER
    return pattern.fullmatch(number.replace("-", "")) is not None


def valid_tax_number_twin(sql: Sql, number: str, country: str) -> str:
    """SQL of :func:`valid_tax_number` (the validated number and country)."""
    bare = f"replace({number}, '-', '')"
    return (f"CASE WHEN {country} = {sql.text('MY')} THEN {sql.matches(bare, MY_TAX_NUMBER.pattern)} "
            f"ELSE {sql.matches(bare, OTHER_TAX_NUMBER.pattern)} END")


@sql_twin(lambda sql, value: Check(sql.matches(value, COUNTRY.pattern), sql.upper(value)))
def _check_country(value: str) -> str:
    """Two letters in either case, kept upper-case (ISO 3166 writes them so)."""
    if not COUNTRY.fullmatch(value):
        raise PydanticCustomError("INVALID_COUNTRY", "Country must be an ISO 3166 two-letter code: {value}",
                                  {"value": value})
    return value.upper()


def one_of(label: str, allowed: tuple[str, ...]) -> Any:
    """A check that the value is one of ``allowed`` in either case; the value is kept lower-case."""

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        if value.lower() not in allowed:
            raise PydanticCustomError("INVALID_VALUE", "{label} must be one of {allowed}: {value}",
                                      {"label": label, "allowed": ", ".join(allowed), "value": value})
        return value.lower()

    # Printable ASCII first: lower() of some other characters is ASCII in Python (the Kelvin sign is "k").
    listed = ", ".join(Sql.text(name) for name in allowed)
    return sql_twin(lambda sql, value: Check(
        sql.guarded(sql.matches(value, "[ -~]*"), f"{sql.lower(value)} IN ({listed})"), sql.lower(value)))(check)


@sql_twin(lambda sql, value: Check(sql.matches(value, ACCOUNT_CODE.pattern)))
def _check_account_code(value: str) -> str:
    if not ACCOUNT_CODE.fullmatch(value):
        raise PydanticCustomError("INVALID_FORMAT", "Account code may hold letters, digits, '.' and '-' only: {value}",
                                  {"value": value})
    return value


# Vouched for: years from 1000 (ISO text then sorts as dates do) and days every month has; the model decides
# on the 29th to 31st.
_PLAIN_ISO_DATE = (r"[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
                   r"|[1-9][0-9]{3}-(?:0[13-9]|1[0-2])-(?:29|30)|[1-9][0-9]{3}-(?:0[13578]|1[02])-31")


@sql_twin(lambda sql, value: Check(sql.matches(value, _PLAIN_ISO_DATE), kind="date"))
def _parse_iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD``: a legacy ``31/12/2024`` is ambiguous, so it is rejected, not guessed."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if ISO_DATE.fullmatch(text):
                return date.fromisoformat(text)
        except ValueError:
            pass
        raise PydanticCustomError("INVALID_DATE", "Not a valid YYYY-MM-DD date: {value}", {"value": value})
    return value


def today_utc() -> date:
    """Today in UTC, the target's calendar."""
    return datetime.now(UTC).date()


@sql_twin(lambda sql, value: Check(f"{value} <= {sql.text(today_utc().isoformat())}"))
def _check_not_future(value: date | None) -> date | None:
    """Not after today in UTC, the target's calendar."""
    if value is not None and value > today_utc():
        raise PydanticCustomError("FUTURE_DATE", "Date {value} is in the future", {"value": str(value)})
    return value


# An amount as exports write it: digits with an optional "." decimal part (and exponent), or "," as a
# thousands separator between groups of three. Anything else ("5.000,00", "1,2") is refused, never
# re-read as another number.
_AMOUNT = re.compile(
    r"[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?)"
)


# Vouched for: what fits the ledger as written, at most 14 digits and 4 places (so _check_fits_ledger holds).
_PLAIN_AMOUNT = r"-?[0-9]{1,14}(?:\.[0-9]{1,4})?"


@sql_twin(lambda sql, value: Check(sql.matches(value, _PLAIN_AMOUNT), f"CAST({value} AS DECIMAL(18,4))", "decimal"))
def _parse_decimal(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if not _AMOUNT.fullmatch(text):
            raise PydanticCustomError("INVALID_NUMBER", "Not a number: {value}", {"value": value})
        return Decimal(text.replace(",", ""))
    return value


@sql_twin(lambda sql, value: Check(f"{value} >= 0"))
def _check_non_negative(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise PydanticCustomError("INVALID_AMOUNT", "Must be a non-negative number, got {value}",
                                  {"value": str(value)})
    return value


@sql_twin(lambda sql, value: Check(f"{value} > 0"))
def _check_positive(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise PydanticCustomError("INVALID_AMOUNT", "Must be a positive number, got {value}",
                                  {"value": str(value)})
    return value


@sql_twin(lambda sql, value: Check(f"{value} <> 0"))
def _check_non_zero(value: Decimal) -> Decimal:
    if not value.is_finite() or value == 0:
        raise PydanticCustomError("INVALID_AMOUNT", "Must be a number other than 0, got {value}",
                                  {"value": str(value)})
    return value


def optional_text(max_length: int | None = None) -> Any:
    """An optional text field of at most ``max_length`` characters (blank is absent)."""
    return Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=max_length)]


Phone = Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=PHONE_MAX_LENGTH),
                  AfterValidator(_check_phone)]
Email = Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=EMAIL_MAX_LENGTH),
                  AfterValidator(_check_email)]
Country = Annotated[str, BeforeValidator(_blank_to_none), AfterValidator(_check_country)]
Status = Annotated[str, BeforeValidator(_blank_to_none), AfterValidator(one_of("Status", STATUSES))]
PayableStatus = Annotated[str, BeforeValidator(_blank_to_none),
                          AfterValidator(one_of("Payable status", PAYABLE_STATUSES))]


def optional_choice(label: str, allowed: tuple[str, ...]) -> Any:
    """An optional value out of ``allowed`` (blank is absent), kept lower-case."""
    return Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(one_of(label, allowed))]


def choice(label: str, allowed: tuple[str, ...]) -> Any:
    """A required value out of ``allowed``, kept lower-case."""
    return Annotated[str, Field(min_length=1), AfterValidator(one_of(label, allowed))]


AccountCode = Annotated[str, Field(min_length=1, max_length=ACCOUNT_CODE_MAX_LENGTH),
                        AfterValidator(_check_account_code)]
IsoDate = Annotated[date, BeforeValidator(_parse_iso_date)]
PastOrTodayDate = Annotated[date, BeforeValidator(_parse_iso_date), AfterValidator(_check_not_future)]
OptionalIsoDate = Annotated[date | None, BeforeValidator(_blank_to_none), BeforeValidator(_parse_iso_date)]
OptionalPastOrTodayDate = Annotated[date | None, BeforeValidator(_blank_to_none), BeforeValidator(_parse_iso_date),
                                    AfterValidator(_check_not_future)]


# Amounts reach the ledger check only through _parse_decimal, whose twin vouches for none that does not fit.
@sql_twin(lambda sql, value: Check("TRUE"))
def _check_fits_ledger(value: Decimal) -> Decimal:
    """Amounts are kept as DECIMAL(18,4): a value that would be rounded or overflow is refused, never changed.

    Trailing zeros do not count: ``10.50000`` is ``10.5``.
    """
    exponent = value.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > 4 or abs(value) >= Decimal(10) ** 14:
        raise PydanticCustomError("INVALID_AMOUNT", "{value} does not fit 14 digits and 4 decimal places",
                                  {"value": str(value)})
    return value


NonNegativeAmount = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_non_negative),
                              AfterValidator(_check_fits_ledger)]
PositiveAmount = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_positive),
                           AfterValidator(_check_fits_ledger)]
# Signed: a payable to a collaborator is positive, a deduction from them negative.
NonZeroAmount = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_non_zero),
                          AfterValidator(_check_fits_ledger)]

# pydantic's own error types, as the codes the rejects table shows.
BUILTIN_ERROR_CODES = {
    "missing": "REQUIRED",
    "string_too_short": "REQUIRED",
    "string_too_long": "TOO_LONG",
    "too_long": "TOO_LONG",  # max_length on an optional text field
    "int_parsing": "INVALID_NUMBER",
    "decimal_parsing": "INVALID_NUMBER",
    "greater_than_equal": "INVALID_AMOUNT",
    "greater_than": "INVALID_AMOUNT",
}

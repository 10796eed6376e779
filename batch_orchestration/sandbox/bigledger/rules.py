"""Format rules per entity (seed 000 "Data Validation", plus documented rules for the other entities).

Each rule checks one record with a :class:`Checker`; rules that need the database (references,
uniqueness) live in :mod:`references`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from batch_orchestration.sandbox.bigledger.validation import Checker

STATUSES = ("active", "inactive")
ITEM_TYPES = ("inventory", "service", "non-inventory")
ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
ADJUSTMENT_TYPES = ("increase", "decrease")
PAYMENT_METHODS = ("cash", "bank_transfer", "cheque", "card", "online", "other")
UNITS_OF_MEASURE = (
    "pieces",
    "piece",
    "pcs",
    "unit",
    "units",
    "each",
    "ea",
    "box",
    "boxes",
    "carton",
    "pack",
    "set",
    "pair",
    "dozen",
    "roll",
    "kg",
    "g",
    "mg",
    "tonne",
    "lb",
    "oz",
    "l",
    "ml",
    "gal",
    "m",
    "cm",
    "mm",
    "km",
    "ft",
    "in",
    "m2",
    "m3",
    "hour",
    "hours",
    "day",
    "days",
    "month",
    "months",
    "service",
    "lot",
)
# ASCII only, either case: upper-casing first would let "ß" (-> "SS") or fullwidth letters through.
_MY_TAX_NUMBER = re.compile(r"[0-9]{12}|[A-Za-z]{1,2}[0-9]{8,11}")
_OTHER_TAX_NUMBER = re.compile(r"[A-Za-z0-9]{5,20}")
_ACCOUNT_CODE = re.compile(r"[A-Za-z0-9.\-]+")
# Balances are compared exactly, inclusive: |given - computed| <= 0.01, nothing rounded before.
TOLERANCE = Decimal("0.01")
# Amounts and quantities are ledger numbers: at most 4 decimal places and 14 digits before the point
# (trailing zeros do not count: 10.50000 is 10.5). More is refused, never rounded.
AMOUNT_PLACES, AMOUNT_DIGITS = 4, 14


class RuleEnv:
    """What rules may depend on besides the record: today's date and the sandbox settings."""

    def __init__(self, today: date, allow_future_dates: bool) -> None:
        self.today = today
        self.latest_document_date = None if allow_future_dates else today


Rule = Callable[[Checker, RuleEnv], None]


def amount(check: Checker, field: str, *, positive: bool = False, required: bool = False) -> Decimal | None:
    """A money amount or quantity: non-negative (or positive), within the ledger's precision."""
    number = check.number(field, minimum=None if positive else 0, positive=positive, required=required)
    if number is None:
        return None
    exponent = number.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > AMOUNT_PLACES or abs(number) >= Decimal(10) ** AMOUNT_DIGITS:
        check.add(field, f"{field} must fit {AMOUNT_DIGITS} digits and {AMOUNT_PLACES} decimal places",
                  "INVALID_AMOUNT")
    return number


def _tax_number(check: Checker) -> None:
    """MY: 12 digits, or an LHDN TIN (1-2 letters then 8-11 digits); elsewhere 5-20 letters/digits."""
    value = check.text("taxNumber", 20)
    if value is None:
        return
    address = check.data.get("address")
    country = str(address.get("country") or "MY").upper() if isinstance(address, dict) else "MY"
    pattern = _MY_TAX_NUMBER if country == "MY" else _OTHER_TAX_NUMBER
    if not pattern.fullmatch(value.replace("-", "")):
        check.add("taxNumber", f"Tax number is not valid for country {country}", "INVALID_TAX_NUMBER")


def _address(check: Checker) -> None:
    address = check.mapping("address")
    if address is None:
        return
    nested = check.nested(address, "address.")
    for field in ("street", "city", "state", "postalCode"):
        nested.text(field, 200)
    country = nested.text("country", 2)
    if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
        nested.add("country", "country must be an ISO 3166 two-letter code", "INVALID_COUNTRY")


def party(check: Checker, _: RuleEnv) -> None:
    """Customers and suppliers."""
    check.text("name", 100, required=True)
    check.email()
    check.phone()
    _address(check)
    _tax_number(check)
    amount(check, "creditLimit")
    check.number("paymentTerms", minimum=0, integer=True)
    check.choice("status", STATUSES)


def _lines_total(check: Checker) -> Decimal:
    """The exact sum of quantity x unitPrice over the lines (no per-line or final rounding)."""
    total = Decimal(0)
    for index, line in enumerate(check.records("items", 1)):
        row = check.nested(line, f"items[{index}].")
        if not row.present("description") and not row.present("itemId"):
            row.add("description", "description or itemId is required", "REQUIRED")
        row.text("description", 500)
        row.text("itemId", 100)
        row.text("taxCode", 20)
        quantity = amount(row, "quantity", positive=True, required=True)
        price = amount(row, "unitPrice", positive=True, required=True)
        total += (quantity or 0) * (price or 0)
    return total


def document(party_field: str, date_field: str) -> Rule:
    """Invoices (customerId, invoiceDate) and bills (supplierId, billDate)."""

    def rule(check: Checker, env: RuleEnv) -> None:
        check.text(party_field, 100, required=True)
        issued = check.date(date_field, required=True, not_after=env.latest_document_date)
        due = check.date("dueDate")
        if issued and due and due < issued:
            check.warn("dueDate", "dueDate is before the document date", "DUE_BEFORE_DATE")
        check.text("reference", 100)
        check.text("notes", 2000)
        check.text("currency", 3)
        total = _lines_total(check)
        given = amount(check, "total")
        if given is not None and abs(given - total) > TOLERANCE:
            check.add("total", f"total {given} does not equal the sum of the lines {total}", "UNBALANCED")

    return rule


def item(check: Checker, _: RuleEnv) -> None:
    check.text("itemCode", 50, required=True)
    check.text("name", 200, required=True)
    check.text("description", 1000)
    check.text("category", 100)
    check.text("taxCode", 20)
    check.choice("type", ITEM_TYPES)
    check.choice("unitOfMeasure", UNITS_OF_MEASURE)
    check.choice("status", STATUSES)
    cost = amount(check, "costPrice")
    price = amount(check, "sellingPrice")
    amount(check, "reorderLevel")
    amount(check, "reorderQuantity")
    check.boolean("trackSerial")
    check.boolean("trackBatch")
    if cost is not None and price is not None and price < cost:
        check.warn("sellingPrice", "sellingPrice is below costPrice", "BELOW_COST")


def journal_entry(check: Checker, _: RuleEnv) -> None:
    check.date("date", required=True)
    check.text("reference", 100)
    check.text("description", 500)
    lines = check.records("lines", 2)
    debits = credits = Decimal(0)
    for index, line in enumerate(lines):
        row = check.nested(line, f"lines[{index}].")
        row.text("accountId", 100, required=True)
        row.text("description", 500)
        debit = amount(row, "debit") or Decimal(0)
        credit = amount(row, "credit") or Decimal(0)
        if (debit > 0) == (credit > 0):
            row.add("debit", "A line needs either a debit or a credit amount", "INVALID_LINE")
        debits, credits = debits + debit, credits + credit
    if lines and abs(debits - credits) > TOLERANCE:
        check.add("lines", f"Debits {debits:.2f} do not equal credits {credits:.2f}", "UNBALANCED")


def stock_adjustment(check: Checker, env: RuleEnv) -> None:
    check.text("itemId", 100, required=True)
    check.text("locationId", 100)
    check.choice("adjustmentType", ADJUSTMENT_TYPES, required=True)
    amount(check, "quantity", positive=True, required=True)
    amount(check, "unitCost")
    check.text("reason", 500)
    check.text("reference", 100)
    check.date("date", not_after=env.today)


def payment(check: Checker, env: RuleEnv) -> None:
    parties = [field for field in ("customerId", "supplierId") if check.present(field)]
    if len(parties) != 1:
        check.add("customerId", "Exactly one of customerId or supplierId is required", "REQUIRED")
    for field in ("customerId", "supplierId", "invoiceId", "billId", "reference"):
        check.text(field, 100)
    amount(check, "amount", positive=True, required=True)
    check.date("date", required=True, not_after=env.today)
    check.choice("method", PAYMENT_METHODS)
    check.text("currency", 3)


def account(check: Checker, _: RuleEnv) -> None:
    code = check.text("code", 20, required=True)
    if code and not _ACCOUNT_CODE.fullmatch(code):
        check.add("code", "code may hold letters, digits, '.' and '-' only", "INVALID_FORMAT")
    check.text("name", 100, required=True)
    check.choice("type", ACCOUNT_TYPES, required=True)
    check.text("parentId", 100)
    check.text("description", 500)
    check.choice("status", STATUSES)

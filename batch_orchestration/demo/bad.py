"""Deliberately bad records: how many of each kind, and how each kind spoils a good record."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from batch_orchestration.demo.fake import Item, money
from batch_orchestration.demo.layout import Row
from batch_orchestration.demo.summary import BadRecord, line_key

# Keys counted down from the top of the key space, so they never meet a generated key.
ORPHAN_CUSTOMER_BASE = 999_999
ORPHAN_INVOICE_BASE = 999_999
MAX_GENERATED_KEYS = 900_000


@dataclass
class InvoiceDraft:
    """An invoice row with its line rows, written on ``day``."""

    day: str
    row: Row
    lines: list[Row] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.row["INV_NO"]

    def line_keys(self, skip: Row | None = None) -> tuple[tuple[str, str], ...]:
        return tuple(("invoice_line_items", line_key(self.key, ln["LINE_NO"])) for ln in self.lines
                     if ln is not skip)


# Kinds the customers-and-invoices part of the generator makes (the rest are in ``books``).
CUSTOMER_KINDS = ("invalid_email", "duplicate_email", "missing_customer_name", "negative_credit_limit")
INVOICE_KINDS = ("orphan_invoice", "invalid_invoice_date", "future_invoice_date", "invoice_without_lines",
                 "negative_line_amount", "orphan_line")


def bad_quotas(fraction: float, customers: int, invoices: int) -> dict[str, int]:
    """kind -> count for the customer, invoice and line kinds, at least one of each when ``fraction`` > 0.

    Customer kinds share ``fraction`` of the customers; invoice and line kinds share ``fraction`` of
    the invoices, because a bad line rejects its whole invoice. So about ``fraction`` of each entity's
    records end up rejected, cascades included. A duplicate email counts pairs (the second is bad).
    """
    if fraction <= 0:
        return dict.fromkeys((*CUSTOMER_KINDS, *INVOICE_KINDS), 0)
    out = {kind: max(1, round(fraction * customers / len(CUSTOMER_KINDS))) for kind in CUSTOMER_KINDS}
    out.update({kind: max(1, round(fraction * invoices / len(INVOICE_KINDS))) for kind in INVOICE_KINDS})
    return out


def invalid_email(email: str, rng: random.Random) -> str:
    """A malformed variant of a good address: no @, two @, a space, no TLD, or no local part."""
    local, domain = email.split("@")
    return rng.choice((f"{local}{domain}", f"{local}@@{domain}", f"{local} @{domain}",
                       f"{local}@{domain.split('.')[0]}", f"@{domain}"))


def spoil_customer(kind: str, row: Row, rng: random.Random) -> str:
    """Make a good customer row bad in the way ``kind`` names; return the offending value."""
    if kind == "invalid_email":
        row["EMAIL_ADDR"] = invalid_email(row["EMAIL_ADDR"], rng)
        return row["EMAIL_ADDR"]
    if kind == "missing_customer_name":
        row["CUST_NAME"] = rng.choice(("", "   "))
        return "CUST_NAME is blank"
    if kind == "negative_credit_limit":
        row["CREDIT_LIMIT"] = "-" + row["CREDIT_LIMIT"]
        return row["CREDIT_LIMIT"]
    raise ValueError(f"not a single-customer kind: {kind}")


def impossible_date(day: date, rng: random.Random) -> str:
    """A date string no ISO parser accepts: Feb 30, month 13, or day-first with month 13."""
    y = day.year
    return rng.choice((f"{y}-02-30", f"31/13/{y}", f"{y}-04-31", f"{y}-13-05"))


def is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def future_date(day: date, rng: random.Random) -> date:
    """A plausible typo'd year far enough ahead to be in the future of any realistic run."""
    years = rng.randint(20, 40)
    return day.replace(year=day.year + years, day=min(day.day, 28))


def spoil_invoice(kind: str, draft: InvoiceDraft, index: int, rng: random.Random) -> BadRecord:
    """Make a good invoice bad in the way ``kind`` names (``index`` numbers the orphans)."""
    row, cascade = draft.row, draft.line_keys()
    day = date.fromisoformat(draft.day)
    if kind == "orphan_invoice":
        row["CUST_NO"] = f"C{ORPHAN_CUSTOMER_BASE - index:06d}"
        detail = row["CUST_NO"]
    elif kind == "invalid_invoice_date":
        row["INV_DATE"] = detail = impossible_date(day, rng)
    elif kind == "future_invoice_date":
        issued = future_date(day, rng)
        row["INV_DATE"], row["DUE_DATE"] = issued.isoformat(), issued.isoformat()
        detail = row["INV_DATE"]
    elif kind == "invoice_without_lines":
        draft.lines.clear()
        cascade, detail = (), f"INV_TOTAL {row['INV_TOTAL']} but no lines"
    else:
        raise ValueError(f"not an invoice kind: {kind}")
    return BadRecord(kind, "invoices", draft.key, draft.day, detail, cascade)


def spoil_line(draft: InvoiceDraft, rng: random.Random, total: Callable[[list[Row]], int]) -> BadRecord:
    """Negate QTY or UNIT_PRICE of one line; the total is recomputed so it still balances.

    The invoice and its other lines are rejected with it (an invoice is loaded whole or not at all).
    """
    line = rng.choice(draft.lines)
    column = rng.choice(("QTY", "UNIT_PRICE"))
    line[column] = "-" + line[column]
    draft.row["INV_TOTAL"] = money(total(draft.lines))
    cascade = (("invoices", draft.key), *draft.line_keys(skip=line))
    detail = f"{column}={line[column]}; INV_TOTAL recomputed to {draft.row['INV_TOTAL']} (balances)"
    return BadRecord("negative_line_amount", "invoice_line_items", line_key(draft.key, line["LINE_NO"]),
                     draft.day, detail, cascade)


def orphan_line(day: str, index: int, item: Item, rng: random.Random) -> tuple[Row, BadRecord]:
    """A well-formed line whose INV_NO is never exported."""
    invoice_no = f"INV-{ORPHAN_INVOICE_BASE - index:06d}"
    row = {"INV_NO": invoice_no, "LINE_NO": "1", "ITEM_CODE": item.code, "DESCRIPTION": item.description,
           "QTY": str(rng.randint(1, 10)), "UNIT_PRICE": money(item.price_cents), "TAX_CODE": "SST"}
    return row, BadRecord("orphan_line", "invoice_line_items", line_key(invoice_no, 1), day, invoice_no)

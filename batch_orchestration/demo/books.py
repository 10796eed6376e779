"""The rest of the books: suppliers, the chart of accounts, bills, journal entries, stock adjustments,
payments, purchase orders and item receipts, with their deliberately bad records.

Every record names only records exported on its own day or earlier. Bad records are recorded with
their cascade: the records the pipeline must reject because of them (the lines of a rejected bill, a
payment naming a rejected invoice). Which code each record gets is in ``summary.BAD_KIND_CODES``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING

from batch_orchestration.demo import bad
from batch_orchestration.demo.documents import BILLS, SUPPLIER_DOCUMENTS, SupplierDocuments
from batch_orchestration.demo.fake import Item, money
from batch_orchestration.demo.layout import Row, split_counts
from batch_orchestration.demo.summary import BadRecord, line_key

if TYPE_CHECKING:
    from batch_orchestration.demo.generate import _Export

SUPPLIER_FIRST_DAY_SHARE = 0.8
SUPPLIER_INACTIVE_SHARE = 0.05
LOCATIONS = ("WH-KL", "WH-PG", "WH-JB", "WH-KCH")
REASONS = {"increase": ("Stock count surplus", "Customer return", "Found during cycle count"),
           "decrease": ("Damaged in storage", "Expired stock", "Stock count shortage", "Samples to customer")}
METHODS = ("bank_transfer", "bank_transfer", "bank_transfer", "cheque", "cash", "online", "card")
BILL_QUANTITIES = (1, 2, 5, 10, 12, 20, 24, 50, 100)

# The chart of accounts exported on the first day: (code, name, type).
CHART = (("1000", "Cash at Bank - Maybank", "asset"), ("1010", "Petty Cash", "asset"),
         ("1100", "Accounts Receivable", "asset"), ("1200", "Inventory", "asset"), ("1300", "Prepayments", "asset"),
         ("1500", "Office Equipment", "asset"), ("1510", "Accumulated Depreciation - Office Equipment", "asset"),
         ("2000", "Accounts Payable", "liability"), ("2100", "SST Payable", "liability"),
         ("2200", "Accrued Expenses", "liability"), ("2300", "EPF & SOCSO Payable", "liability"),
         ("3000", "Share Capital", "equity"), ("3100", "Retained Earnings", "equity"),
         ("4000", "Sales Revenue", "revenue"), ("4100", "Service Revenue", "revenue"),
         ("4900", "Other Income", "revenue"), ("5000", "Cost of Goods Sold", "expense"),
         ("6000", "Salaries & Wages", "expense"), ("6100", "Rent", "expense"), ("6200", "Utilities", "expense"),
         ("6300", "Office Supplies", "expense"), ("6400", "Travel & Transport", "expense"),
         ("6500", "Bank Charges", "expense"), ("6700", "Depreciation", "expense"),
         ("6800-IT", "IT & Software Subscriptions", "expense"))
# Opened on later days (two a day, on the first day when there is only one).
LATER_ACCOUNTS = (("6600", "Marketing & Advertising", "expense"), ("6950", "Staff Training", "expense"),
                  ("4200", "Delivery Income", "revenue"), ("6900", "Repairs & Maintenance", "expense"),
                  ("2400", "Customer Deposits", "liability"), ("1400", "Staff Advances", "asset"))
# (description, debit accounts, credit accounts): every account must be open on the entry's day.
JOURNALS = (("Office rent for the month", ("6100",), ("1000",)),
            ("Staff salaries and statutory contributions", ("6000",), ("1000", "2300")),
            ("Electricity and water accrued", ("6200",), ("2200",)),
            ("Bank charges", ("6500",), ("1000",)),
            ("Depreciation of office equipment", ("6700",), ("1510",)),
            ("Petty cash top-up", ("1010",), ("1000",)),
            ("Insurance paid in advance", ("1300",), ("1000",)),
            ("Office supplies and travel claims", ("6300", "6400"), ("1010",)),
            ("SST paid to Royal Malaysian Customs", ("2100",), ("1000",)),
            ("Facebook and Google ads", ("6600",), ("1000",)),
            ("Cloud accounting and email subscriptions", ("6800-IT",), ("1000",)),
            ("Aircond servicing", ("6900",), ("2200",)),
            ("Staff advance", ("1400",), ("1000",)))
# Never exported, so naming them is PARENT_UNKNOWN.
UNKNOWN_ACCOUNT, UNKNOWN_SUPPLIER_BASE, UNKNOWN_ITEM_BASE, UNKNOWN_INVOICE_BASE = "9990", 99_999, 99_999, 899_999


@dataclass
class Aggregate:
    """A header row with its line rows (a bill, a journal entry), written on day ``index``."""

    entity: str
    part: str
    key_column: str
    index: int
    day: str
    row: Row
    lines: list[Row] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.row[self.key_column]

    def line_keys(self, skip: Row | None = None) -> tuple[tuple[str, str], ...]:
        return tuple((self.part, line_key(self.key, ln["LINE_NO"])) for ln in self.lines if ln is not skip)

    def everything(self) -> tuple[tuple[str, str], ...]:
        return ((self.entity, self.key), *self.line_keys())


def quota(fraction: float, count: int, kinds: int) -> int:
    """Bad records of one kind: ``kinds`` kinds share ``fraction`` of ``count`` records, at least one each."""
    return max(1, round(fraction * count / kinds)) if fraction > 0 else 0


def split_cents(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` cents as ``parts`` positive amounts."""
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, total]
    return [b - a for a, b in pairwise(bounds)]


class Books:
    """Builds every entity but customers and invoices onto an export being generated."""

    def __init__(self, export: _Export, fraction: float) -> None:
        self.x = export
        self.rng, self.fake, self.labels, self.days = export.rng, export.fake, export.labels, export.days
        self.fraction = fraction
        self.last = len(self.days) - 1
        self.rows: dict[str, list[list[Row]]] = {}
        self.suppliers: dict[str, tuple[int, Row]] = {}  # key -> (day index, row)
        self.bad_suppliers: set[str] = set()
        self.accounts: dict[str, int] = {}  # good account code -> day index it is opened
        self.documents: dict[str, list[Aggregate]] = {}  # bought from suppliers: entity -> documents
        self.entries: list[Aggregate] = []
        self.adjustments: list[tuple[int, Row]] = []
        self.payments: list[tuple[int, Row]] = []
        self._numbers: Counter[str] = Counter()  # documents made, per entity
        self._entry_no = self._adjustment_no = self._payment_no = 0

    def _out(self, entity: str, index: int) -> list[Row]:
        return self.rows.setdefault(entity, [[] for _ in self.days])[index]

    def _bad(self, kind: str, entity: str, key: str, index: int, detail: str,
             cascade: Iterable[tuple[str, str]] = ()) -> BadRecord:
        record = BadRecord(kind, entity, key, self.labels[index], detail, tuple(cascade))
        self.x.summary.bad_records.append(record)
        return record

    def _extend_cascade(self, record: BadRecord, more: Iterable[tuple[str, str]]) -> BadRecord:
        records = self.x.summary.bad_records
        position = records.index(record)
        records[position] = replace(record, cascade=(*record.cascade, *more))
        return records[position]

    def _date(self, index: int, back: int) -> date:
        return self.days[index] - timedelta(self.rng.randint(0, back))

    # suppliers
    def add_suppliers(self, count: int) -> None:
        number, pools = 0, []
        for index, n in enumerate(split_counts(count, len(self.days), SUPPLIER_FIRST_DAY_SHARE)):
            pool = []
            for _ in range(n):
                number += 1
                row = self.x.party_row("SUPP_NO", "SUPP_NAME", f"S{number:05d}", SUPPLIER_INACTIVE_SHARE)
                self.suppliers[row["SUPP_NO"]] = (index, row)
                self._out("suppliers", index).append(row)
                pool.append(row)
            pools.append(pool)
        # Bad ones among the first day's: later days are small, and a day's reject rate is checked.
        candidates = self.rng.sample(pools[0], len(pools[0]))
        kinds = ("invalid_supplier_tax_number", "missing_supplier_name", "invalid_supplier_phone")
        for kind in kinds:
            for _ in range(quota(self.fraction, count, len(kinds))):
                if len(candidates) < len(pools[0]) // 2:
                    raise ValueError("too few suppliers for the bad records requested; lower bad_fraction")
                row = candidates.pop()
                if kind == "invalid_supplier_tax_number":
                    row["COUNTRY"], row["TAX_REG_NO"] = "MY", f"{self.rng.randrange(10**10, 10**11)}"
                    detail = f"TAX_REG_NO {row['TAX_REG_NO']}: 11 digits, MY needs 12"
                elif kind == "missing_supplier_name":
                    row["SUPP_NAME"], detail = "", "SUPP_NAME is blank"
                else:
                    row["PHONE_NO"] = detail = f"03-{self.rng.randint(2000, 9999)} {self.rng.randrange(10**4):04d}"
                self.bad_suppliers.add(row["SUPP_NO"])
                self._bad(kind, "suppliers", row["SUPP_NO"], self.suppliers[row["SUPP_NO"]][0], detail)
        if not self._billable(0):
            raise ValueError("no good active supplier on the first day; raise suppliers or lower bad_fraction")

    def _billable(self, index: int) -> list[str]:
        return [k for k, (day, row) in self.suppliers.items()
                if day <= index and k not in self.bad_suppliers and row["STATUS"] == "active"]

    # items: the good item master is the export's catalogue; here are its bad records
    def spoil_items(self) -> None:
        items = len(self.x.catalogue)
        kinds = ("invalid_unit_of_measure", "negative_selling_price")
        number = len(self.x.catalogue)
        for kind in kinds:
            for _ in range(quota(self.fraction, items, len(kinds) + 1)):
                number += 1
                index = 0  # in the first day's item master: later days add only a few items
                base = self.rng.choice(self.x.catalogue)
                item = replace(base, code=f"SKU-{10001 + number}", description=base.description + " (new)")
                row = self.x.item_row(item)
                if kind == "invalid_unit_of_measure":
                    row["UOM"] = detail = self.rng.choice(("btl", "bag", "tin", "ctns"))
                    self._unknown_item_adjustment(kind, row["ITEM_CODE"], index, detail)
                else:
                    row["SELL_PRICE"] = detail = "-" + row["SELL_PRICE"]
                    self._bad(kind, "items", row["ITEM_CODE"], index, f"SELL_PRICE {detail}")
                self._out("items", index).append(row)
        # Item codes are one code whatever their case (the target's and the pipeline's rule alike).
        if self.fraction > 0:
            original = self.rng.choice(self.x.sellable(0))
            clash = self.x.item_row(replace(original, code=original.code.lower()))
            self._out("items", self.last).append(clash)
            self._bad("item_code_case_clash", "items", clash["ITEM_CODE"], self.last,
                      f"{clash['ITEM_CODE']} is {original.code} in another case")
            # A record naming the code in the other case names the same item: it loads.
            adjustment = self._adjustment(self.last, original)
            adjustment["ITEM_CODE"] = clash["ITEM_CODE"]

    def _unknown_item_adjustment(self, kind: str, code: str, index: int, detail: str) -> None:
        """The bad item, and a stock adjustment naming it on its day (PARENT_UNKNOWN)."""
        adjustment = self._adjustment(index, self.rng.choice(self.x.sellable(index)))
        adjustment["ITEM_CODE"] = code
        self._bad(kind, "items", code, index, f"UOM {detail}", [("stock_adjustments", adjustment["ADJ_NO"])])

    # accounts
    def add_accounts(self) -> None:
        for code, name, kind in CHART:
            self._account(0, code, name, kind)
        for n, (code, name, kind) in enumerate(LATER_ACCOUNTS):
            self._account(min(self.last, 1 + n // 2), code, name, kind)
        if self.fraction <= 0:
            return
        index = 0  # in the first day's chart: later days open only a few accounts
        row = self._account(index, "1600", "Motor Vehicles", "fixed asset", good=False)
        record = self._bad("invalid_account_type", "accounts", row["GL_CODE"], index, "GL_TYPE fixed asset")
        entry = self._entry(index, ("Delivery van bought", ("1600",), ("1000",)))
        self._extend_cascade(record, entry.everything())
        # On the first day too, after 6800-IT: one bad record among the few accounts of a later day
        # would be over the reject-rate threshold of the day.
        row = self._account(index, "6800-it", "IT Expenses", "expense", good=False)
        self._bad("account_code_case_clash", "accounts", row["GL_CODE"], index, "6800-it is 6800-IT in another case")
        self._entry(index, ("Laptop repair", ("6800-it",), ("1010",)))  # the same account: it loads

    def _account(self, index: int, code: str, name: str, kind: str, good: bool = True) -> Row:
        row = {"GL_CODE": code, "GL_NAME": name, "GL_TYPE": kind, "DESCRIPTION": "", "STATUS": "active"}
        self._out("accounts", index).append(row)
        if good:
            self.accounts[code] = index
        return row

    # bills, purchase orders, item receipts
    def add_documents(self, documents: SupplierDocuments, count: int) -> None:
        made = self.documents.setdefault(documents.entity, [])
        for index, n in enumerate(split_counts(count, len(self.days), None)):
            suppliers = self._billable(index)
            for _ in range(n):
                made.append(self._document(documents, index, self.rng.choice(suppliers)))
        kinds = list(documents.bad_kind_codes)
        picks = [k for k in kinds for _ in range(quota(self.fraction, count, len(kinds)))]
        if len(picks) > count // 2:
            raise ValueError(f"too few {documents.entity} for the bad records requested; lower bad_fraction")
        orphan, mismatch, future, _ = kinds
        for n, (kind, draft) in enumerate(zip(picks, self.rng.sample(made, len(picks)), strict=True)):
            row = draft.row
            if kind == orphan:
                row["SUPP_NO"] = detail = f"S{UNKNOWN_SUPPLIER_BASE - n:05d}"
            elif kind == mismatch:
                row[documents.total] = money(self._lines_cents(draft.lines) + self.rng.randint(100, 5000))
                detail = f"{documents.total} {row[documents.total]}, lines {money(self._lines_cents(draft.lines))}"
            elif kind == future:
                issued = bad.future_date(self.days[draft.index], self.rng)
                row[documents.date] = row["DUE_DATE"] = detail = issued.isoformat()
            else:
                line = self.rng.choice(draft.lines)
                line["ITEM_CODE"] = detail = f"SKU-{UNKNOWN_ITEM_BASE - n}"
                self._bad(kind, documents.part, line_key(draft.key, line["LINE_NO"]), draft.index, detail,
                          ((draft.entity, draft.key), *draft.line_keys(skip=line)))
                continue
            self._bad(kind, documents.entity, draft.key, draft.index, detail, draft.line_keys())

    @property
    def bills(self) -> list[Aggregate]:
        return self.documents.get(BILLS.entity, [])

    def _document(self, documents: SupplierDocuments, index: int, supplier: str) -> Aggregate:
        self._numbers[documents.entity] += 1
        key, rng = f"{documents.prefix}-{self._numbers[documents.entity]:06d}", self.rng
        issued = self._date(index, 3)
        terms = int(self.suppliers[supplier][1]["PAY_TERMS_DAYS"])
        row = {documents.key: key, "SUPP_NO": supplier, documents.date: issued.isoformat(),
               "DUE_DATE": (issued + timedelta(terms)).isoformat(),
               documents.reference: f"{documents.reference_prefix}/{issued.year}/{rng.randrange(10**5):05d}",
               documents.total: "",
               "NOTES": rng.choice(("", "", "", "Goods received in good order", "Partial delivery"))}
        draft = Aggregate(documents.entity, documents.part, documents.key, index, self.labels[index], row)
        stock = [item for item in self.x.sellable(index) if item.item_type != "service"]
        for line_no in range(1, rng.randint(1, 4) + 1):
            item = rng.choice(stock)
            quantity = rng.choice(BILL_QUANTITIES)
            line = {documents.key: key, "LINE_NO": str(line_no), "ITEM_CODE": item.code,
                    "DESCRIPTION": item.description, "QTY": str(quantity),
                    "UNIT_COST": money(item.cost_cents), "TAX_CODE": rng.choice(("SST", "SST", "ZR"))}
            if documents.receives:  # mostly all of it; now and then part, or left blank (all of it)
                line["QTY_RECEIVED"] = rng.choice((str(quantity), str(quantity), "", str(rng.randint(1, quantity))))
            draft.lines.append(line)
        row[documents.total] = money(self._lines_cents(draft.lines))
        return draft

    @staticmethod
    def _lines_cents(lines: list[Row]) -> int:
        return int(sum(Decimal(ln["QTY"]) * Decimal(ln["UNIT_COST"]) * 100 for ln in lines))

    # journal entries
    def add_entries(self, count: int) -> None:
        for index, n in enumerate(split_counts(count, len(self.days), None)):
            usable = [t for t in JOURNALS if all(self.accounts.get(c, len(self.days)) <= index for c in t[1] + t[2])]
            for _ in range(n):
                self._entry(index, self.rng.choice(usable))
        kinds = ["unbalanced_entry", "single_line_entry", "invalid_entry_date", "line_with_debit_and_credit",
                 "line_unknown_account"]
        picks = [k for k in kinds for _ in range(quota(self.fraction, count, len(kinds)))]
        if len(picks) > count // 2:
            raise ValueError("too few journal entries for the bad records requested; lower bad_fraction")
        cascaded = {key for r in self.x.summary.bad_records for e, key in r.cascade if e == "journal_entries"}
        drafts = self.rng.sample([e for e in self.entries if e.key not in cascaded], len(picks))
        for kind, draft in zip(picks, drafts, strict=True):
            row, lines = draft.row, draft.lines
            if kind == "unbalanced_entry":
                credit = next(ln for ln in lines if ln["CREDIT"])
                credit["CREDIT"] = money(round(Decimal(credit["CREDIT"]) * 100) + self.rng.randint(2, 999))
                self._bad(kind, draft.entity, draft.key, draft.index, f"a credit raised to {credit['CREDIT']}",
                          draft.line_keys())
            elif kind == "single_line_entry":
                del lines[1:]
                self._bad(kind, draft.entity, draft.key, draft.index, "one line only", draft.line_keys())
            elif kind == "invalid_entry_date":
                row["JE_DATE"] = bad.impossible_date(self.days[draft.index], self.rng)
                self._bad(kind, draft.entity, draft.key, draft.index, row["JE_DATE"], draft.line_keys())
            else:
                line = self.rng.choice(lines)
                if kind == "line_with_debit_and_credit":
                    line["DEBIT"] = line["CREDIT"] = detail = line["DEBIT"] or line["CREDIT"]
                    detail = f"DEBIT and CREDIT both {detail}"
                else:
                    line["GL_CODE"] = detail = UNKNOWN_ACCOUNT
                self._bad(kind, draft.part, line_key(draft.key, line["LINE_NO"]), draft.index, detail,
                          ((draft.entity, draft.key), *draft.line_keys(skip=line)))

    def _entry(self, index: int, template: tuple[str, tuple[str, ...], tuple[str, ...]]) -> Aggregate:
        self._entry_no += 1
        key, rng = f"JE-{self._entry_no:06d}", self.rng
        description, debits, credits = template
        row = {"JE_NO": key, "JE_DATE": self._date(index, 1).isoformat(),
               "JE_REF": rng.choice(("", f"GJ/{self.days[index]:%Y%m}/{self._entry_no:04d}")),
               "JE_DESC": description}
        draft = Aggregate("journal_entries", "journal_entry_lines", "JE_NO", index, self.labels[index], row)
        total = rng.randint(5_000, 2_500_000)
        sides = [(code, "DEBIT", cents) for code, cents in zip(debits, split_cents(total, len(debits), rng),
                                                                strict=True)]
        sides += [(code, "CREDIT", cents) for code, cents in zip(credits, split_cents(total, len(credits), rng),
                                                                  strict=True)]
        for line_no, (code, side, cents) in enumerate(sides, start=1):
            line = {"JE_NO": key, "LINE_NO": str(line_no), "GL_CODE": code, "LINE_DESC": description,
                    "DEBIT": "", "CREDIT": ""}
            line[side] = money(cents)
            draft.lines.append(line)
        self.entries.append(draft)
        return draft

    # stock adjustments
    def add_adjustments(self, count: int) -> None:
        made = []
        for index, n in enumerate(split_counts(count, len(self.days), None)):
            stock = [item for item in self.x.sellable(index) if item.item_type == "inventory"]
            made += [(index, self._adjustment(index, self.rng.choice(stock))) for _ in range(n)]
        kinds = ("invalid_adjustment_type", "adjustment_unknown_item", "future_adjustment_date")
        picks = [k for k in kinds for _ in range(quota(self.fraction, count, len(kinds)))]
        if len(picks) > count // 2:
            raise ValueError("too few stock adjustments for the bad records requested; lower bad_fraction")
        for n, (kind, (index, row)) in enumerate(zip(picks, self.rng.sample(made, len(picks)), strict=True)):
            if kind == "invalid_adjustment_type":
                row["ADJ_TYPE"] = detail = self.rng.choice(("transfer", "write-off", "adjust"))
            elif kind == "adjustment_unknown_item":
                row["ITEM_CODE"] = detail = f"SKU-{UNKNOWN_ITEM_BASE - 500 - n}"
            else:
                row["ADJ_DATE"] = detail = bad.future_date(self.days[index], self.rng).isoformat()
            self._bad(kind, "stock_adjustments", row["ADJ_NO"], index, detail)

    def _adjustment(self, index: int, item: Item) -> Row:
        self._adjustment_no += 1
        rng = self.rng
        kind = rng.choices(("increase", "decrease"), (40, 60))[0]
        row = {"ADJ_NO": f"ADJ-{self._adjustment_no:06d}", "ITEM_CODE": item.code, "LOCATION": rng.choice(LOCATIONS),
               "ADJ_TYPE": kind, "QTY": str(rng.choice((1, 2, 3, 5, 10, 12, 24))),
               "UNIT_COST": money(item.cost_cents), "REASON": rng.choice(REASONS[kind]),
               "ADJ_REF": rng.choice(("", f"SC-{rng.randrange(10**4):04d}")),
               "ADJ_DATE": rng.choice(("", self._date(index, 2).isoformat()))}
        self._out("stock_adjustments", index).append(row)
        return row

    # payments
    def add_payments(self, count: int, rejected: Callable[[str], set[str]]) -> None:
        """Receipts against good invoices and payments against good bills, each on or after its document's day."""
        bad_invoices, bad_bills = rejected("invoices"), rejected("bills")
        invoices = [(d, self.x.index_of(d.day)) for d in self.x.invoices if d.key not in bad_invoices]
        bills = [(b, b.index) for b in self.bills if b.key not in bad_bills]
        made: list[tuple[int, Row]] = []
        for index, n in enumerate(split_counts(count, len(self.days), None)):
            open_invoices = [d for d, i in invoices if i <= index]
            open_bills = [b for b, i in bills if i <= index]
            for _ in range(n):
                if self.rng.random() < 0.7:
                    made.append((index, self._receipt(index, self.rng.choice(open_invoices).row)))
                else:
                    made.append((index, self._payment(index, self.rng.choice(open_bills))))
        receipts = [(i, r) for i, r in made if r["CUST_NO"]]
        kinds = ("payment_with_both_parties", "zero_payment_amount", "payment_unknown_invoice")
        picks = [k for k in kinds for _ in range(quota(self.fraction, count, len(kinds)))]
        if len(picks) > len(receipts) // 2:
            raise ValueError("too few payments for the bad records requested; lower bad_fraction")
        good_suppliers = self._billable(self.last)
        for n, (kind, (index, row)) in enumerate(zip(picks, self.rng.sample(receipts, len(picks)), strict=True)):
            if kind == "payment_with_both_parties":
                row["SUPP_NO"] = self.rng.choice([s for s in good_suppliers if self.suppliers[s][0] <= index])
                detail = f"CUST_NO {row['CUST_NO']} and SUPP_NO {row['SUPP_NO']}"
            elif kind == "zero_payment_amount":
                row["AMOUNT"] = detail = "0.00"
            else:
                row["INV_NO"] = detail = f"INV-{UNKNOWN_INVOICE_BASE - n:06d}"
            self._bad(kind, "payments", row["RECEIPT_NO"], index, detail)
        self._pay_rejected_documents()

    def _pay_rejected_documents(self) -> None:
        """A payment naming a document rejected for a reason other than its party: PARENT_UNKNOWN when the
        document failed validation, PARENT_REJECTED when its customer was refused by the target."""
        paid: dict[str, int] = {}
        for record in list(self.x.summary.bad_records):
            paid[record.kind] = paid.get(record.kind, 0) + 1
            if paid[record.kind] > 2:  # two of each kind show it
                continue
            if record.kind in ("invalid_invoice_date", "email_taken_in_target"):
                keys = [key for e, key in record.cascade if e == "invoices"] or [record.key]
                draft = next((d for d in self.x.invoices if d.key == keys[0]), None)
                if draft is None:
                    continue
                row = self._receipt(self.x.index_of(draft.day), draft.row)
            elif record.kind == "bill_total_mismatch":
                bill = next(b for b in self.bills if b.key == record.key)
                row = self._payment(bill.index, bill)
            else:
                continue
            self._extend_cascade(record, [("payments", row["RECEIPT_NO"])])

    def _receipt(self, index: int, invoice: Row) -> Row:
        total = round(Decimal(invoice["INV_TOTAL"]) * 100)
        cents = total if self.rng.random() < 0.7 or total < 200 else self.rng.randint(total // 4, total - 1)
        paid = self._date(index, 1)
        if bad.is_iso_date(invoice["INV_DATE"]):
            paid = max(paid, date.fromisoformat(invoice["INV_DATE"]))
        return self._payment_row(index, paid, cents, CUST_NO=invoice["CUST_NO"], INV_NO=invoice["INV_NO"])

    def _payment(self, index: int, bill: Aggregate) -> Row:
        issued = date.fromisoformat(bill.row["BILL_DATE"])
        return self._payment_row(index, max(issued, self._date(index, 1)),
                                 round(Decimal(bill.row["BILL_TOTAL"]) * 100),
                                 SUPP_NO=bill.row["SUPP_NO"], BILL_NO=bill.key)

    def _payment_row(self, index: int, paid: date, cents: int, **parties: str) -> Row:
        self._payment_no += 1
        method = self.rng.choice(METHODS)
        reference = {"cheque": f"CHQ {self.rng.randrange(10**6):06d}",
                     "bank_transfer": f"IBG{self.rng.randrange(10**8):08d}"}.get(method, "")
        row = {"RECEIPT_NO": f"PAY-{self._payment_no:06d}", "CUST_NO": "", "SUPP_NO": "", "INV_NO": "",
               "BILL_NO": "", "PAY_DATE": paid.isoformat(), "AMOUNT": money(cents), "PAY_METHOD": method,
               "PAY_REF": reference, **parties}
        self._out("payments", index).append(row)
        return row

    # output
    def day_rows(self, index: int) -> dict[str, list[Row]]:
        """Every entity's rows of day ``index`` that the books own (aggregates flattened into lines)."""
        out = {entity: per_day[index] for entity, per_day in self.rows.items()}
        for documents in SUPPLIER_DOCUMENTS:
            made = self.documents.get(documents.entity, [])
            out[documents.entity] = [d.row for d in made if d.index == index]
            out[documents.part] = [ln for d in made if d.index == index for ln in d.lines]
        out["journal_entries"] = [e.row for e in self.entries if e.index == index]
        out["journal_entry_lines"] = [ln for e in self.entries if e.index == index for ln in e.lines]
        return out

"""Generate a deterministic legacy CSV export for demos and tests, with known bad records.

Layout and columns: see ``batch_orchestration.demo.layout``; bad kinds: ``summary.BAD_KINDS``.
Run ``batch-orchestration generate ROOT`` for a demo-size export.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from batch_orchestration.demo import bad
from batch_orchestration.demo.books import Books
from batch_orchestration.demo.documents import BILLS, ITEM_RECEIPTS, PURCHASE_ORDERS
from batch_orchestration.demo.fake import Faker, Item, money
from batch_orchestration.demo.layout import Row, split_counts, write_partition
from batch_orchestration.demo.payables import Payables
from batch_orchestration.demo.summary import ENTITIES, BadRecord, GenerationSummary

FIRST_DAY_SHARE = 0.7  # of customers first exported on day 1; the rest arrive on later days
REEXPORT_SHARE = 0.01  # of known customers re-sent per later day, both changed and unchanged
DELETE_SHARE = 0.005  # of the customers known before the last day, deleted on it (within the delete guard's 5 %)
INACTIVE_SHARE = 0.03
INVOICE_AGE_DAYS = (0, 0, 0, 1, 2)  # INV_DATE is the partition day or a day or two before
QUANTITIES, QUANTITY_WEIGHTS = (1, 2, 3, 4, 5, 6, 10, 12, 20, 24, 50), (30, 15, 10, 8, 8, 5, 8, 5, 3, 2, 1)
TAX_CODES, TAX_WEIGHTS = ("SST", "ZR", "ES"), (80, 12, 8)
CUSTOMER_KINDS = bad.CUSTOMER_KINDS
INVOICE_KINDS = ("orphan_invoice", "invalid_invoice_date", "future_invoice_date", "invoice_without_lines")
FIRST_DAY_ITEMS = 120  # the item master of the first day; a few new items follow each later day
# A customer the target holds before the migration, unknown to the export: its email is taken there.
TARGET_CUSTOMER = {"name": "Kopitiam Warisan Sdn Bhd", "email": "accounts@kopitiamwarisan.com.my",
                   "phone": "+60381234567", "address": {"city": "Kuala Lumpur", "country": "MY"},
                   "status": "active"}
TARGET_CUSTOMER_REFERENCE = "legacy-crm-000001"


def resolve_days(days: list[date] | None, start: date | None, n_days: int | None) -> list[date]:
    """The partition days: either ``days`` or ``n_days`` consecutive days from ``start``."""
    if (days is None) == (start is None or n_days is None):
        raise ValueError("give either days, or start and n_days")
    resolved = list(days) if days is not None else [start + timedelta(i) for i in range(n_days or 0)]
    if not resolved or resolved != sorted(set(resolved)):
        raise ValueError("days must be non-empty, increasing and distinct")
    return resolved


def lines_total_cents(lines: list[Row]) -> int:
    """Sum of QTY * UNIT_PRICE over the lines, in cents."""
    return int(sum(Decimal(ln["QTY"]) * Decimal(ln["UNIT_PRICE"]) * 100 for ln in lines))


class _Export:
    """The export being built, day by day, before it is written."""

    def __init__(self, days: list[date], customers: int, seed: int, new_items_per_day: int) -> None:
        self.days = days
        self.labels = [d.isoformat() for d in days]
        self.rng = random.Random(seed)
        self.fake = Faker(self.rng)
        self.catalogue = self.fake.catalogue(FIRST_DAY_ITEMS + new_items_per_day * (len(days) - 1))
        # item code -> the day index its item is first exported
        self.item_day = {item.code: 0 if n < FIRST_DAY_ITEMS else 1 + (n - FIRST_DAY_ITEMS) // new_items_per_day
                         for n, item in enumerate(self.catalogue)}
        self.summary = GenerationSummary(root="", seed=seed, days=self.labels)
        self.current: dict[str, Row] = {}  # customer key -> latest exported version
        self.new_by_day: list[list[str]] = [[] for _ in days]
        self.customer_rows: list[list[Row]] = [[] for _ in days]
        self.bad_customers: set[str] = set()
        self.invoices: list[bad.InvoiceDraft] = []
        self.orphan_lines: list[list[Row]] = [[] for _ in days]
        self.taken_email_customer: tuple[int, str] | None = None  # (day index, key), when bad records are made
        self._add_new_customers(customers)

    # customers
    def _add_new_customers(self, customers: int) -> None:
        number = 0
        for index, count in enumerate(split_counts(customers, len(self.days), FIRST_DAY_SHARE)):
            for _ in range(count):
                number += 1
                row = self._customer_row(f"C{number:06d}")
                self.current[row["CUST_NO"]] = row
                self.new_by_day[index].append(row["CUST_NO"])
                self.customer_rows[index].append(row)
            self.summary.new_customers[self.labels[index]] = count

    def _customer_row(self, key: str) -> Row:
        return self.party_row("CUST_NO", "CUST_NAME", key, INACTIVE_SHARE)

    def party_row(self, key_column: str, name_column: str, key: str, inactive_share: float) -> Row:
        """A customer or supplier row (the two exports share their columns but the key and the name)."""
        fake = self.fake
        country = fake.country()
        name = fake.company_name(country)
        street, city, state, postcode = fake.address(country)
        return {key_column: key, name_column: name, "EMAIL_ADDR": fake.email(name, country),
                "PHONE_NO": fake.phone(country), "STREET": street, "CITY": city, "STATE": state,
                "POSTCODE": postcode, "COUNTRY": country, "CREDIT_LIMIT": fake.credit_limit(),
                "PAY_TERMS_DAYS": str(fake.pay_terms()), "TAX_REG_NO": fake.tax_number(country),
                "STATUS": "inactive" if self.rng.random() < inactive_share else "active"}

    def index_of(self, label: str) -> int:
        return self.labels.index(label)

    def sellable(self, index: int) -> list[Item]:
        """Good items exported on or before day ``index``."""
        return [item for item in self.catalogue if self.item_day[item.code] <= index]

    def _take_new_customers(self, pools: list[list[str]], n: int) -> tuple[int, list[str]]:
        """Pop ``n`` first-time customers exported on one (random) day."""
        candidates = [i for i, pool in enumerate(pools) if len(pool) >= n]
        if not candidates:
            raise ValueError("too few customers for the bad records requested; lower bad_fraction")
        index = self.rng.choices(candidates, weights=[len(pools[i]) for i in candidates])[0]
        return index, [pools[index].pop() for _ in range(n)]

    def spoil_customers(self, quotas: dict[str, int]) -> None:
        pools = [self.rng.sample(keys, len(keys)) for keys in self.new_by_day]
        for kind in CUSTOMER_KINDS:
            per_take = 2 if kind == "duplicate_email" else 1  # a duplicate email needs a pair
            for _ in range(quotas[kind]):
                index, keys = self._take_new_customers(pools, per_take)
                self._record_bad_customers(kind, index, sorted(keys))
        if any(quotas.values()):
            index, (key,) = self._take_new_customers(pools, 1)
            row = self.current[key]
            row["EMAIL_ADDR"], row["STATUS"] = TARGET_CUSTOMER["email"].capitalize(), "active"
            self.bad_customers.add(key)
            self.taken_email_customer = index, key
            self.summary.bad_records.append(BadRecord(
                "email_taken_in_target", "customers", key, self.labels[index],
                f"{row['EMAIL_ADDR']} belongs to a customer only the target holds ({TARGET_CUSTOMER['name']})"))
            self.summary.target_records["customers"] = [
                {"operation": "create", "referenceId": TARGET_CUSTOMER_REFERENCE, "data": dict(TARGET_CUSTOMER)}]
        if 2 * len(self.bad_customers) > len(self.current) or not self._invoiceable(0):
            raise ValueError("no good active customer on the first day; raise customers or lower bad_fraction")

    def _record_bad_customers(self, kind: str, index: int, keys: list[str]) -> None:
        """Spoil one customer; for a duplicate email a pair of the same day, of which only the second
        (later in the file: rows are in key order) is rejected, as the first is kept."""
        if kind == "duplicate_email":
            first, second = (self.current[k] for k in keys)
            second["EMAIL_ADDR"] = first["EMAIL_ADDR"]
            keys, details = keys[1:], [f"{first['EMAIL_ADDR']} already used by {keys[0]}"]
            self.bad_customers.add(first["CUST_NO"])  # kept, but never invoiced nor re-sent
        else:
            details = [bad.spoil_customer(kind, self.current[keys[0]], self.rng)]
        self.bad_customers.update(keys)
        for key, detail in zip(keys, details, strict=True):
            self.summary.bad_records.append(BadRecord(kind, "customers", key, self.labels[index], detail))

    def _known_good(self, index: int) -> list[str]:
        """Good customers first exported before day ``index``, in key order."""
        return [k for keys in self.new_by_day[:index] for k in keys if k not in self.bad_customers]

    def _invoiceable(self, index: int) -> list[str]:
        """Good, active customers exported on or before day ``index``."""
        return [k for k in self._known_good(index + 1) if self.current[k]["STATUS"] == "active"]

    def add_reexports(self) -> None:
        """On each later day re-send a few known customers: some with a changed field, some unchanged."""
        for index in range(1, len(self.days)):
            label, known = self.labels[index], self._known_good(index)
            count = min(len(known) // 2, max(1, round(len(known) * REEXPORT_SHARE)))
            picked = self.rng.sample(known, 2 * count)
            updates = self.summary.customer_updates.setdefault(label, {})
            for key in sorted(picked[:count]):
                row = dict(self.current[key])
                column = self.rng.choice(("CREDIT_LIMIT", "PHONE_NO"))
                row[column] = (self.fake.credit_limit(other_than=row[column]) if column == "CREDIT_LIMIT"
                               else self._new_phone(row))
                self.current[key], updates[key] = row, column
                self.customer_rows[index].append(row)
            repeats = sorted(picked[count:])
            self.summary.customer_repeats[label] = repeats
            self.customer_rows[index].extend(dict(self.current[key]) for key in repeats)
            self.customer_rows[index].sort(key=lambda r: r["CUST_NO"])

    def add_deletes(self) -> None:
        """On the last day, delete a few customers exported before it: good ones, that nothing names (no
        invoice, so no payment) and that the day does not re-send. The customers export is a changes one:
        a delete row holds the key and its operation alone."""
        if len(self.days) < 2:
            return
        index, label = len(self.days) - 1, self.labels[-1]
        invoiced = {draft.row["CUST_NO"] for draft in self.invoices}
        resent = {row["CUST_NO"] for row in self.customer_rows[index]}
        known = self._known_good(index)
        candidates = [key for key in known if key not in invoiced and key not in resent]
        count = min(len(candidates), max(1, round(len(known) * DELETE_SHARE)))
        keys = sorted(random.Random(f"deletes/{self.summary.seed}").sample(candidates, count))
        self.summary.customer_deletes[label] = keys
        self.customer_rows[index] = sorted(self.customer_rows[index] + [
            {"CUST_NO": key, "CHANGE_TYPE": "delete"} for key in keys], key=lambda r: r["CUST_NO"])

    def _new_phone(self, row: Row) -> str:
        phone = row["PHONE_NO"]
        while phone == row["PHONE_NO"]:
            phone = self.fake.phone(row["COUNTRY"])
        return phone

    # invoices and lines
    def add_invoices(self, total: int, lines_per_invoice: tuple[int, int]) -> None:
        number = 0
        for index, count in enumerate(split_counts(total, len(self.days), None)):
            eligible = self._invoiceable(index)
            for _ in range(count):
                number += 1
                self.invoices.append(self._invoice(index, f"INV-{number:06d}", self.rng.choice(eligible),
                                                   self.rng.randint(*lines_per_invoice)))

    def _invoice(self, index: int, key: str, customer: str, n_lines: int) -> bad.InvoiceDraft:
        rng, fake = self.rng, self.fake
        issued = self.days[index] - timedelta(rng.choice(INVOICE_AGE_DAYS))
        due = issued + timedelta(int(self.current[customer]["PAY_TERMS_DAYS"]))
        lines, total, items = [], 0, self.sellable(index)
        for line_no in range(1, n_lines + 1):
            item = rng.choice(items)
            qty = rng.choices(QUANTITIES, QUANTITY_WEIGHTS)[0]
            total += qty * item.price_cents
            lines.append({"INV_NO": key, "LINE_NO": str(line_no), "ITEM_CODE": item.code,
                          "DESCRIPTION": item.description, "QTY": str(qty),
                          "UNIT_PRICE": money(item.price_cents),
                          "TAX_CODE": rng.choices(TAX_CODES, TAX_WEIGHTS)[0]})
        row = {"INV_NO": key, "CUST_NO": customer, "INV_DATE": issued.isoformat(), "DUE_DATE": due.isoformat(),
               "SO_REF": fake.so_ref(), "INV_TOTAL": money(total), "NOTES": fake.notes()}
        return bad.InvoiceDraft(self.labels[index], row, lines)

    def spoil_invoices_and_lines(self, quotas: dict[str, int]) -> None:
        kinds = [k for k in (*INVOICE_KINDS, "negative_line_amount") for _ in range(quotas[k])]
        if len(kinds) > len(self.invoices) // 2:
            raise ValueError("too few invoices for the bad records requested; lower bad_fraction")
        drafts = self.rng.sample(self.invoices, len(kinds))
        orphan_index = 0
        for kind, draft in zip(kinds, drafts, strict=True):
            if kind == "negative_line_amount":
                record = bad.spoil_line(draft, self.rng, lines_total_cents)
            else:
                record = bad.spoil_invoice(kind, draft, orphan_index, self.rng)
                orphan_index += kind == "orphan_invoice"
            self.summary.bad_records.append(record)
        for n in range(quotas["orphan_line"]):
            index = self.rng.randrange(len(self.days))
            row, record = bad.orphan_line(self.labels[index], n, self.rng.choice(self.sellable(index)), self.rng)
            self.orphan_lines[index].append(row)
            self.summary.bad_records.append(record)

    def invoice_taken_email_customer(self, rejected: set[str]) -> None:
        """Give the customer the target refuses two of the good invoices of its day or later: the target
        refuses them too (PARENT_REJECTED), and their lines with them (HEADER_REJECTED)."""
        if self.taken_email_customer is None:
            return
        index, key = self.taken_email_customer
        pool = [d for d in self.invoices if d.key not in rejected and self.index_of(d.day) >= index]
        drafts = sorted(self.rng.sample(pool, min(2, len(pool))), key=lambda d: d.key)
        cascade = []
        for draft in drafts:
            draft.row["CUST_NO"] = key
            cascade += [("invoices", draft.key), *draft.line_keys()]
        records = self.summary.bad_records
        position = next(i for i, r in enumerate(records) if r.kind == "email_taken_in_target")
        records[position] = replace(records[position], cascade=tuple(cascade))

    def _with_operations(self, index: int) -> list[Row]:
        """The day's customer rows, each saying what it does: a first export creates, a later one updates."""
        new = set(self.new_by_day[index])
        return [row if "CHANGE_TYPE" in row else {**row, "CHANGE_TYPE": "create" if row["CUST_NO"] in new
                                                  else "update"} for row in self.customer_rows[index]]

    @staticmethod
    def item_row(item: Item) -> Row:
        rng = random.Random(item.code)  # the same row for the same item, whatever was drawn before
        stocked = item.item_type == "inventory"
        return {"ITEM_CODE": item.code, "ITEM_NAME": item.description, "DESCRIPTION": "",
                "CATEGORY": item.category, "ITEM_TYPE": item.item_type, "UOM": item.unit_of_measure,
                "COST_PRICE": money(item.cost_cents), "SELL_PRICE": money(item.price_cents),
                "TAX_CODE": "SV" if item.item_type == "service" else "SST",
                "REORDER_LVL": str(rng.choice((10, 20, 50))) if stocked else "",
                "REORDER_QTY": str(rng.choice((50, 100, 200))) if stocked else "", "STATUS": "active"}

    # output
    def write(self, root: Path, books: Books, payables: Payables) -> GenerationSummary:
        by_day: dict[str, list[bad.InvoiceDraft]] = {label: [] for label in self.labels}
        for draft in self.invoices:
            by_day[draft.day].append(draft)
        summary = self.summary
        summary.root = str(root)
        for entity in ENTITIES:
            summary.files[entity], summary.rows[entity] = {}, {}
        for index, label in enumerate(self.labels):
            lines = [ln for draft in by_day[label] for ln in draft.lines]
            for orphan in self.orphan_lines[index]:
                lines.insert(self.rng.randrange(len(lines) + 1), orphan)
            items = [self.item_row(item) for item in self.catalogue if self.item_day[item.code] == index]
            outputs = {entity: [] for entity in ENTITIES}
            outputs.update(books.day_rows(index))
            outputs.update({"customers": self._with_operations(index), "items": items + outputs["items"],
                            "invoices": [draft.row for draft in by_day[label]], "invoice_line_items": lines,
                            "payables": payables.rows[index]})
            for entity in ENTITIES:
                rows = outputs[entity]
                rng = payables.rng if entity == "payables" else self.rng  # apart: see demo/payables.py
                summary.files[entity][label] = write_partition(root, entity, label, rows, rng)
                summary.rows[entity][label] = len(rows)
        return summary


def default_sizes(customers: int, days: int) -> dict[str, int]:
    """Sizes of the other entities for an export of ``customers`` (the demo's 3,000 give a few thousand)."""
    suppliers = max(12, customers // 20)
    return {"suppliers": suppliers, "bills": 4 * suppliers, "purchase_orders": 2 * suppliers,
            "item_receipts": 2 * suppliers, "journal_entries": max(12, customers // 10),
            "stock_adjustments": max(12, customers // 10), "payments": max(20, customers // 4),
            "new_items_per_day": max(2, customers // 300) if days > 1 else 1, "payables": max(20, customers // 5)}


def generate_export(
    root: Path,
    *,
    days: list[date] | None = None,
    start: date | None = None,
    n_days: int | None = None,
    customers: int,
    invoices_per_customer: float,
    lines_per_invoice: tuple[int, int],
    bad_fraction: float = 0.03,
    seed: int = 7,
    sizes: dict[str, int] | None = None,
) -> GenerationSummary:
    """Write a legacy export under ``root`` and return what it holds; the same seed gives the same bytes.

    Give either ``days`` or ``start`` and ``n_days``. About ``bad_fraction`` of each entity's records
    are (or cascade from) deliberately bad ones; see ``bad.bad_quotas`` and ``books.quota``. ``sizes``
    overrides ``default_sizes`` (suppliers, bills, purchase_orders, item_receipts, journal_entries,
    stock_adjustments, payments, new_items_per_day, payables). Every size is at least 1 but payables,
    which may be 0: an export without them, the others byte for byte as with them.
    """
    day_list = resolve_days(days, start, n_days)
    low, high = lines_per_invoice
    if not 1 <= low <= high:
        raise ValueError("lines_per_invoice must be (min, max) with 1 <= min <= max")
    if not 0 < customers < bad.MAX_GENERATED_KEYS or not 0 <= bad_fraction < 0.5:
        raise ValueError("customers must be in 1..899999 and bad_fraction in [0, 0.5)")
    n_invoices = round(customers * invoices_per_customer)
    if not 0 < n_invoices < bad.MAX_GENERATED_KEYS:
        raise ValueError("customers * invoices_per_customer must be in 1..899999")
    counts = {**default_sizes(customers, len(day_list)), **(sizes or {})}
    if min(n for size, n in counts.items() if size != "payables") < 1 or counts["payables"] < 0:
        raise ValueError(f"every size must be at least 1 (payables at least 0): {counts}")
    quotas = bad.bad_quotas(bad_fraction, customers, n_invoices)
    export = _Export(day_list, customers, seed, counts["new_items_per_day"])
    export.spoil_customers(quotas)
    export.add_reexports()
    export.add_invoices(n_invoices, (low, high))
    export.spoil_invoices_and_lines(quotas)
    books = Books(export, bad_fraction)

    def rejected(entity: str) -> set[str]:  # into BigLedger, the one system refusing more of these
        return set(export.summary.expected_rejects("bigledger")[entity])

    books.add_suppliers(counts["suppliers"])
    books.spoil_items()
    books.add_accounts()
    books.add_documents(BILLS, counts["bills"])
    books.add_entries(counts["journal_entries"])
    books.add_adjustments(counts["stock_adjustments"])
    export.invoice_taken_email_customer(rejected("invoices"))
    books.add_payments(counts["payments"], rejected)
    for documents in (PURCHASE_ORDERS, ITEM_RECEIPTS):  # last: the records before them stay as they were
        books.add_documents(documents, counts[documents.entity])
    export.add_deletes()  # drawn apart too: what was drawn before stays as it was
    payables = Payables(day_list, seed, bad_fraction, export.summary)  # drawn apart from the rest
    payables.add(counts["payables"])
    return export.write(Path(root), books, payables)

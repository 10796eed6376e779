"""The demo export generator: layout, determinism, counts, and that bad records are exactly the recorded ones."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import phonenumbers
import pytest
import yaml
from email_validator import EmailNotValidError, validate_email

from batch_orchestration.demo import BAD_KINDS, ENTITIES, GenerationSummary, generate_export, line_key
from batch_orchestration.demo.bad import is_iso_date
from batch_orchestration.demo.layout import FILE_PATTERN, Row
from batch_orchestration.demo.summary import DEMO_SYSTEMS

EMAIL = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
MAPPINGS = Path(__file__).resolve().parents[2] / "batch_orchestration" / "entities" / "mappings"
DAYS = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 4)]
SMALL = {"customers": 300, "invoices_per_customer": 4.0, "lines_per_invoice": (1, 4), "bad_fraction": 0.03,
         "sizes": {"suppliers": 60, "bills": 200, "journal_entries": 150, "stock_adjustments": 100, "payments": 200,
                   "purchase_orders": 100, "item_receipts": 100, "new_items_per_day": 4, "payables": 100}}

Export = dict[str, dict[str, list[Row]]]  # entity -> day -> rows


def read_partition_files(root: Path, entity: str) -> dict[str, list[Row]]:
    """day -> rows of every export file of an entity, in file order."""
    out: dict[str, list[Row]] = {}
    for folder in sorted(p for p in (root / entity).iterdir() if p.is_dir()):
        rows: list[Row] = []
        for path in sorted(folder.glob(FILE_PATTERN)):
            with path.open(encoding="utf-8", newline="") as handle:
                rows.extend(csv.DictReader(handle))
        out[folder.name] = rows
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary, Export]:
    root = tmp_path_factory.mktemp("export")
    summary = generate_export(root, days=DAYS, **SMALL)
    return root, summary, {entity: read_partition_files(root, entity) for entity in ENTITIES}


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}




def is_valid_email(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return bool(EMAIL.match(text))


def positive(text: str) -> bool:
    try:
        return Decimal(text) > 0
    except InvalidOperation:
        return False


def cents(row: Row) -> Decimal:
    return Decimal(row["QTY"]) * Decimal(row["UNIT_PRICE"])


def records_by_key(rows_by_day: dict[str, list[Row]], key: str) -> dict[str, tuple[str, Row]]:
    """key -> (day, row) of the first export of each record."""
    out: dict[str, tuple[str, Row]] = {}
    for day, rows in rows_by_day.items():
        for row in rows:
            out.setdefault(row[key], (day, row))
    return out


def customer_problems(row: Row) -> list[str]:
    problems = []
    if not row["CUST_NAME"].strip() or len(row["CUST_NAME"]) > 100:
        problems.append("name")
    if not is_valid_email(row["EMAIL_ADDR"]):
        problems.append("email")
    if Decimal(row["CREDIT_LIMIT"]) < 0:
        problems.append("credit")
    return problems


def lines_of(export: Export, entity: str, link: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for rows in export[entity].values():
        for row in rows:
            out[row[link]].append(row)
    return out


def amount(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text.strip() else None
    except InvalidOperation:
        return None


UNITS = {"pieces", "piece", "pcs", "unit", "units", "each", "ea", "box", "boxes", "carton", "pack", "set", "pair",
         "dozen", "roll", "kg", "g", "mg", "tonne", "lb", "oz", "l", "ml", "gal", "m", "cm", "mm", "km", "ft", "in",
         "m2", "m3", "hour", "hours", "day", "days", "month", "months", "service", "lot"}
PHONE = re.compile(r"\+[0-9][0-9 \-]*[0-9]")


def party_problems(row: Row, name_column: str) -> list[str]:
    problems = []
    if not row[name_column].strip():
        problems.append("name")
    if not is_valid_email(row["EMAIL_ADDR"]):
        problems.append("email")
    if Decimal(row["CREDIT_LIMIT"]) < 0:
        problems.append("credit")
    if not PHONE.fullmatch(row["PHONE_NO"]):
        problems.append("phone")
    if row["COUNTRY"] == "MY" and not re.fullmatch(r"\d{12}", row["TAX_REG_NO"]):
        problems.append("tax")
    return problems


def document_ok(row: Row, lines: list[Row], date_column: str, total_column: str, price_column: str,
                last_day: str, items: set[str]) -> bool:
    if not is_iso_date(row[date_column]) or row[date_column] > last_day or not lines:
        return False
    if not all(positive(ln["QTY"]) and positive(ln[price_column]) and ln["ITEM_CODE"].lower() in items
               for ln in lines):
        return False
    return sum(Decimal(ln["QTY"]) * Decimal(ln[price_column]) for ln in lines) == Decimal(row[total_column])


PAYABLE_STATUSES = ("draft", "open", "approved", "paid", "cancelled")


def payable_problems(row: Row, last_day: str) -> list[str]:
    """The pipeline's row rules for a voucher (Bulk Payables' own are in ``payables_rejects``)."""
    problems = []
    value = amount(row["AMOUNT"])
    if value is None or value == 0 or value.normalize().as_tuple().exponent < -4:
        problems.append("amount")
    if not (row["COLLAB_EMAIL"] or row["COLLAB_ID"] or row["COLLAB_REF"]):
        problems.append("collaborator")
    if row["COLLAB_EMAIL"] and not is_valid_email(row["COLLAB_EMAIL"]):
        problems.append("email")
    if row["STATUS"] not in PAYABLE_STATUSES or (row["STATUS"] == "paid") != bool(row["PAID_DATE"]):
        problems.append("status")
    if row["PAID_DATE"] and not (is_iso_date(row["PAID_DATE"]) and row["PAID_DATE"] <= last_day):
        problems.append("paid date")
    if row["DUE_DATE"] and not is_iso_date(row["DUE_DATE"]):
        problems.append("due date")
    return problems


def payables_rejects(rows_by_day: dict[str, list[Row]], collaborators: list[dict[str, str]] | None = None,
                     merge: bool = False) -> set[str]:
    """The vouchers the pipeline rejects; loaded into Bulk Payables, which holds ``collaborators``, also
    those it refuses: more than 2 decimals (held back, never sent), or a collaborator it cannot resolve
    by every identifier given. With ``merge`` (one payable per statement) a statement fails whole when
    one of its sent vouchers fails or they disagree on collaborator or status."""
    rows = [row for day_rows in rows_by_day.values() for row in day_rows]
    last_day = max(rows_by_day)
    rejected = {row["VOUCHER_NO"] for row in rows if payable_problems(row, last_day)}
    if collaborators is None:
        return rejected
    by_email = {c["email"].lower(): c["externalId"] for c in collaborators}
    known = set(by_email.values())

    def collaborator(row: Row) -> str | None:
        """The external id of the one collaborator the voucher names, or None."""
        named = {by_email.get(row["COLLAB_EMAIL"].lower()) if row["COLLAB_EMAIL"] else "",
                 (row["COLLAB_REF"] if row["COLLAB_REF"] in known else None) if row["COLLAB_REF"] else ""} - {""}
        return named.pop() if len(named) == 1 and not row["COLLAB_ID"] else None

    rejected |= {row["VOUCHER_NO"] for row in rows if amount(row["AMOUNT"]).normalize().as_tuple().exponent < -2}
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row["VOUCHER_NO"] not in rejected:
            groups[row["STATEMENT_NO"] if merge else row["VOUCHER_NO"]].append(row)
    for group in groups.values():
        named = {collaborator(row) for row in group}
        if None in named or len(named) > 1 or len({row["STATUS"] for row in group}) > 1:
            rejected.update(row["VOUCHER_NO"] for row in group)
    return rejected


def reference_rejects(export: Export, taken_emails: set[str] = frozenset(),
                      collaborators: list[dict[str, str]] | None = None, merge: bool = False,
                      keeps_deleted_customers: bool = False) -> dict[str, set[str]]:
    """An independent statement of the pipeline's and the target's rules: which keys must be rejected.

    Day by day in dependency order; ``good`` holds the records loaded so far (a reference to anything
    else rejects the record, whether the pipeline or the target refuses it). Codes the target holds
    are unique whatever their case, and a reference to one in another case names the same record; emails
    are unique whatever their case too, also against ``taken_emails`` (target-only records). Payables
    name nothing of the export: see ``payables_rejects`` (``collaborators`` and ``merge``). A customer row
    that deletes its record removes it, or is rejected where the target keeps it (``keeps_deleted_customers``).
    """
    rejected: dict[str, set[str]] = {entity: set() for entity in ENTITIES}
    good: dict[str, set[str]] = {entity: set() for entity in ENTITIES}
    emails = {e.lower() for e in taken_emails}
    codes: dict[str, set[str]] = {"items": set(), "accounts": set()}
    last_day = max(export["customers"])
    parts = {"invoices": lines_of(export, "invoice_line_items", "INV_NO"),
             "bills": lines_of(export, "bill_line_items", "BILL_NO"),
             "purchase_orders": lines_of(export, "purchase_order_lines", "PO_NO"),
             "item_receipts": lines_of(export, "item_receipt_lines", "GRN_NO"),
             "journal_entries": lines_of(export, "journal_entry_lines", "JE_NO")}

    def decide(entity: str, key: str, ok: bool) -> None:
        (good if ok else rejected)[entity].add(key)

    for day in sorted(export["customers"]):
        kept_today: set[str] = set()
        for row in export["customers"][day]:
            if row["CHANGE_TYPE"] == "delete":
                if keeps_deleted_customers:
                    rejected["customers"].add(row["CUST_NO"])
                good["customers"].discard(row["CUST_NO"])
                continue
            email = row["EMAIL_ADDR"].lower()
            ok = not party_problems(row, "CUST_NAME") and (email not in emails or row["CUST_NO"] in kept_today)
            if ok and email not in emails:
                emails.add(email)
                kept_today.add(row["CUST_NO"])
            decide("customers", row["CUST_NO"], ok or row["CUST_NO"] in good["customers"])
        for row in export["suppliers"][day]:
            decide("suppliers", row["SUPP_NO"], not party_problems(row, "SUPP_NAME"))
        for entity, key, check in (
            ("items", "ITEM_CODE", lambda r: r["UOM"] in UNITS and Decimal(r["SELL_PRICE"]) >= 0),
            ("accounts", "GL_CODE", lambda r: r["GL_TYPE"] in ("asset", "liability", "equity", "revenue", "expense")),
        ):
            for row in sorted(export[entity][day], key=lambda r: r[key]):
                ok = check(row) and row[key].lower() not in codes[entity]
                if ok:
                    codes[entity].add(row[key].lower())
                decide(entity, row[key], ok)
        for row in export["invoices"][day]:
            decide("invoices", row["INV_NO"], row["CUST_NO"] in good["customers"] and document_ok(
                row, parts["invoices"][row["INV_NO"]], "INV_DATE", "INV_TOTAL", "UNIT_PRICE", last_day,
                codes["items"]))
        for entity, key, date_column, total in (("bills", "BILL_NO", "BILL_DATE", "BILL_TOTAL"),
                                                ("purchase_orders", "PO_NO", "PO_DATE", "PO_TOTAL"),
                                                ("item_receipts", "GRN_NO", "GRN_DATE", "GRN_TOTAL")):
            for row in export[entity][day]:
                decide(entity, row[key], row["SUPP_NO"] in good["suppliers"] and document_ok(
                    row, parts[entity][row[key]], date_column, total, "UNIT_COST", last_day, codes["items"]))
        for row in export["journal_entries"][day]:
            lines = parts["journal_entries"][row["JE_NO"]]
            debits = [amount(ln["DEBIT"]) or Decimal(0) for ln in lines]
            credits = [amount(ln["CREDIT"]) or Decimal(0) for ln in lines]
            decide("journal_entries", row["JE_NO"], is_iso_date(row["JE_DATE"]) and len(lines) >= 2
                   and all((d > 0) != (c > 0) for d, c in zip(debits, credits, strict=True))
                   and all(ln["GL_CODE"].lower() in codes["accounts"] for ln in lines) and sum(debits) == sum(credits))
        for row in export["stock_adjustments"][day]:
            decide("stock_adjustments", row["ADJ_NO"], row["ADJ_TYPE"] in ("increase", "decrease")
                   and positive(row["QTY"]) and row["ITEM_CODE"].lower() in codes["items"]
                   and row["ADJ_DATE"] <= last_day)
        for row in export["payments"][day]:
            names = [(e, row[c]) for e, c in (("customers", "CUST_NO"), ("suppliers", "SUPP_NO"),
                                              ("invoices", "INV_NO"), ("bills", "BILL_NO")) if row[c]]
            decide("payments", row["RECEIPT_NO"], bool(row["CUST_NO"]) != bool(row["SUPP_NO"])
                   and positive(row["AMOUNT"]) and all(key in good[e] for e, key in names))
    for root, part in (("invoices", "invoice_line_items"), ("bills", "bill_line_items"),
                       ("journal_entries", "journal_entry_lines"), ("purchase_orders", "purchase_order_lines"),
                       ("item_receipts", "item_receipt_lines")):
        for key, lines in parts[root].items():
            if key not in good[root]:
                rejected[part].update(line_key(key, ln["LINE_NO"]) for ln in lines)
    rejected["payables"] = payables_rejects(export["payables"], collaborators, merge)
    return rejected


def target_emails(summary: GenerationSummary) -> set[str]:
    return {op["data"]["email"] for op in summary.target_records.get("customers", [])}


def system_reference(export: Export, summary: GenerationSummary, system: str, merge: bool = False
                     ) -> dict[str, set[str]]:
    """``reference_rejects`` loading into ``system``: BigLedger holds the target-only customer, Bulk
    Payables the collaborators; the others hold nothing before the migration."""
    return reference_rejects(export, target_emails(summary) if system == "bigledger" else frozenset(),
                             summary.collaborators if system == "payables" else None, merge,
                             keeps_deleted_customers=system == "ebill")


def test_same_seed_gives_identical_bytes_and_other_seeds_differ(tmp_path: Path) -> None:
    first = generate_export(tmp_path / "a", days=DAYS, **SMALL)
    second = generate_export(tmp_path / "b", days=DAYS, **SMALL)
    generate_export(tmp_path / "c", days=DAYS, **SMALL, seed=8)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    assert tree_bytes(tmp_path / "a") != tree_bytes(tmp_path / "c")
    assert first.to_json().replace(str(tmp_path / "a"), "") == second.to_json().replace(str(tmp_path / "b"), "")


def test_regenerating_into_the_same_root_leaves_no_stale_files(tmp_path: Path) -> None:
    generate_export(tmp_path, days=DAYS, **SMALL, seed=1)
    summary = generate_export(tmp_path, days=DAYS, **SMALL, seed=2)
    listed = {path for per_day in summary.files.values() for paths in per_day.values() for path in paths}
    assert set(tree_bytes(tmp_path)) == listed


def test_layout_is_entity_day_part_files(generated: tuple[Path, GenerationSummary, Export]) -> None:
    root, summary, _ = generated
    assert sorted(p.name for p in root.iterdir()) == sorted(ENTITIES)
    for entity in ENTITIES:
        assert sorted(p.name for p in (root / entity).iterdir()) == [d.isoformat() for d in DAYS]
        for day in DAYS:
            names = sorted(p.name for p in (root / entity / day.isoformat()).iterdir())
            assert names in (["export_part1.csv"], ["export_part1.csv", "export_part2.csv"])
            assert summary.files[entity][day.isoformat()] == [f"{entity}/{day}/{n}" for n in names]
    assert any(len(paths) == 2 for per_day in summary.files.values() for paths in per_day.values())


def test_every_file_has_exactly_the_legacy_columns(generated: tuple[Path, GenerationSummary, Export]) -> None:
    root, _, _ = generated
    for entity in ENTITIES:
        columns = list(yaml.safe_load((MAPPINGS / f"{entity}.yaml").read_text())["columns"].values())
        for path in (root / entity).rglob("*.csv"):
            assert path.read_text(encoding="utf-8").splitlines()[0].split(",") == columns, path


def test_summary_counts_match_the_files(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    for entity in ENTITIES:
        assert summary.rows[entity] == {day: len(rows) for day, rows in export[entity].items()}
        assert summary.totals[entity] == sum(len(rows) for rows in export[entity].values())
    assert sum(summary.new_customers.values()) == SMALL["customers"]
    assert summary.totals["invoices"] == SMALL["customers"] * SMALL["invoices_per_customer"]
    first_day = summary.new_customers[DAYS[0].isoformat()]
    assert first_day > max(list(summary.new_customers.values())[1:]) > 0  # most on day 1, some later
    assert all(summary.rows["invoices"].values())
    assert summary.totals["payables"] == SMALL["sizes"]["payables"]
    data = json.loads(summary.to_json())
    assert data["totals"] == summary.totals and data["bad_counts"] == summary.bad_counts
    assert data["collaborators"] == summary.collaborators
    assert set(data["expected_rejects"]) == set(DEMO_SYSTEMS)
    assert data["expected_rejects"]["ebill"] == summary.expected_rejects("ebill")


def test_every_bad_kind_is_present_and_rejected_exactly(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    assert set(summary.bad_counts) == set(BAD_KINDS)
    assert all(count >= 1 for count in summary.bad_counts.values()), summary.bad_counts
    keys = [(r.entity, r.key) for r in summary.bad_records]
    assert len(keys) == len(set(keys))
    for system in DEMO_SYSTEMS:
        expected = {entity: set(keys) for entity, keys in summary.expected_rejects(system).items()}
        assert expected == system_reference(export, summary, system), system
        assert all(expected[entity] for entity in ENTITIES)  # every entity has bad (or cascaded) records
        for entity in ("customers", "invoices", "suppliers", "items", "bills", "journal_entries",
                       "stock_adjustments", "payments", "purchase_orders", "item_receipts", "payables"):
            assert len(expected[entity]) <= 0.08 * summary.totals[entity], (system, entity)  # "a few per cent"
    # Every bad voucher is a statement of its own: the rejects do not depend on Bulk Payables' strategy.
    assert system_reference(export, summary, "payables", merge=True) == system_reference(export, summary, "payables")
    only_bulk_payables = set(summary.expected_rejects("payables")["payables"]) - set(
        summary.expected_rejects("bigledger")["payables"])
    assert only_bulk_payables == {r.key for r in summary.bad_records
                                  if r.kind in ("payable_unknown_collaborator", "payable_sub_cent_amount")}


def test_bad_customers_are_bad_in_the_recorded_way(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    customers = records_by_key(export["customers"], "CUST_NO")
    bad = summary.bad
    for key in bad["invalid_email"]["customers"]:
        assert not EMAIL.match(customers[key][1]["EMAIL_ADDR"]) and not is_valid_email(customers[key][1]["EMAIL_ADDR"])
    for key in bad["missing_customer_name"]["customers"]:
        assert not customers[key][1]["CUST_NAME"].strip()
    for key in bad["negative_credit_limit"]["customers"]:
        assert Decimal(customers[key][1]["CREDIT_LIMIT"]) < 0
    for key in bad["duplicate_email"]["customers"]:  # the second of a pair: the first, kept, is earlier
        day, row = customers[key]
        assert is_valid_email(row["EMAIL_ADDR"])
        firsts = [r["CUST_NO"] for r in export["customers"][day] if r["EMAIL_ADDR"] == row["EMAIL_ADDR"]]
        assert len(firsts) == 2 and firsts[1] == key and firsts[0] < key
    (taken,) = bad["email_taken_in_target"]["customers"]
    assert customers[taken][1]["EMAIL_ADDR"].lower() in {e.lower() for e in target_emails(summary)}
    assert customers[taken][1]["EMAIL_ADDR"] not in target_emails(summary)  # equal only ignoring case
    bad_keys = {r.key for r in summary.bad_records if r.entity == "customers"} - {taken}
    invoiced = {r["CUST_NO"] for rows in export["invoices"].values() for r in rows}
    assert not bad_keys & invoiced  # so no invoice is rejected because of a bad customer
    (record,) = (r for r in summary.bad_records if r.kind == "email_taken_in_target")
    cascaded = {entity for entity, _ in record.cascade}
    assert cascaded == {"invoices", "invoice_line_items", "payments"}  # refused at load, with all naming it


def test_bad_invoices_and_lines_are_bad_in_the_recorded_way(
    generated: tuple[Path, GenerationSummary, Export],
) -> None:
    _, summary, export = generated
    invoices = records_by_key(export["invoices"], "INV_NO")
    lines = {line_key(r["INV_NO"], r["LINE_NO"]): r for rows in export["invoice_line_items"].values() for r in rows}
    all_customers = {r["CUST_NO"] for rows in export["customers"].values() for r in rows}
    bad = {kind: keys for kind, by_entity in summary.bad.items() for keys in by_entity.values()}
    assert all(invoices[k][1]["CUST_NO"] not in all_customers for k in bad["orphan_invoice"])
    assert all(not is_iso_date(invoices[k][1]["INV_DATE"]) for k in bad["invalid_invoice_date"])
    assert all(date.fromisoformat(invoices[k][1]["INV_DATE"]) > date.today() for k in bad["future_invoice_date"])
    assert all(not any(lk.startswith(k + ":") for lk in lines) for k in bad["invoice_without_lines"])
    assert all(lines[k]["INV_NO"] not in invoices for k in bad["orphan_line"])
    for record in (r for r in summary.bad_records if r.kind == "negative_line_amount"):
        line = lines[record.key]
        assert Decimal(line["QTY"]) < 0 or Decimal(line["UNIT_PRICE"]) < 0
        siblings = {k for k, ln in lines.items() if ln["INV_NO"] == line["INV_NO"]} - {record.key}
        assert set(record.cascade) == {("invoices", line["INV_NO"])} | {("invoice_line_items", k) for k in siblings}
    for record in (r for r in summary.bad_records if r.kind in ("orphan_invoice", "invalid_invoice_date")):
        lines_cascaded = {key for entity, key in record.cascade if entity == "invoice_line_items"}
        assert lines_cascaded == {k for k, ln in lines.items() if ln["INV_NO"] == record.key}
        payments = {key for entity, key in record.cascade if entity == "payments"}
        assert {r["INV_NO"] for rows in export["payments"].values() for r in rows if r["RECEIPT_NO"] in payments} \
            <= {record.key}
    assert any(e == "payments" for r in summary.bad_records if r.kind == "invalid_invoice_date" for e, _ in r.cascade)


def test_good_records_look_valid(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    rejected = summary.expected_rejects("bigledger")
    emails: dict[str, str] = {}
    for rows in export["customers"].values():
        for row in (r for r in rows if r["CUST_NO"] not in rejected["customers"] and r["CHANGE_TYPE"] != "delete"):
            assert re.fullmatch(r"C\d{6}", row["CUST_NO"]) and not customer_problems(row)
            assert emails.setdefault(row["EMAIL_ADDR"], row["CUST_NO"]) == row["CUST_NO"]  # unique per company
            assert phonenumbers.is_valid_number(phonenumbers.parse(row["PHONE_NO"])), row
            assert row["COUNTRY"] in ("MY", "SG", "US") and row["STATUS"] in ("active", "inactive")
            assert row["PAY_TERMS_DAYS"] in ("0", "7", "14", "30", "45", "60")
            assert row["COUNTRY"] != "MY" or re.fullmatch(r"\d{12}", row["TAX_REG_NO"])
    lines_by_invoice: dict[str, list[Row]] = defaultdict(list)
    for day, rows in export["invoice_line_items"].items():
        for row in rows:
            lines_by_invoice[row["INV_NO"]].append({**row, "day": day})
    for day, rows in export["invoices"].items():
        for row in (r for r in rows if r["INV_NO"] not in rejected["invoices"]):
            issued, lines = date.fromisoformat(row["INV_DATE"]), lines_by_invoice[row["INV_NO"]]
            assert date.fromisoformat(day) - timedelta(2) <= issued <= date.fromisoformat(day)
            assert date.fromisoformat(row["DUE_DATE"]) >= issued
            assert [ln["LINE_NO"] for ln in lines] == [str(n) for n in range(1, len(lines) + 1)]
            assert {ln["day"] for ln in lines} == {day}
            assert sum(map(cents, lines)) == Decimal(row["INV_TOTAL"]) > 0
            assert all(ln["TAX_CODE"] in ("SST", "ZR", "ES") for ln in lines)


# entity -> (key column, [(column, entity it names, that entity's key column)])
REFERENCES = {
    "invoices": ("INV_NO", [("CUST_NO", "customers", "CUST_NO")]),
    "invoice_line_items": (None, [("ITEM_CODE", "items", "ITEM_CODE"), ("INV_NO", "invoices", "INV_NO")]),
    "bills": ("BILL_NO", [("SUPP_NO", "suppliers", "SUPP_NO")]),
    "bill_line_items": (None, [("ITEM_CODE", "items", "ITEM_CODE"), ("BILL_NO", "bills", "BILL_NO")]),
    "purchase_orders": ("PO_NO", [("SUPP_NO", "suppliers", "SUPP_NO")]),
    "purchase_order_lines": (None, [("ITEM_CODE", "items", "ITEM_CODE"), ("PO_NO", "purchase_orders", "PO_NO")]),
    "item_receipts": ("GRN_NO", [("SUPP_NO", "suppliers", "SUPP_NO")]),
    "item_receipt_lines": (None, [("ITEM_CODE", "items", "ITEM_CODE"), ("GRN_NO", "item_receipts", "GRN_NO")]),
    "journal_entry_lines": (None, [("GL_CODE", "accounts", "GL_CODE"), ("JE_NO", "journal_entries", "JE_NO")]),
    "stock_adjustments": ("ADJ_NO", [("ITEM_CODE", "items", "ITEM_CODE")]),
    "payments": ("RECEIPT_NO", [("CUST_NO", "customers", "CUST_NO"), ("SUPP_NO", "suppliers", "SUPP_NO"),
                                ("INV_NO", "invoices", "INV_NO"), ("BILL_NO", "bills", "BILL_NO")]),
}


def test_records_name_only_records_exported_on_their_day_or_earlier(
    generated: tuple[Path, GenerationSummary, Export],
) -> None:
    _, summary, export = generated
    rejected = {entity: set(keys) for entity, keys in summary.expected_rejects("bigledger").items()}
    folds_case = {"items", "accounts"}  # their codes name one record whatever the case

    def named(parent: str, key: str) -> str:
        return key.lower() if parent in folds_case else key

    # The day each good record is first exported, by the key a reference names it with.
    first_day: dict[str, dict[str, str]] = {}
    for entity, column in (("customers", "CUST_NO"), ("suppliers", "SUPP_NO"), ("items", "ITEM_CODE"),
                           ("accounts", "GL_CODE"), ("invoices", "INV_NO"), ("bills", "BILL_NO"),
                           ("journal_entries", "JE_NO"), ("purchase_orders", "PO_NO"), ("item_receipts", "GRN_NO")):
        days = first_day.setdefault(entity, {})
        for key, (day, _) in records_by_key(export[entity], column).items():
            if key not in rejected[entity]:
                days[named(entity, key)] = min(day, days.get(named(entity, key), day))
    checked = 0
    for entity, (key_column, references) in REFERENCES.items():
        for day, rows in export[entity].items():
            for row in rows:
                key = row[key_column] if key_column else line_key(row[references[-1][0]], row["LINE_NO"])
                if key in rejected[entity]:
                    continue
                for column, parent, _ in references:
                    if row[column]:  # a good record names only good records of its day or earlier
                        assert first_day[parent].get(named(parent, row[column]), "9999") <= day, (entity, key, column)
                        checked += 1
    assert checked > 1000


def test_other_entities_look_valid(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    rejected = {entity: set(keys) for entity, keys in summary.expected_rejects("bigledger").items()}
    items = [r for rows in export["items"].values() for r in rows if r["ITEM_CODE"] not in rejected["items"]]
    assert {r["ITEM_TYPE"] for r in items} == {"inventory", "service", "non-inventory"}
    assert len({r["CATEGORY"] for r in items}) >= 5 and all(r["UOM"] in UNITS for r in items)
    assert all(Decimal(r["SELL_PRICE"]) >= Decimal(r["COST_PRICE"]) > 0 for r in items)
    assert all(rows for day, rows in export["items"].items())  # new items on later days too
    accounts = [r for rows in export["accounts"].values() for r in rows if r["GL_CODE"] not in rejected["accounts"]]
    assert {r["GL_TYPE"] for r in accounts} == {"asset", "liability", "equity", "revenue", "expense"}
    assert {"1000", "1100", "2000", "4000", "5000"} <= {r["GL_CODE"] for r in accounts}
    entries = lines_of(export, "journal_entry_lines", "JE_NO")
    for key, lines in entries.items():
        if key not in rejected["journal_entries"]:
            assert len(lines) >= 2
            assert sum(Decimal(ln["DEBIT"] or 0) for ln in lines) == sum(Decimal(ln["CREDIT"] or 0) for ln in lines)
    adjustments = [r for rows in export["stock_adjustments"].values() for r in rows]
    assert {r["ADJ_TYPE"] for r in adjustments if r["ADJ_NO"] not in rejected["stock_adjustments"]} == \
        {"increase", "decrease"}
    assert {r["LOCATION"] for r in adjustments} <= {"WH-KL", "WH-PG", "WH-JB", "WH-KCH"}
    payments = [r for rows in export["payments"].values() for r in rows if r["RECEIPT_NO"] not in rejected["payments"]]
    assert all(bool(r["CUST_NO"]) != bool(r["SUPP_NO"]) for r in payments)
    assert any(r["INV_NO"] for r in payments) and any(r["BILL_NO"] for r in payments)


def test_names_exercise_quoting_and_utf8(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, _, export = generated
    names = [r["CUST_NAME"] for rows in export["customers"].values() for r in rows]
    assert any("," in n for n in names) and any(not n.isascii() or '"' in n for n in names)


def test_later_days_resend_changed_and_unchanged_customers_and_the_last_deletes_some(
    generated: tuple[Path, GenerationSummary, Export],
) -> None:
    _, summary, export = generated
    latest: dict[str, Row] = {}
    invoiced = {r["CUST_NO"] for rows in export["invoices"].values() for r in rows}
    for day, rows in export["customers"].items():
        updates, repeats = summary.customer_updates.get(day, {}), summary.customer_repeats.get(day, [])
        deletes = summary.customer_deletes.get(day, [])
        if day != DAYS[0].isoformat():
            assert updates and repeats and not set(updates) & set(repeats)
        assert bool(deletes) == (day == DAYS[-1].isoformat())
        for row in rows:
            key, record = row["CUST_NO"], {c: v for c, v in row.items() if c != "CHANGE_TYPE"}
            if key in deletes:
                assert row["CHANGE_TYPE"] == "delete" and not any(record[c] for c in record if c != "CUST_NO")
                assert key in latest and key not in invoiced  # known before, named by nothing
                continue
            if key in updates:
                changed = {c for c in record if record[c] != latest[key][c]}
                assert changed == {updates[key]} and row["CHANGE_TYPE"] == "update"
            elif key in repeats:
                assert record == latest[key] and row["CHANGE_TYPE"] == "update"
            else:
                assert key not in latest and row["CHANGE_TYPE"] == "create"  # first export
            latest[key] = record
        assert summary.new_customers[day] == len(rows) - len(updates) - len(repeats) - len(deletes)
    assert 1 <= len(summary.customer_deletes[DAYS[-1].isoformat()]) <= 0.05 * len(latest)


def test_no_bad_records_when_bad_fraction_is_zero(tmp_path: Path) -> None:
    summary = generate_export(tmp_path, start=date(2024, 1, 30), n_days=2, customers=40,
                              invoices_per_customer=2, lines_per_invoice=(1, 2), bad_fraction=0)
    assert summary.bad_records == [] and summary.days == ["2024-01-30", "2024-01-31"]
    export = {entity: read_partition_files(tmp_path, entity) for entity in ENTITIES}
    assert all(not keys for keys in reference_rejects(export).values())


@pytest.mark.parametrize("kwargs", [
    {"days": DAYS, "start": DAYS[0], "n_days": 2},
    {},
    {"days": [DAYS[1], DAYS[0]]},
    {"days": DAYS, "lines_per_invoice": (0, 2)},
    {"days": DAYS, "customers": 6},
    {"days": DAYS, "sizes": {**SMALL["sizes"], "payables": -1}},
    {"days": DAYS, "sizes": {**SMALL["sizes"], "payables": 8}},  # too few for one bad voucher of each kind
])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate_export(tmp_path, **{**SMALL, **kwargs})


def test_the_demo_size_generates_its_invoices_and_lines(tmp_path: Path) -> None:
    """Its counts only: how long it takes is a benchmark's business, not a test's (it failed on a busy machine)."""
    summary = generate_export(tmp_path, start=date(2024, 3, 1), n_days=3, customers=3000,
                              invoices_per_customer=6.67, lines_per_invoice=(2, 4))
    assert summary.totals["invoices"] == 20010 and 55_000 < summary.totals["invoice_line_items"] < 65_000


def test_the_demo_export_keeps_every_entity_and_day_under_the_reject_rate_threshold(tmp_path: Path) -> None:
    """The demo's blocking checks fail a day whose rejected share is over the default threshold (10 %):
    the bad records must be spread so that no entity's day of the default demo export reaches it, into
    whichever system the demo loads."""
    from batch_orchestration.demo.run import DemoOptions, generate_demo_export
    from batch_orchestration.entities.registry import ENTITIES as REGISTRY
    from batch_orchestration.ingest.mapping import load_mapping

    summary = generate_demo_export(DemoOptions(directory=tmp_path), tmp_path / "landing")
    assert all(summary.bad_counts.values()), summary.bad_counts
    rejected = {system: summary.expected_rejects(system) for system in DEMO_SYSTEMS}
    for entity in ENTITIES:
        columns = load_mapping(entity).columns
        spec = REGISTRY[entity]
        for day, rows in read_partition_files(tmp_path / "landing", entity).items():
            keys = [spec.source_key({f: row[columns[f]] for f in spec.key_fields}) for row in rows]
            for system, by_entity in rejected.items():
                share = sum(key in by_entity[entity] for key in keys) / len(keys)
                assert share <= 0.10, (system, entity, day, f"{share:.1%}")


def test_the_pipeline_tests_small_export_has_every_bad_kind(tmp_path: Path) -> None:
    from batch_orchestration_tests.orchestration.harness import small_export

    summary = small_export(tmp_path)
    assert all(summary.bad_counts.values()), summary.bad_counts
    assert summary.totals["payables"] == 40 and summary.collaborators


# -- payables ----------------------------------------------------------------------------------------


def statements_of(export: Export) -> dict[str, list[tuple[str, Row]]]:
    """statement key -> (day, row) of its vouchers."""
    out: dict[str, list[tuple[str, Row]]] = defaultdict(list)
    for day, rows in export["payables"].items():
        for row in rows:
            out[row["STATEMENT_NO"]].append((day, row))
    return out


def named_by(row: Row) -> str:
    return "+".join(name for name, column in (("email", "COLLAB_EMAIL"), ("id", "COLLAB_ID"), ("ref", "COLLAB_REF"))
                    if row[column]) or "nobody"


def test_payable_statements_hold_together(generated: tuple[Path, GenerationSummary, Export]) -> None:
    """A statement is what a Merge on ``statement_key`` makes one payable of: its vouchers agree on the
    collaborator (named the same way), day, status, due and paid date, and sum to a positive amount."""
    _, summary, export = generated
    bad = {r.key for r in summary.bad_records if r.entity == "payables"}
    statements = statements_of(export)
    vouchers = [row for rows in export["payables"].values() for row in rows]
    assert len({row["VOUCHER_NO"] for row in vouchers}) == len(vouchers)
    assert all(re.fullmatch(r"PV-\d{6}", row["VOUCHER_NO"]) and re.fullmatch(r"ST-\d{6}", row["STATEMENT_NO"])
               for row in vouchers)
    assert all(not row["COLLAB_ID"] for row in vouchers)  # the export cannot know the target's ids
    for key, members in statements.items():
        days = {day for day, _ in members}
        rows = [row for _, row in members]
        assert 1 <= len(rows) <= 4 and len(days) == 1, key
        agreeing = {(row["COLLAB_EMAIL"], row["COLLAB_REF"], row["STATUS"], row["DUE_DATE"], row["PAID_DATE"])
                    for row in rows}
        assert len(agreeing) == 1, key
        if bad & {row["VOUCHER_NO"] for row in rows}:
            assert len(rows) == 1, key  # a bad voucher is a statement of its own
            continue
        assert sum(Decimal(row["AMOUNT"]) for row in rows) > 0, key
        (day,) = days
        for row in rows:
            assert re.fullmatch(r"-?\d+\.\d{2}", row["AMOUNT"]) and Decimal(row["AMOUNT"]) != 0, row
            assert (row["STATUS"] == "paid") == bool(row["PAID_DATE"]), row
            assert not row["PAID_DATE"] or row["PAID_DATE"] <= day, row
            assert row["DUE_DATE"] > day and row["DESCRIPTION"], row
    good = [row for row in vouchers if row["VOUCHER_NO"] not in bad]
    assert {row["STATUS"] for row in good} == {"open", "approved", "draft", "paid"}
    assert 0.05 < sum(Decimal(row["AMOUNT"]) < 0 for row in good) / len(good) < 0.25  # deductions
    assert any(len(members) == 4 for members in statements.values())
    first_rows = [members[0][1] for key, members in statements.items()]
    ways = {way: sum(named_by(row) == way for row in first_rows) for way in ("email", "ref", "email+ref")}
    assert ways["email"] > ways["ref"] > 0 and ways["email+ref"] > 0, ways


def test_collaborators_are_a_directory_every_good_voucher_names(
    generated: tuple[Path, GenerationSummary, Export],
) -> None:
    _, summary, export = generated
    directory = summary.collaborators
    assert len(directory) == round(SMALL["sizes"]["payables"] / 3)
    assert [set(c) for c in directory] == [{"email", "name", "externalId"}] * len(directory)
    assert len({c["email"].lower() for c in directory}) == len({c["externalId"] for c in directory}) == len(directory)
    assert all(is_valid_email(c["email"]) and re.fullmatch(r"VND-\d{5}", c["externalId"]) and c["name"].strip()
               for c in directory)
    by_email = {c["email"]: c["externalId"] for c in directory}
    bad = {r.key for r in summary.bad_records if r.entity == "payables"}
    named = set()
    for rows in export["payables"].values():
        for row in (r for r in rows if r["VOUCHER_NO"] not in bad):
            refs = {by_email[row["COLLAB_EMAIL"]]} if row["COLLAB_EMAIL"] else set()
            refs |= {row["COLLAB_REF"]} if row["COLLAB_REF"] else set()
            assert len(refs) == 1 and refs <= set(by_email.values()), row
            named |= refs
    assert len(named) > len(directory) / 2  # the vouchers are spread over the directory


def test_bad_payables_are_bad_in_the_recorded_way(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    vouchers = {row["VOUCHER_NO"]: (day, row) for day, rows in export["payables"].items() for row in rows}
    emails = {c["email"].lower() for c in summary.collaborators}
    refs = {c["externalId"] for c in summary.collaborators}
    for record in (r for r in summary.bad_records if r.entity == "payables"):
        day, row = vouchers[record.key]
        assert record.day == day and not record.cascade
        assert not payable_problems(row, day) or record.kind in (
            "zero_payable_amount", "payable_without_collaborator", "paid_payable_without_date")
        if record.kind == "zero_payable_amount":
            assert Decimal(row["AMOUNT"]) == 0 and payable_problems(row, day) == ["amount"]
        elif record.kind == "payable_without_collaborator":
            assert payable_problems(row, day) == ["collaborator"]
        elif record.kind == "paid_payable_without_date":
            assert row["STATUS"] == "paid" and not row["PAID_DATE"] and payable_problems(row, day) == ["status"]
        elif record.kind == "payable_unknown_collaborator":
            assert row["COLLAB_EMAIL"] or row["COLLAB_REF"]
            assert row["COLLAB_EMAIL"].lower() not in emails and row["COLLAB_REF"] not in refs, row
        else:
            assert record.kind == "payable_sub_cent_amount"
            assert re.fullmatch(r"\d+\.\d{2}[1-9]", row["AMOUNT"]), row


def test_payables_leave_every_other_entity_byte_identical(tmp_path: Path) -> None:
    """Payables are drawn apart: with none, or with some, every other entity's files are the same bytes."""
    without = generate_export(tmp_path / "without", days=DAYS, **{**SMALL, "sizes": {**SMALL["sizes"], "payables": 0}})
    with_some = generate_export(tmp_path / "with", days=DAYS, **{**SMALL, "sizes": {**SMALL["sizes"], "payables": 40}})

    def others(root: Path) -> dict[str, bytes]:
        return {path: data for path, data in tree_bytes(root).items() if not path.startswith("payables/")}

    assert others(tmp_path / "without") == others(tmp_path / "with")
    assert [r for r in with_some.bad_records if r.entity != "payables"] == without.bad_records
    assert without.totals["payables"] == 0 and without.collaborators == []
    assert with_some.totals["payables"] == 40 and len(with_some.collaborators) == 13


def test_the_generate_command_prints_counts_and_keeps_the_whole_summary_beside_the_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from batch_orchestration.cli import app

    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal, and no width asked for: paths are not broken

    done = CliRunner().invoke(app, ["generate", str(tmp_path / "landing"), "--customers", "60", "--days", "2"])
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "landing_summary.json").read_text(encoding="utf-8"))
    assert len(done.output) < 4000 and "landing_summary.json" in done.output  # counts, not the whole JSON
    assert f"│ customers            │ {summary['totals']['customers']:>4} │" in done.output
    assert not list((tmp_path / "landing").glob("*.json"))  # nothing but the export in the landing root

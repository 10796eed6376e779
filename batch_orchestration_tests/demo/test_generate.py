"""The demo export generator: layout, determinism, counts, and that bad records are exactly the recorded ones."""

from __future__ import annotations

import csv
import json
import re
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import phonenumbers
import pytest
import yaml
from email_validator import EmailNotValidError, validate_email

from batch_orchestration.demo import BAD_KINDS, ENTITIES, GenerationSummary, generate_export, line_key
from batch_orchestration.demo.layout import FILE_PATTERN, Row

EMAIL = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
MAPPINGS = Path(__file__).resolve().parents[2] / "batch_orchestration" / "entities" / "mappings"
DAYS = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 4)]
SMALL = {"customers": 300, "invoices_per_customer": 4.0, "lines_per_invoice": (1, 4), "bad_fraction": 0.03}

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


def is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


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


def reference_rejects(export: Export) -> dict[str, set[str]]:
    """An independent statement of the target's rules: which keys must be rejected."""
    rejected: dict[str, set[str]] = {entity: set() for entity in ENTITIES}
    known: set[str] = set()  # good customers exported so far
    last_day = max(export["customers"])
    lines_by_invoice: dict[str, list[Row]] = defaultdict(list)
    for rows in export["invoice_line_items"].values():
        for row in rows:
            lines_by_invoice[row["INV_NO"]].append(row)
    for day in sorted(export["customers"]):
        by_email: dict[str, set[str]] = defaultdict(set)
        for row in export["customers"][day]:
            by_email[row["EMAIL_ADDR"]].add(row["CUST_NO"])
            if customer_problems(row):
                rejected["customers"].add(row["CUST_NO"])
        rejected["customers"].update(k for keys in by_email.values() if len(keys) > 1 for k in keys)
        known.update(r["CUST_NO"] for r in export["customers"][day] if r["CUST_NO"] not in rejected["customers"])
        for row in export["invoices"][day]:
            lines = lines_by_invoice[row["INV_NO"]]
            bad = (row["CUST_NO"] not in known or not is_iso_date(row["INV_DATE"])
                   or row["INV_DATE"] > last_day or not lines
                   or not all(positive(ln["QTY"]) and positive(ln["UNIT_PRICE"]) for ln in lines)
                   or sum(map(cents, lines)) != Decimal(row["INV_TOTAL"]))
            if bad:
                rejected["invoices"].add(row["INV_NO"])
    invoices = {r["INV_NO"] for rows in export["invoices"].values() for r in rows}
    for invoice_no, lines in lines_by_invoice.items():
        if invoice_no not in invoices or invoice_no in rejected["invoices"]:
            rejected["invoice_line_items"].update(line_key(invoice_no, ln["LINE_NO"]) for ln in lines)
    return rejected


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
    data = json.loads(summary.to_json())
    assert data["totals"] == summary.totals and data["bad_counts"] == summary.bad_counts


def test_every_bad_kind_is_present_and_rejected_exactly(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    assert set(summary.bad_counts) == set(BAD_KINDS)
    assert all(count >= 1 for count in summary.bad_counts.values()), summary.bad_counts
    keys = [(r.entity, r.key) for r in summary.bad_records]
    assert len(keys) == len(set(keys))
    expected = summary.expected_rejects()
    assert {entity: set(keys) for entity, keys in expected.items()} == reference_rejects(export)
    for entity, count in {"customers": 300, "invoices": 1200}.items():
        assert len(expected[entity]) <= 0.06 * count  # "a few per cent"


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
    shared = defaultdict(set)
    for key in bad["duplicate_email"]["customers"]:
        day, row = customers[key]
        assert is_valid_email(row["EMAIL_ADDR"])
        shared[day, row["EMAIL_ADDR"]].add(key)
    assert shared and all(len(keys) == 2 for keys in shared.values())
    bad_keys = {r.key for r in summary.bad_records if r.entity == "customers"}
    invoiced = {r["CUST_NO"] for rows in export["invoices"].values() for r in rows}
    assert not bad_keys & invoiced  # so no invoice is rejected because of a bad customer


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
        assert {key for _, key in record.cascade} == {k for k, ln in lines.items() if ln["INV_NO"] == record.key}


def test_good_records_look_valid(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, summary, export = generated
    rejected = summary.expected_rejects()
    emails: dict[str, str] = {}
    for rows in export["customers"].values():
        for row in (r for r in rows if r["CUST_NO"] not in rejected["customers"]):
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


def test_names_exercise_quoting_and_utf8(generated: tuple[Path, GenerationSummary, Export]) -> None:
    _, _, export = generated
    names = [r["CUST_NAME"] for rows in export["customers"].values() for r in rows]
    assert any("," in n for n in names) and any(not n.isascii() or '"' in n for n in names)


def test_later_days_resend_changed_and_unchanged_customers(
    generated: tuple[Path, GenerationSummary, Export],
) -> None:
    _, summary, export = generated
    latest: dict[str, Row] = {}
    for day, rows in export["customers"].items():
        updates, repeats = summary.customer_updates.get(day, {}), summary.customer_repeats.get(day, [])
        if day != DAYS[0].isoformat():
            assert updates and repeats and not set(updates) & set(repeats)
        for row in rows:
            key = row["CUST_NO"]
            if key in updates:
                changed = {c for c in row if row[c] != latest[key][c]}
                assert changed == {updates[key]}
            elif key in repeats:
                assert row == latest[key]
            else:
                assert key not in latest  # first export
            latest[key] = row
        assert summary.new_customers[day] == len(rows) - len(updates) - len(repeats)


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
])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate_export(tmp_path, **{**SMALL, **kwargs})


def test_demo_size_generates_in_a_few_seconds(tmp_path: Path) -> None:
    started = time.perf_counter()
    summary = generate_export(tmp_path, start=date(2024, 3, 1), n_days=3, customers=3000,
                              invoices_per_customer=6.67, lines_per_invoice=(2, 4))
    elapsed = time.perf_counter() - started
    assert summary.totals["invoices"] == 20010 and 55_000 < summary.totals["invoice_line_items"] < 65_000
    assert elapsed < 10, f"took {elapsed:.1f}s"

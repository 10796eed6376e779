"""Rule parity: for every edge case, the pipeline's validation and the target's ``validateOnly`` agree.

The pipeline and the sandbox state the row rules independently (the sandbox stands in for a third
party); this test is what keeps the two statements in line. Each case is a legacy CSV row, staged,
validated (row rules and set rules, on both warehouse backends) and then sent to the sandbox with
``validateOnly``: a record the pipeline keeps is sent as the loader would send it (its validated row
through ``targets/bigledger/payloads.py``), a record it refuses is sent as it stands in the export
(stripped text, numbers as JSON numbers where the text is one), so the target says whether refusing
it held back something it would have taken. Refusals only the target can make (an email it already
holds) are out of scope.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from batch_orchestration.entities.registry import CUSTOMERS, INVOICE_LINE_ITEMS, INVOICES, EntitySpec
from batch_orchestration.ingest.landing import LocalLandingZone
from batch_orchestration.ingest.mapping import load_mapping
from batch_orchestration.orchestration.stages import stage_day, validate_day
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets.bigledger.connector import BigLedgerConnector, BigLedgerSettings
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.backend import quote_identifier
from batch_orchestration.warehouse.schema import ensure_schema, staged_table, validated_table

DAY = "2024-03-01"
TODAY = datetime.now(UTC).date()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()
BASE_CUSTOMER = "C-BASE"  # created for real in the target, so every invoice's customer resolves
UNKNOWN_CUSTOMER = "C-NOPE"  # in neither system
# Digits and letters that are not ASCII but look (or upper-case) like it.
ARABIC_INDIC = {ord("0") + d: 0x0660 + d for d in range(10)}
FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789ABC"}
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
NUMERIC_FIELDS = {"credit_limit", "payment_terms", "total_amount", "quantity", "unit_price"}


@dataclass
class Case:
    """One record of the export; ``lines`` are an invoice's line items (canonical field -> text)."""

    name: str
    row: dict[str, str]
    lines: list[dict[str, str]] = field(default_factory=list)


def email_of(length: int) -> str:
    """A well-formed address of exactly ``length`` characters."""
    local, tail = "a" * 64, ".example.com"
    middle = length - len(local) - 1 - len(tail)
    labels = ["b" * 60] * (middle // 61)
    rest = middle - 61 * len(labels)
    return f"{local}@{'.'.join([*labels, 'c' * rest] if rest else labels)}{tail}"


def customer_cases() -> list[Case]:
    """Name, email, phone, tax number per country, credit limit, payment terms, status, address."""
    changes: list[tuple[str, dict[str, str]]] = [
        ("ordinary customer", {}),
        ("name blank", {"name": "   "}),
        ("name 100 chars", {"name": "x" * 100}),
        ("name 101 chars", {"name": "x" * 101}),
        ("name 100 accented chars", {"name": "é" * 100}),
        ("name 101 accented chars", {"name": "é" * 101}),
        ("name 100 code points with combining accents", {"name": "e\u0301" * 50}),
        ("name 100 CJK chars", {"name": "株" * 100}),
        ("name 100 emoji", {"name": "😀" * 100}),
        ("name with surrounding blanks", {"name": "  Kedai Runcit Ah Meng  "}),
        ("email upper case", {"email": "Billing@ACME-Trading.COM"}),
        ("email plus tag", {"email": "billing+ar@acme.com.my"}),
        ("email apostrophe", {"email": "o'brien@acme.com"}),
        ("email RFC 5322 specials in local part", {"email": "a!#$%&*/=?^`{|}~b@acme.com"}),
        ("email consecutive dots in local part", {"email": "a..b@acme.com"}),
        ("email accented local part", {"email": "josé@acme.com"}),
        ("email IDN domain", {"email": "billing@exämple.com"}),
        ("email fullwidth at sign", {"email": "billing\uff20acme.com"}),
        ("email punycode TLD", {"email": "billing@acme.xn--p1ai"}),
        ("email one-letter TLD", {"email": "billing@acme.c"}),
        ("email digit in TLD", {"email": "billing@acme.c0"}),
        ("email no TLD", {"email": "billing@acme"}),
        ("email label starts with hyphen", {"email": "billing@-acme.com"}),
        ("email trailing dot", {"email": "billing@acme.com."}),
        ("email two @", {"email": "billing@@acme.com"}),
        ("email inner space", {"email": "bill ing@acme.com"}),
        ("email no local part", {"email": "@acme.com"}),
        ("email 254 chars", {"email": email_of(254)}),
        ("email 255 chars", {"email": email_of(255)}),
        ("email duplicate: first", {"email": "dup@acme.com"}),
        ("email duplicate: second, other case", {"email": "DUP@Acme.COM"}),
        ("phone international", {"phone": "+60123456789"}),
        ("phone spaces and dashes", {"phone": "+60 12-345 6789"}),
        ("phone national, no plus", {"phone": "0123456789"}),
        ("phone 6 digits", {"phone": "+123456"}),
        ("phone 7 digits", {"phone": "+1234567"}),
        ("phone 15 digits", {"phone": "+123456789012345"}),
        ("phone 16 digits", {"phone": "+1234567890123456"}),
        ("phone letters", {"phone": "+6012abc6789"}),
        ("phone parentheses", {"phone": "+60 (3) 8765 4321"}),
        ("phone trailing dash", {"phone": "+60 12-345 6789-"}),
        ("phone double plus", {"phone": "++60123456789"}),
        ("phone space after plus", {"phone": "+ 60123456789"}),
        ("phone 30 chars", {"phone": "+6 0 1 2 3 4 5 6 7 8 9 0 1 2 3"}),
        ("phone 31 chars", {"phone": "+1" + "-" * 23 + "234567"}),
        ("phone Arabic-Indic digits", {"phone": "+" + "60123456789".translate(ARABIC_INDIC)}),
        ("phone fullwidth digits", {"phone": "+" + "60123456789".translate(FULLWIDTH)}),
        ("MY tax 12 digits", {"tax_number": "123456789012"}),
        ("MY tax 12 digits, country blank (MY by default)", {"tax_number": "123456789012", "country": ""}),
        ("MY tax LHDN TIN, one letter", {"tax_number": "C20880050010"}),
        ("MY tax LHDN TIN, two letters", {"tax_number": "IG12345678901"}),
        ("MY tax LHDN TIN, lower case", {"tax_number": "c20880050010"}),
        ("MY tax with dashes", {"tax_number": "1234-5678-9012"}),
        ("MY tax with spaces", {"tax_number": "1234 5678 9012"}),
        ("MY tax 11 digits", {"tax_number": "12345678901"}),
        ("MY tax 13 digits", {"tax_number": "1234567890123"}),
        ("MY tax TIN 7 digits", {"tax_number": "C2088005"}),
        ("MY tax TIN three letters", {"tax_number": "ABC12345678"}),
        ("MY tax over 20 chars with dashes", {"tax_number": "1-2-3-4-5-6-7-8-9-0-1-2"}),
        ("MY tax Arabic-Indic digits", {"tax_number": "123456789012".translate(ARABIC_INDIC)}),
        ("MY tax fullwidth digits", {"tax_number": "123456789012".translate(FULLWIDTH)}),
        ("country lower case", {"country": "my", "tax_number": "123456789012"}),
        ("country name, not code", {"country": "Malaysia"}),
        ("country with a digit", {"country": "M1"}),
        ("US tax EIN", {"country": "US", "tax_number": "12-3456789"}),
        ("US tax with dots", {"country": "US", "tax_number": "12.345.678"}),
        ("US tax with spaces", {"country": "US", "tax_number": "123 45 6789"}),
        ("US tax 4 chars", {"country": "US", "tax_number": "1234"}),
        ("US tax 5 chars after removing a dash", {"country": "US", "tax_number": "AB-123"}),
        ("US tax 4 chars after removing a dash", {"country": "US", "tax_number": "AB-12"}),
        ("SG tax UEN", {"country": "SG", "tax_number": "200912345K"}),
        ("GB tax 20 chars", {"country": "GB", "tax_number": "GB" + "1" * 18}),
        ("GB tax 21 chars", {"country": "GB", "tax_number": "GB" + "1" * 19}),
        ("GB tax sharp s (upper-cases to SS)", {"country": "GB", "tax_number": "ßßßßß"}),
        ("GB tax fullwidth", {"country": "GB", "tax_number": "ABC12".translate(FULLWIDTH)}),
        ("credit limit zero", {"credit_limit": "0"}),
        ("credit limit minus zero", {"credit_limit": "-0"}),
        ("credit limit negative cent", {"credit_limit": "-0.01"}),
        ("credit limit thousands separator", {"credit_limit": "1,000.50"}),
        ("credit limit exponent", {"credit_limit": "1e3"}),
        ("credit limit many decimals", {"credit_limit": "100.1234"}),
        ("credit limit text", {"credit_limit": "ten"}),
        ("credit limit NaN", {"credit_limit": "NaN"}),
        ("payment terms zero", {"payment_terms": "0"}),
        ("payment terms negative", {"payment_terms": "-1"}),
        ("payment terms 400 days", {"payment_terms": "400"}),
        ("payment terms fractional", {"payment_terms": "30.5"}),
        ("status inactive", {"status": "inactive"}),
        ("status capitalised", {"status": "Active"}),
        ("status upper case", {"status": "INACTIVE"}),
        ("status unknown", {"status": "archived"}),
        ("street 200 chars", {"street": "s" * 200}),
        ("street 201 chars", {"street": "s" * 201}),
        ("city 201 chars", {"city": "c" * 201}),
        ("state 201 chars", {"state": "t" * 201}),
        ("postcode 201 chars", {"postal_code": "9" * 201}),
    ]
    cases = [Case("base customer", {"customer_key": BASE_CUSTOMER, "name": "Base Customer Sdn Bhd"})]
    for index, (name, change) in enumerate(changes):
        row = {"customer_key": f"C{index:03d}", "name": "Syarikat Maju Jaya Sdn Bhd",
               "email": f"case{index}@maju-jaya.com.my", "country": "MY", "credit_limit": "5000.00",
               "payment_terms": "30", "status": "active", **change}
        cases.append(Case(name, row))
    return cases


def line(quantity: str, unit_price: str, **fields: str) -> dict[str, str]:
    return {"description": "Professional Services", "quantity": quantity, "unit_price": unit_price,
            "tax_code": "SST", **fields}


def invoice_cases() -> list[Case]:
    """Dates (incl. future and due before issue), lengths, amounts and the total against its lines."""
    one = [line("3", "50.00")]  # 150.00
    changes: list[tuple[str, dict[str, str], list[dict[str, str]]]] = [
        ("ordinary invoice", {}, one),
        ("invoice dated today", {"invoice_date": TODAY.isoformat(), "due_date": ""}, one),
        ("invoice dated tomorrow", {"invoice_date": TOMORROW, "due_date": ""}, one),
        ("invoice date Feb 30", {"invoice_date": "2024-02-30"}, one),
        ("invoice date day first", {"invoice_date": "01/03/2024"}, one),
        ("invoice date ISO basic format", {"invoice_date": "20240301"}, one),
        ("invoice date ISO week date", {"invoice_date": "2024-W09-5"}, one),
        ("invoice date fullwidth digits", {"invoice_date": "2024-03-01".translate(FULLWIDTH)}, one),
        ("due date before invoice date", {"due_date": "2024-02-01"}, one),
        ("due date equal to invoice date", {"due_date": DAY}, one),
        ("due date far ahead", {"due_date": "2099-12-31"}, one),
        ("due date impossible", {"due_date": "2024-04-31"}, one),
        ("customer unknown", {"customer_key": UNKNOWN_CUSTOMER}, one),
        ("reference 100 chars", {"reference": "r" * 100}, one),
        ("reference 101 chars", {"reference": "r" * 101}, one),
        ("notes 2000 chars", {"notes": "n" * 2000}, one),
        ("notes 2001 chars", {"notes": "n" * 2001}, one),
        ("notes unicode", {"notes": "Bayaran melalui FPX, terima kasih — 谢谢 😀"}, one),
        ("total zero", {"total_amount": "0"}, one),
        ("total negative", {"total_amount": "-150.00"}, one),
        ("total text", {"total_amount": "150,00 RM"}, one),
        ("total 0.004 over the lines", {"total_amount": "150.004"}, one),
        ("total 0.01 over the lines (inclusive)", {"total_amount": "150.01"}, one),
        ("total 0.01 under the lines (inclusive)", {"total_amount": "149.99"}, one),
        ("total 0.0101 over the lines", {"total_amount": "150.0101"}, one),
        ("total 100.01 against lines of 100.00", {"total_amount": "100.01"}, [line("1", "100.00")]),
        ("total 0.30 against 3 x 0.10", {"total_amount": "0.30"}, [line("3", "0.10")]),
        ("lines not rounded per line", {"total_amount": "1.01"},
         [line("1", "0.3333"), line("1", "0.3333"), line("1", "0.3333")]),
        ("line amounts with four decimals", {"total_amount": "1.00"}, [line("0.3333", "3")]),
        ("line quantity zero", {"total_amount": "0"}, [line("0", "50.00")]),
        ("line negative price, total balances", {"total_amount": "100.00"},
         [line("3", "50.00"), line("1", "-50.00")]),
        ("line quantity text", {}, [line("three", "50.00")]),
        ("no lines", {}, []),
        ("line description 500 chars", {}, [line("3", "50.00", description="d" * 500)]),
        ("line description 501 chars", {}, [line("3", "50.00", description="d" * 501)]),
        ("line description unicode 500 chars", {}, [line("3", "50.00", description="é" * 500)]),
        ("line without description uses its item code", {}, [line("3", "50.00", description="",
                                                                   item_code="SKU-10001")]),
        ("line with neither description nor item code", {}, [line("3", "50.00", description="")]),
        ("line item code 501 chars as the description", {},
         [line("3", "50.00", description="", item_code="k" * 501)]),
        ("line item code 501 chars beside a description", {}, [line("3", "50.00", item_code="k" * 501)]),
        ("line tax code 20 chars", {}, [line("3", "50.00", tax_code="T" * 20)]),
        ("line tax code 21 chars", {}, [line("3", "50.00", tax_code="T" * 21)]),
    ]
    cases = []
    for index, (name, change, lines) in enumerate(changes):
        row = {"invoice_key": f"INV-{index:03d}", "customer_key": BASE_CUSTOMER, "invoice_date": DAY,
               "due_date": "2024-03-31", "reference": f"SO-{index:03d}", "total_amount": "150.00",
               "notes": "", **change}
        cases.append(Case(name, row, [{"invoice_key": row["invoice_key"], "line_number": str(number), **ln}
                                      for number, ln in enumerate(lines, start=1)]))
    return cases


def write_export(root: Path, entity: EntitySpec, rows: list[dict[str, str]]) -> None:
    """One legacy CSV file for the day, with the entity's legacy column names."""
    columns = load_mapping(entity.name).columns
    folder = root / entity.name / DAY
    folder.mkdir(parents=True)
    with (folder / "export_part1.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns.values()))
        writer.writeheader()
        writer.writerows({columns[name]: value for name, value in row.items()} for row in rows)


def as_exported(row: dict[str, Any], entity: EntitySpec) -> dict[str, Any]:
    """A staged row as the target would get it unvalidated: text, numbers where the text is one."""
    record: dict[str, Any] = dict.fromkeys(entity.fields)
    for name, value in row.items():
        if name in record and value is not None:
            record[name] = json.loads(value) if name in NUMERIC_FIELDS and NUMBER.fullmatch(value) else value
    return record


def read_day(warehouse: Any, table: str) -> list[dict[str, Any]]:
    with warehouse.session() as session:
        frame = session.fetch_df(f"SELECT * FROM {quote_identifier(table)} WHERE partition_day = ? "
                                 "ORDER BY source_row", (DAY,))
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@dataclass
class PipelineSide:
    """What the pipeline did with the day: kept records and rejects by source key, staged rows as sent."""

    valid: dict[str, dict[str, list[dict[str, Any]]]]
    staged: dict[str, dict[str, list[dict[str, Any]]]]
    reject_codes: dict[tuple[str, str], list[str]]


def run_pipeline(root: Path, warehouse_url: str) -> PipelineSide:
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    zone = LocalLandingZone(root)
    reject_codes: dict[tuple[str, str], list[str]] = {}
    valid: dict[str, dict[str, list[dict[str, Any]]]] = {}
    staged: dict[str, dict[str, list[dict[str, Any]]]] = {}
    entities = (CUSTOMERS, INVOICES, INVOICE_LINE_ITEMS)
    for entity in entities:
        stage_day(warehouse, zone, entity, DAY)
    for entity in entities:
        for reject in validate_day(warehouse, entity, DAY).rejects:
            reject_codes.setdefault((entity.name, str(reject.source_key).split("/")[0]), []).append(reject.code)
        # Grouped by the record's own key, or for line items by their invoice.
        group = entity.key_fields[0]
        for target, table in ((valid, validated_table(entity.name)), (staged, staged_table(entity.name))):
            rows = target.setdefault(entity.name, {})
            for row in read_day(warehouse, table):
                rows.setdefault(row[group], []).append(row)
    return PipelineSide(valid, staged, reject_codes)


def validate_only(connector: BigLedgerConnector, entity: str, payloads: list[dict[str, Any]],
                  commit: bool = False) -> list[dict[str, Any]]:
    body = {"operations": [{"operation": "create", "referenceId": f"case_{i}", "data": data}
                           for i, data in enumerate(payloads)],
            "options": {"continueOnError": True, "validateOnly": not commit}}
    response = connector.http.post_batch(f"/v1/batch/{entity}", body, large=len(payloads) > 100)
    return response["data"]["results"]


def describe(kept: bool, codes: list[str]) -> str:
    return "accepts" if kept else f"refuses ({', '.join(codes) or '?'})"


def target_codes(result: dict[str, Any]) -> list[str]:
    error = result.get("error") or {}
    return [detail["code"] for detail in error.get("details") or []] or [error.get("code", "?")]


def test_pipeline_and_target_give_every_case_the_same_verdict(
    tmp_path: Path, warehouse_url: str, sandbox: RunningSandbox
) -> None:
    customers, invoices = customer_cases(), invoice_cases()
    write_export(tmp_path, CUSTOMERS, [case.row for case in customers])
    write_export(tmp_path, INVOICES, [case.row for case in invoices])
    write_export(tmp_path, INVOICE_LINE_ITEMS, [ln for case in invoices for ln in case.lines])
    pipeline = run_pipeline(tmp_path, warehouse_url)
    connector = BigLedgerConnector(BigLedgerSettings(
        base_url=sandbox.url, company_id=DEMO_COMPANY, api_key=DEMO_API_KEY,
        rate_window_seconds=sandbox.config.window_seconds, rate_state_path=tmp_path / "rate.sqlite"))

    def payload(entity: EntitySpec, key: str, parent_ids: dict[str, dict[str, str]]) -> tuple[bool, dict[str, Any]]:
        """(kept by the pipeline, the data the target gets)."""
        kept = pipeline.valid[entity.name].get(key)
        if kept:
            lines = pipeline.valid["invoice_line_items"].get(key, [])
            return True, connector.record_data(entity.name, kept[0], parent_ids, lines)
        [row] = pipeline.staged[entity.name][key]
        lines = [as_exported(ln, INVOICE_LINE_ITEMS) for ln in pipeline.staged["invoice_line_items"].get(key, [])]
        return False, connector.record_data(entity.name, as_exported(row, entity), parent_ids, lines)

    kept_base, base_data = payload(CUSTOMERS, BASE_CUSTOMER, {})
    assert kept_base
    [created] = validate_only(connector, "customers", [base_data], commit=True)
    assert created["success"], created
    parent_ids = {"customers": {BASE_CUSTOMER: created["data"]["id"], UNKNOWN_CUSTOMER: "cust_000000000000"}}

    mismatches = []
    for entity, cases in ((CUSTOMERS, customers), (INVOICES, invoices)):
        keys = [case.row[entity.key_fields[0]] for case in cases]
        sent = [payload(entity, key, parent_ids) for key in keys]
        results = validate_only(connector, entity.name, [data for _, data in sent])
        for case, key, (kept, _), result in zip(cases, keys, sent, results, strict=True):
            if kept != result["success"]:
                pipeline_codes = [code for name in (entity.name, "invoice_line_items")
                                  for code in pipeline.reject_codes.get((name, key), [])]
                mismatches.append(f"{entity.name} {case.name!r}: pipeline {describe(kept, pipeline_codes)}, "
                                  f"target {describe(result['success'], target_codes(result))}")
    assert not mismatches, f"{len(mismatches)} verdicts differ:\n" + "\n".join(mismatches)

"""A European export (cp1252, ';', dd/mm/yyyy, 5.000,00) staged and validated on both warehouses."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from batch_orchestration.entities.registry import ENTITIES, units
from batch_orchestration.ingest.landing import LocalLandingZone
from batch_orchestration.ingest.mapping import MAPPINGS_DIR, MAPPINGS_DIR_ENV
from batch_orchestration.orchestration.stages import stage_day
from batch_orchestration.validate.unit import validate_unit
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.schema import ensure_schema
from batch_orchestration_tests.validate.day_rejects import day_rejects

DAY = "2024-03-01"
FORMATS = {"encoding": "cp1252", "delimiter": ";", "date": "%d/%m/%Y", "decimal": ",", "thousands": "."}
DUE_DATE = {"due_date": {"date": "%Y%m%d"}}
EXPORT = {
    "customers": ["CUST_NO;CUST_NAME;CREDIT_LIMIT", "C1;Café Élan, Fils;1.234.567,5", "C2;Société Générale;5.000"],
    "invoices": ["INV_NO;CUST_NO;INV_DATE;DUE_DATE;INV_TOTAL",
                 "F1;C1;15/02/2024;20240315;5.000,00",
                 "F2;C2;29/02/2024;;1.234,56",
                 "F3;C1;15/02/2024;;5,000.00",  # US notation under a European declaration
                 "F4;C1;31/02/2024;;10,00"],  # no such day
    "invoice_line_items": ["INV_NO;LINE_NO;DESCRIPTION;QTY;UNIT_PRICE",
                           "F1;1;Thé vert;2,5;2.000,00",
                           "F2;1;Crème;1;1.234,56",
                           "F3;1;Pâte;1;5.000,00",
                           "F4;1;Sirop;1;10,00"],
}


def _declare_european_mappings(folder: Path) -> None:
    """The packaged mappings with the European formats, as an installation would write its own."""
    folder.mkdir()
    for entity in ENTITIES:
        document = yaml.safe_load((MAPPINGS_DIR / f"{entity}.yaml").read_text(encoding="utf-8"))
        document["formats"] = {**FORMATS, "columns": DUE_DATE if entity == "invoices" else {}}
        (folder / f"{entity}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def _write_export(root: Path) -> None:
    for entity, lines in EXPORT.items():
        folder = root / entity / DAY
        folder.mkdir(parents=True)
        (folder / "export.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def test_a_european_export_is_staged_as_written_and_validated_exactly(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _declare_european_mappings(tmp_path / "mappings")
    monkeypatch.setenv(MAPPINGS_DIR_ENV, str(tmp_path / "mappings"))
    _write_export(tmp_path / "landing")
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    zone = LocalLandingZone(tmp_path / "landing")
    for entity in ENTITIES.values():
        assert stage_day(warehouse, zone, entity, DAY).rejects == []
    rejects = {name: day_rejects(warehouse, name, DAY)
               for root in units() for name in validate_unit(warehouse, root, DAY)}

    assert rejects["customers"] == []
    by_invoice = {r.source_key: (r.code, r.message) for r in rejects["invoices"]}
    assert by_invoice == {
        "F3": ("INVALID_NUMBER", "total_amount: Not a number in the declared format (decimal ',', thousands '.'): "
                                 "5,000.00"),
        "F4": ("INVALID_DATE", "invoice_date: Not a date in the declared format %d/%m/%Y: 31/02/2024"),
    }
    assert sorted((r.source_key, r.code) for r in rejects["invoice_line_items"]) == [
        ("F3/1", "HEADER_NOT_VALID"), ("F4/1", "HEADER_NOT_VALID")]

    with warehouse.session() as session:
        customers = {row[0]: row[1:] for row in session.fetch_all(
            "SELECT customer_key, name, credit_limit FROM validated_customers")}
        invoices = {row[0]: row[1:] for row in session.fetch_all(
            "SELECT invoice_key, invoice_date, due_date, total_amount FROM validated_invoices")}
        lines = {row[0]: row[1:] for row in session.fetch_all(
            "SELECT invoice_key, quantity, unit_price FROM validated_invoice_line_items")}
        staged_totals = dict(session.fetch_all("SELECT invoice_key, total_amount FROM staged_invoices"))
    assert customers == {"C1": ("Café Élan, Fils", Decimal("1234567.5")), "C2": ("Société Générale", Decimal("5000"))}
    assert invoices == {"F1": ("2024-02-15", "2024-03-15", Decimal("5000.00")),
                        "F2": ("2024-02-29", None, Decimal("1234.56"))}
    assert lines == {"F1": (Decimal("2.5"), Decimal("2000.00")), "F2": (Decimal("1"), Decimal("1234.56"))}
    # Staging keeps the text as the export wrote it (lineage, content hash).
    assert staged_totals == {"F1": "5.000,00", "F2": "1.234,56", "F3": "5,000.00", "F4": "10,00"}

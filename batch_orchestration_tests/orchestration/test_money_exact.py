"""Amounts stay exact from the CSV export to the target: staging, validation, the warehouse, the wire."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import requests

from batch_orchestration.entities.registry import ENTITIES, units
from batch_orchestration.ingest.landing import LocalLandingZone
from batch_orchestration.load.loader import Loader
from batch_orchestration.orchestration.stages import stage_day
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.targets.bigledger.bindings import BINDINGS
from batch_orchestration.validate.unit import validate_unit
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.schema import ensure_schema
from batch_orchestration_tests.load.conftest import connector_for, sent
from batch_orchestration_tests.validate.day_rejects import day_rejects

DAY = "2024-03-01"
MANY = 100  # lines of 0.01: a float sum would be 1.0000000000000007
HUGE = "12345678901234.5678"  # 18 significant digits: a float would send 12345678901234.568


def _export(root: Path) -> None:
    files = {
        "customers": ["CUST_NO,CUST_NAME,EMAIL_ADDR", "C1,Acme,billing@acme.example"],
        "invoices": ["INV_NO,CUST_NO,INV_DATE,INV_TOTAL", f"BIG,C1,2024-02-15,{HUGE}",
                     "SUM,C1,2024-02-15,0.30", "MANY,C1,2024-02-15,1.00"],
        "invoice_line_items": ["INV_NO,LINE_NO,DESCRIPTION,QTY,UNIT_PRICE", f"BIG,1,Plant,1,{HUGE}",
                               "SUM,1,Ten cents,1,0.10", "SUM,2,Twenty cents,1,0.20",
                               *(f"MANY,{n},Cent {n},1,0.01" for n in range(1, MANY + 1))],
    }
    for entity, lines in files.items():
        folder = root / entity / DAY
        folder.mkdir(parents=True)
        (folder / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_amounts_are_exact_from_the_csv_to_the_target(tmp_path: Path, warehouse_url: str, sandbox) -> None:
    _export(tmp_path / "landing")
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    zone = LocalLandingZone(tmp_path / "landing")
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    for entity in ENTITIES.values():
        stage_day(warehouse, zone, entity, DAY)
    for root in units():
        assert all(result.rejects.total == 0 for result in validate_unit(warehouse, root, DAY).values())
    assert all(day_rejects(warehouse, entity, DAY) == [] for entity in ENTITIES)
    for root in units():
        if root.name in BINDINGS:  # what BigLedger takes
            assert all(report.rejected == 0 for report in loader.load_unit(root, DAY).values())

    with warehouse.session() as session:
        totals = dict(session.fetch_all("SELECT source_key, total_amount FROM validated_invoices"))
        sums = dict(session.fetch_all(
            "SELECT invoice_key, SUM(CAST(quantity AS DECIMAL(38, 4)) * unit_price) FROM validated_invoice_line_items "
            "GROUP BY invoice_key"))
        ids = dict(session.fetch_all("SELECT source_key, target_id FROM id_map WHERE entity = 'invoices'"))
    assert totals == {"BIG": Decimal(HUGE), "SUM": Decimal("0.30"), "MANY": Decimal("1.00")}
    assert sums == totals

    held = {}
    for key, target_id in ids.items():
        answer = requests.get(f"{sandbox.url}/v1/invoices/{target_id}", timeout=10,
                              headers={"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": DEMO_COMPANY})
        held[key] = answer.json(parse_float=Decimal)["data"]
    # The sandbox keeps numbers as floats; what the pipeline sent is in its journal, as text.
    (big_batch,) = [r["body"] for r in sent(sandbox, "POST", "/v1/batch/invoices") if HUGE in r["body"]]
    assert f'"unitPrice":{HUGE}' in big_batch and f'"total":{HUGE}' in big_batch
    assert [item["unitPrice"] for item in held["SUM"]["items"]] == [Decimal("0.10"), Decimal("0.20")]
    assert {item["unitPrice"] for item in held["MANY"]["items"]} == {Decimal("0.01")}
    assert len(held["MANY"]["items"]) == MANY
    assert (held["SUM"]["total"], held["MANY"]["total"]) == (Decimal("0.30"), Decimal("1.00"))

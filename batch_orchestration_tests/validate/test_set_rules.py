"""The set rules generated from the registry, and the hand-written ones, through staging and validation
of whole units on both warehouses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from batch_orchestration.entities.registry import ENTITIES, units
from batch_orchestration.ingest.landing import LocalLandingZone
from batch_orchestration.orchestration.stages import stage_day
from batch_orchestration.validate.unit import validate_unit
from batch_orchestration.warehouse import Warehouse, open_warehouse
from batch_orchestration.warehouse.schema import ensure_schema
from batch_orchestration_tests.validate.day_rejects import day_rejects

BEFORE, DAY, AFTER = "2024-03-01", "2024-03-02", "2024-03-03"

EXPORTS = {
    BEFORE: {
        "customers": ["CUST_NO,CUST_NAME", "C-OLD,Old customer"],
        "items": ["ITEM_CODE,ITEM_NAME", "SKU-1,Widget"],
        "accounts": ["GL_CODE,GL_NAME,GL_TYPE", "1000,Cash,asset", "4000,Sales,revenue"],
    },
    DAY: {
        "items": [
            "ITEM_CODE,ITEM_NAME",
            "sku-1,Widget again",  # DUPLICATE_KEY: SKU-1 in another case, validated the day before
            "W-2,Gadget",
            "w-2,Gadget again",  # DUPLICATE_KEY: W-2 came first in the day
        ],
        "invoices": [
            "INV_NO,CUST_NO,INV_DATE,INV_TOTAL",
            "I1,C-OLD,2024-03-01,30.00",
            "I2,C-MAPPED,2024-03-01,10.01",  # 0.01 from its line: within the tolerance
            "I3,C-OLD,2024-03-01,10.0101",  # TOTAL_MISMATCH
            "I4,C-LATER,2024-03-01,5.00",  # PARENT_UNKNOWN: validated only on a later day
            "I5,C-WRONG-ENTITY,2024-03-01,5.00",  # PARENT_UNKNOWN: in the ID map as another entity
            "I6,C-OLD,2024-03-01,5.00",  # NO_LINES
            "I7,C-OLD,2024-03-01,99.00",  # DUPLICATE_KEY: the later row wins
            "I7,C-OLD,2024-03-01,7.00",
            "I8,NOPE,2024-03-01,1.00",  # PARENT_UNKNOWN and NO_LINES
            "I9,C-OLD,2024-03-01,4.00",  # matches its kept line, not the superseded one
            "I10,C-OLD,2024-03-01,5.00",  # its only line names an unknown item: LINE_REJECTED
            "I11,C-OLD,2024-03-01,4.00",  # one line fails its row rules: LINE_REJECTED, though the total holds
        ],
        "invoice_line_items": [
            "INV_NO,LINE_NO,ITEM_CODE,QTY,UNIT_PRICE",
            "I1,1,SKU-1,2,10.00",
            "I1,2,,1,10.00",
            "I2,1,,1,10.00",
            "I3,1,,1,10.00",  # HEADER_NOT_VALID
            "I4,1,,1,5.00",  # HEADER_NOT_VALID
            "I5,1,,1,5.00",  # HEADER_NOT_VALID
            "I7,1,,1,7.00",
            "I9,1,,1,3.00",  # DUPLICATE_KEY
            "I9,1,,1,4.00",
            "I10,1,SKU-404,1,5.00",  # PARENT_UNKNOWN
            "I-ELSEWHERE,1,,1,1.00",  # HEADER_NOT_VALID: no such invoice on the day
            "I11,1,,1,4.00",  # HEADER_NOT_VALID: its invoice falls with its other line
            "I11,2,,-1,0.00",  # INVALID_AMOUNT
        ],
        "journal_entries": ["JE_NO,JE_DATE", "J1,2024-03-02", "J2,2024-03-02", "J3,2024-03-02", "J4,2024-03-02"],
        "journal_entry_lines": [
            "JE_NO,LINE_NO,GL_CODE,DEBIT,CREDIT",
            "J1,1,1000,100.00,",
            "J1,2,4000,,100.00",
            "J2,1,1000,5.00,",  # NO_LINES: one line, two needed
            "J3,1,1000,100.00,",
            "J3,2,4000,,99.98",  # UNBALANCED by 0.02
            "J4,1,1000,5.00,",
            "J4,2,9999,,5.00",  # PARENT_UNKNOWN: no such account; J4 is then LINE_REJECTED
        ],
    },
    AFTER: {"customers": ["CUST_NO,CUST_NAME", "C-LATER,Later customer"]},
}


def _stage_and_validate(warehouse: Warehouse, root: Path) -> dict[str, dict[tuple[str, str], str]]:
    """Every day staged and validated; entity -> {(key, code): message} of the set-rule rejects of ``DAY``."""
    for day, export in EXPORTS.items():
        for entity, lines in export.items():
            folder = root / entity / day
            folder.mkdir(parents=True)
            (folder / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    zone = LocalLandingZone(root)
    found: dict[str, dict[tuple[str, str], str]] = {}
    for day in EXPORTS:
        for entity in ENTITIES.values():
            stage_day(warehouse, zone, entity, day)
        for unit in units():
            for name in validate_unit(warehouse, unit, day):
                if day == DAY:
                    found[name] = {(r.source_key, r.code): r.message for r in day_rejects(warehouse, name, day)}
    return found


def _map_in_target(warehouse: Warehouse, entity: str, key: str) -> None:
    frame = pd.DataFrame([{"target": "ledger", "entity": entity, "source_key": key, "target_id": "T1",
                           "content_hash": "h", "payload_hash": "h", "partition_day": BEFORE,
                           "updated_at": pd.Timestamp("2024-03-01")}])
    with warehouse.session() as session:
        session.append_df("id_map", frame)


def _valid(warehouse: Warehouse, entity: str) -> set[str]:
    with warehouse.session() as session:
        rows = session.fetch_all(f"SELECT source_key FROM validated_{entity} WHERE partition_day = ?", (DAY,))
    return {key for (key,) in rows}


def test_generated_and_hand_written_set_rules_reject_exactly_what_they_state(tmp_path: Path,
                                                                             warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    _map_in_target(warehouse, "customers", "C-MAPPED")
    _map_in_target(warehouse, "invoices", "C-WRONG-ENTITY")

    found = _stage_and_validate(warehouse, tmp_path / "landing")

    assert set(found["invoices"]) == {
        ("I3", "TOTAL_MISMATCH"), ("I4", "PARENT_UNKNOWN"), ("I5", "PARENT_UNKNOWN"), ("I6", "NO_LINES"),
        ("I7", "DUPLICATE_KEY"), ("I8", "PARENT_UNKNOWN"), ("I8", "NO_LINES"), ("I10", "LINE_REJECTED"),
        ("I11", "LINE_REJECTED"),
    }
    assert found["invoices"][("I11", "LINE_REJECTED")] == (
        "1 of its invoice_line_items rejected: it is loaded whole or not at all")
    assert found["invoices"][("I3", "TOTAL_MISMATCH")] == (
        "total_amount 10.0101 differs from the sum of its lines 10.0000 by more than 0.01")
    assert found["invoices"][("I4", "PARENT_UNKNOWN")] == (
        "customer_key C-LATER names customers that are neither validated up to this day nor in the target")
    assert set(found["invoice_line_items"]) == {
        ("I3/1", "HEADER_NOT_VALID"), ("I4/1", "HEADER_NOT_VALID"), ("I5/1", "HEADER_NOT_VALID"),
        ("I9/1", "DUPLICATE_KEY"), ("I10/1", "PARENT_UNKNOWN"), ("I-ELSEWHERE/1", "HEADER_NOT_VALID"),
        ("I11/1", "HEADER_NOT_VALID"), ("I11/2", "INVALID_AMOUNT"),
    }
    assert found["invoice_line_items"][("I3/1", "HEADER_NOT_VALID")] == (
        f"invoices I3 is not among the invoices valid on {DAY}")
    assert _valid(warehouse, "invoices") == {"I1", "I2", "I7", "I9"}
    assert _valid(warehouse, "invoice_line_items") == {"I1/1", "I1/2", "I2/1", "I7/1", "I9/1"}

    assert set(found["items"]) == {("sku-1", "DUPLICATE_KEY"), ("w-2", "DUPLICATE_KEY")}
    assert found["items"][("w-2", "DUPLICATE_KEY")] == (
        "item_code w-2 differs only in case from W-2, which stands: codes ignore case")
    assert set(found["journal_entries"]) == {("J2", "NO_LINES"), ("J3", "UNBALANCED"), ("J4", "LINE_REJECTED")}
    assert found["journal_entries"][("J3", "UNBALANCED")] == "debits 100.0000 do not equal credits 99.9800"
    assert set(found["journal_entry_lines"]) == {
        ("J2/1", "HEADER_NOT_VALID"), ("J3/1", "HEADER_NOT_VALID"), ("J3/2", "HEADER_NOT_VALID"),
        ("J4/1", "HEADER_NOT_VALID"), ("J4/2", "PARENT_UNKNOWN")}
    assert _valid(warehouse, "journal_entries") == {"J1"}


def test_a_re_validation_replaces_the_days_rejects_and_rows(tmp_path: Path) -> None:
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    ensure_schema(warehouse)
    first = _stage_and_validate(warehouse, tmp_path / "landing")
    invoices = ENTITIES["invoices"]
    again = validate_unit(warehouse, invoices, DAY)

    assert {(r.source_key, r.code) for r in day_rejects(warehouse, "invoices", DAY)} == set(first["invoices"])
    assert again["invoices"].rejects.total == len(first["invoices"])
    with warehouse.session() as session:
        (count,) = session.fetch_all(
            "SELECT COUNT(*) FROM rejects WHERE entity = 'invoices' AND partition_day = ?", (DAY,))[0]
    assert count == len(first["invoices"])


def test_a_header_falls_with_a_line_refused_at_staging_and_stands_when_a_later_row_corrects_one(
        tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    export = {
        "customers": ["CUST_NO,CUST_NAME", "C1,Customer"],
        "items": ["ITEM_CODE,ITEM_NAME", "SKU-1,Widget"],
        "invoices": ["INV_NO,CUST_NO,INV_DATE,INV_TOTAL", "A,C1,2024-03-01,20.00", "B,C1,2024-03-01,10.00",
                     "C,C1,2024-03-01,10.00"],
        "invoice_line_items": [
            "INV_NO,LINE_NO,ITEM_CODE,QTY,UNIT_PRICE",
            "A,1,,1,10.00",
            "A,2,,-1,10.00",  # INVALID_AMOUNT, corrected by the next row of its key: A stands
            "A,2,,1,10.00",
            "B,1,,1,10.00",
            "B,2,,1,0.00,EXTRA",  # RAGGED_ROW at staging: B falls though its total holds
            "C,1,sku-1,1,10.00",  # the item code in another case is the same item
        ],
    }
    for entity, lines in export.items():
        folder = landing / entity / DAY
        folder.mkdir(parents=True)
        (folder / "export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    ensure_schema(warehouse)
    for entity in ENTITIES.values():
        stage_day(warehouse, LocalLandingZone(landing), entity, DAY)
    for name in ("customers", "items"):
        validate_unit(warehouse, ENTITIES[name], DAY)

    results = validate_unit(warehouse, ENTITIES["invoices"], DAY)

    assert {(r.source_key, r.code) for r in day_rejects(warehouse, "invoices", DAY)} == {("B", "LINE_REJECTED")}
    assert {(r.source_key, r.code) for r in day_rejects(warehouse, "invoice_line_items", DAY)} == {
        ("A/2", "INVALID_AMOUNT"), ("B/1", "HEADER_NOT_VALID")}
    assert _valid(warehouse, "invoices") == {"A", "C"}
    assert results["invoice_line_items"].rejected_rows == 2

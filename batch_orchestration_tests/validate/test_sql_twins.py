"""The vectorized row rules change nothing (issue 12): over a corpus of awkward values in every field of
every entity, the warehouse's check (SQL twins, then the model for the rows they do not vouch for) gives
exactly the valid rows, values and rejects the model gives on its own, in DuckDB and in PostgreSQL. A
twin looser than its validator would let a row through here that the model refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.ingest.mapping import load_mapping
from batch_orchestration.validate.rows import validate_frame
from batch_orchestration.validate.vectorized import check_rows
from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.schema import (
    ensure_schema,
    ensure_staged_table,
    staged_table,
    validated_columns,
    validated_table,
)
from batch_orchestration_tests.validate.day_rejects import day_rejects

DAY = "2024-03-01"
TODAY = datetime.now(UTC).date()

# A record each entity takes; the corpus puts every awkward value into every field of it in turn.
BASE: dict[str, dict[str, str]] = {
    "customers": {"customer_key": "C1", "name": "Acme", "email": "ap@acme.example", "phone": "+60 12-345 6789",
                  "country": "MY", "credit_limit": "1000.50", "payment_terms": "30", "tax_number": "123456789012",
                  "status": "active"},
    "suppliers": {"supplier_key": "S1", "name": "Widgets", "country": "SG", "tax_number": "T12345"},
    "items": {"item_code": "W-1", "name": "Widget", "item_type": "inventory", "unit_of_measure": "pcs",
              "cost_price": "2.50", "selling_price": "4.00"},
    "accounts": {"account_code": "4000.1", "name": "Sales", "account_type": "revenue"},
    "invoices": {"invoice_key": "I1", "customer_key": "C1", "invoice_date": "2024-02-28", "due_date": "2024-03-31",
                 "total_amount": "30.00"},
    "invoice_line_items": {"invoice_key": "I1", "line_number": "1", "item_code": "W-1", "quantity": "2",
                           "unit_price": "15.00"},
    "bills": {"bill_key": "B1", "supplier_key": "S1", "bill_date": "2024-01-31"},
    "bill_line_items": {"bill_key": "B1", "line_number": "2", "description": "Bolts", "quantity": "10",
                        "unit_price": "0.2500"},
    "journal_entries": {"entry_key": "J1", "entry_date": "2030-12-31"},
    "journal_entry_lines": {"entry_key": "J1", "line_number": "1", "account_code": "4000", "debit": "10.00"},
    "stock_adjustments": {"adjustment_key": "A1", "item_code": "W-1", "adjustment_type": "increase",
                          "quantity": "5", "adjustment_date": "2024-01-30"},
    "purchase_orders": {"po_key": "P1", "supplier_key": "S1", "po_date": "2024-01-29"},
    "purchase_order_lines": {"po_key": "P1", "line_number": "1", "quantity": "1", "unit_price": "9.99"},
    "item_receipts": {"receipt_key": "R1", "supplier_key": "S1", "receipt_date": "2024-01-28"},
    "item_receipt_lines": {"receipt_key": "R1", "line_number": "1", "quantity": "3", "unit_price": "1",
                           "received_quantity": "0"},
    "payments": {"payment_key": "PAY1", "customer_key": "C1", "payment_date": "2024-01-27", "amount": "30.00",
                 "method": "cheque"},
    "payables": {"payable_key": "PB1", "collaborator_email": "a@b.example", "amount": "-12.5", "status": "open"},
}

AWKWARD = [
    None, "x", "0", "00", "007", "-0", "-1", "+5", "1e3", "1E-2", ".5", "5.", "1,000.00", "1,00", "5.000,00",
    "12345678901234.5678", "123456789012345", "99999999999999.9999", "0.00001", "10.50000", "NaN", "Infinity",
    "1_000", "\u0663", "\uff11", "9223372036854775807",
    "2024-02-29", "2023-02-29", "2024-02-30", "2024-04-31", "2024-01-31", "0999-01-01", "0000-01-01",
    "9999-12-31", "2024-1-01", "20240101", TODAY.isoformat(), (TODAY + timedelta(days=1)).isoformat(),
    "MY", "my", "US", "usa", "\u212ag", "KG", "ACTIVE", "Inactive", "paid", "bank_transfer", "revenue",
    "\u0130nventory", "x" * 20, "x" * 21, "x" * 64, "x" * 65, "x" * 100, "x" * 101, "é" * 100, "é" * 101,
    "e\u0301" * 50, "株" * 200, "x" * 501, "+60 12-345 6789", "+1 555 0000001", "+123456", "+1234567",
    "+123456789012345", "+1234567890123456", "+1--2", "60123456789", "a@b.co", "a@b", "a@-b.co", "a b@c.d",
    "123456789012", "12345678901", "AB12345678", "A-B-1234", "1234-5678-9012", "T12345", "12-34", "lots",
    "4000.1", "40 00", "C1/2", "a\nb", "'; DROP TABLE x; --", "%s", "?",
]


def corpus(entity: EntitySpec) -> list[dict[str, str | None]]:
    base = BASE[entity.name]
    rows: list[dict[str, str | None]] = [dict(base)]
    for name in entity.fields:
        for value in AWKWARD:
            rows.append({**base, name: value})
    return rows


def staged_frame(entity: EntitySpec, rows: list[dict[str, str | None]]) -> pd.DataFrame:
    """The rows as staging leaves them: lineage, then every field stripped, empty as null."""
    fields = load_mapping(entity.name).fields
    data: dict[str, Any] = {"partition_day": DAY, "source_file": f"{entity.name}/{DAY}/export.csv",
                            "source_row": range(1, len(rows) + 1), "content_hash": "h"}
    for name in fields:
        data[name] = [(row.get(name) or "").strip() or None for row in rows]
    return pd.DataFrame(data)


def rows_of(session: Any, table: str, entity: EntitySpec) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{c}"' for c in validated_columns(entity))
    return session.fetch_all(f'SELECT {columns} FROM "{table}" ORDER BY source_row')


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_the_warehouse_vouches_only_for_what_the_model_takes_and_gives_its_values(warehouse_url: str,
                                                                                  name: str) -> None:
    entity, mapping = ENTITIES[name], load_mapping(name)
    frame = staged_frame(entity, corpus(entity))
    reference = validate_frame(entity, frame, mapping)
    types = validated_columns(entity)
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    with warehouse.session() as session:
        ensure_staged_table(session, staged_table(name), list(mapping.fields))
        session.append_df(staged_table(name), frame)
        checked = check_rows(session, entity, DAY, mapping)
        session.create_temp_table("reference", reference.valid.reindex(columns=list(types)), types)
        assert rows_of(session, validated_table(name), entity) == rows_of(session, "reference", entity)
        described = sorted((r.source_row, r.source_key, r.code, r.message) for r in day_rejects(session, name, DAY))
    assert checked.valid_rows == len(reference.valid) and checked.checked_rows == len(frame)
    # The fast path is taken: the base record (row 1) needs no model call, but for a payable, whose
    # collaborator and paid-date rule has no twin yet.
    assert (checked.vouched_rows > 0) is (name != "payables")
    assert described == sorted((r.source_row, r.source_key, r.code, r.message) for r in reference.rejects)


def test_a_field_the_mapping_leaves_out_is_read_as_absent(warehouse_url: str, tmp_path: Path) -> None:
    """A mapping may leave out an optional field: its column is not staged, and the model's default stands."""
    columns = {name: legacy for name, legacy in load_mapping("suppliers").columns.items() if name != "state"}
    path = tmp_path / "suppliers.yaml"
    path.write_text("entity: suppliers\ncolumns:\n" + "".join(f"  {k}: {v}\n" for k, v in columns.items())
                    + "required: [supplier_key, name]\n", encoding="utf-8")
    entity, mapping = ENTITIES["suppliers"], load_mapping("suppliers", path)
    assert "state" not in mapping.fields
    rows = [BASE["suppliers"], {**BASE["suppliers"], "supplier_key": "S2", "name": None}]
    frame = staged_frame(entity, rows).drop(columns=["state"])
    warehouse = open_warehouse(warehouse_url)
    ensure_schema(warehouse)
    with warehouse.session() as session:
        ensure_staged_table(session, staged_table("suppliers"), list(mapping.fields))
        session.append_df(staged_table("suppliers"), frame)
        check_rows(session, entity, DAY, mapping)
        validated = session.fetch_all(f'SELECT source_key, state FROM "{validated_table("suppliers")}"')
        rejects = [(r.source_row, r.code) for r in day_rejects(session, "suppliers", DAY)]
    assert validated == [("S1", None)]
    assert rejects == [(2, "REQUIRED")]

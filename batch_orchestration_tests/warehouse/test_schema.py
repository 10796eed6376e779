"""The schema owner: a fresh warehouse, an upgrade of a 0.1 warehouse, and a shape no migration converts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from batch_orchestration.warehouse import open_warehouse
from batch_orchestration.warehouse.schema import (
    SCHEMA_VERSION,
    SchemaError,
    applied_versions,
    column_types,
    ensure_schema,
)

# validated_invoices as release 0.1 created it: money as DOUBLE PRECISION.
RELEASE_0_1_INVOICES = """
CREATE TABLE validated_invoices (partition_day TEXT, source_file TEXT, source_row BIGINT, content_hash TEXT,
    source_key TEXT NOT NULL, invoice_key TEXT, customer_key TEXT, invoice_date TEXT, due_date TEXT,
    reference TEXT, total_amount DOUBLE PRECISION, notes TEXT)
"""


def test_a_fresh_warehouse_gets_every_table_once(warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    assert ensure_schema(warehouse) == [1, 2, 3, 4, 5, 6, 7]
    assert ensure_schema(warehouse) == []
    with warehouse.session() as session:
        assert applied_versions(session) == list(range(1, SCHEMA_VERSION + 1))
        for table in ("rejects", "id_map", "intent_log", "deployment_claim", "load_history", "validated_deletes",
                      "staged_customers", "validated_invoice_line_items"):
            assert column_types(session, table), table
        assert column_types(session, "validated_invoices")["total_amount"] == "DECIMAL(18,4)"
        assert column_types(session, "validated_invoice_line_items")["unit_price"] == "DECIMAL(18,4)"
        assert column_types(session, "staged_invoices")["total_amount"] == "TEXT"
        assert column_types(session, "rejects")["payload_hash"] == "TEXT"  # migration 4


def test_a_release_0_1_warehouse_is_upgraded_with_its_amounts_exact(warehouse_url: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    warehouse = open_warehouse(warehouse_url)
    amounts = ["0.10", "0.20", "12345678.905", "99999999999.9999"]
    with warehouse.session() as session:
        session.execute(RELEASE_0_1_INVOICES)
        for n, amount in enumerate(amounts):
            session.execute("INSERT INTO validated_invoices (partition_day, source_row, source_key, total_amount) "
                            "VALUES ('2024-03-01', ?, ?, ?)", (n, f"I{n}", float(amount)))
        # Too large for a double to keep 4 places: the upgrade names its day for re-validation.
        session.execute("INSERT INTO validated_invoices (partition_day, source_row, source_key, total_amount) "
                        "VALUES ('2024-03-02', 99, 'HUGE', ?)", (float("12345678901234.5678"),))

    assert ensure_schema(warehouse) == [1, 2, 3, 4, 5, 6, 7]

    with warehouse.session() as session:
        assert column_types(session, "validated_invoices")["total_amount"] == "DECIMAL(18,4)"
        stored = session.fetch_all("SELECT total_amount FROM validated_invoices WHERE source_key <> 'HUGE' "
                                   "ORDER BY source_row")
        total = session.fetch_all("SELECT SUM(total_amount) FROM validated_invoices WHERE source_key <> 'HUGE'")[0][0]
    assert [value for (value,) in stored] == [Decimal(a) for a in amounts]
    assert total == sum(Decimal(a) for a in amounts)
    assert "validated_invoices.total_amount holds amounts of 10^11 or more" in caplog.text
    assert "2024-03-02" in caplog.text and "2024-03-01" not in caplog.text


def test_a_column_of_another_type_is_refused_not_mixed(warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    with warehouse.session() as session:
        session.execute("CREATE TABLE validated_customers (partition_day TEXT, payment_terms TEXT)")
    with pytest.raises(SchemaError, match=r"validated_customers\.payment_terms is TEXT .* needs BIGINT"):
        ensure_schema(warehouse)

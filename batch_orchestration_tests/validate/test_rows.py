"""Row rules: each entity's pydantic model applied to staged rows, into typed rows and coded rejects."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.validate.rows import validate_frame

CUSTOMERS, INVOICES, INVOICE_LINE_ITEMS = (ENTITIES[n] for n in ("customers", "invoices", "invoice_line_items"))


def staged(entity: EntitySpec, rows: list[dict[str, str | None]]) -> pd.DataFrame:
    lineage = {"partition_day": "2024-03-01", "source_file": f"{entity.name}/2024-03-01/a.csv", "content_hash": "h"}
    return pd.DataFrame([{**lineage, "source_row": i + 1, **row} for i, row in enumerate(rows)])


GOOD_CUSTOMER = {"customer_key": "C1", "name": "Acme Sdn Bhd", "email": "billing@acme.com", "phone": "+60123456789",
                 "credit_limit": "10000.00", "payment_terms": "30", "tax_number": "123456789012", "country": "MY"}


def test_valid_rows_are_typed_and_keep_their_lineage() -> None:
    result = validate_frame(CUSTOMERS, staged(CUSTOMERS, [GOOD_CUSTOMER, {**GOOD_CUSTOMER, "customer_key": "C2",
                                                                          "email": None, "credit_limit": None}]))
    assert result.rejects == []
    assert list(result.valid["source_row"]) == [1, 2]
    assert list(result.valid["source_key"]) == ["C1", "C2"]
    first = result.valid.iloc[0]
    assert first["credit_limit"] == 10000.0 and first["payment_terms"] == 30 and first["status"] == "active"
    assert result.valid.iloc[1]["credit_limit"] == 0.0  # the documented default


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": None}, "REQUIRED"),
        ({"name": "x" * 101}, "TOO_LONG"),
        ({"email": "billing(at)acme"}, "INVALID_EMAIL"),
        ({"phone": "12"}, "INVALID_PHONE"),
        ({"phone": "0123456789"}, "INVALID_PHONE"),  # the target wants the leading +
        ({"phone": "+6" + " 0" * 15}, "TOO_LONG"),
        ({"country": "Malaysia"}, "INVALID_COUNTRY"),
        ({"country": "US", "tax_number": "12.345.678"}, "INVALID_TAX_NUMBER"),
        ({"payment_terms": "30.5"}, "INVALID_NUMBER"),
        ({"credit_limit": "-1"}, "INVALID_AMOUNT"),
        ({"credit_limit": "ten"}, "INVALID_NUMBER"),
        ({"tax_number": "12345"}, "INVALID_TAX_NUMBER"),
        ({"status": "sleeping"}, "INVALID_VALUE"),
    ],
)
def test_each_customer_rule_has_its_code(change: dict[str, str | None], code: str) -> None:
    result = validate_frame(CUSTOMERS, staged(CUSTOMERS, [GOOD_CUSTOMER, {**GOOD_CUSTOMER, "customer_key": "C9",
                                                                          **change}]))
    assert list(result.valid["source_key"]) == ["C1"]
    [reject] = result.rejects
    assert (reject.code, reject.source_row, reject.source_key, reject.stage) == (code, 2, "C9", "validation")
    assert reject.message


def test_invoice_dates_and_amounts() -> None:
    good = {"invoice_key": "I1", "customer_key": "C1", "invoice_date": "2024-03-01", "due_date": "2024-03-31",
            "total_amount": "150.00"}
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    rows = [good, {**good, "invoice_key": "I2", "invoice_date": tomorrow, "due_date": None},
            {**good, "invoice_key": "I3", "invoice_date": "31/03/2024"},
            {**good, "invoice_key": "I4", "due_date": "2024-02-01"},  # the target only warns
            {**good, "invoice_key": "I5", "total_amount": "0"},
            {**good, "invoice_key": "I6", "invoice_date": "20240301"}]  # only YYYY-MM-DD
    result = validate_frame(INVOICES, staged(INVOICES, rows))
    assert list(result.valid["source_key"]) == ["I1", "I4"]
    assert result.valid.iloc[0]["invoice_date"] == "2024-03-01"
    assert [(r.source_key, r.code) for r in result.rejects] == [
        ("I2", "FUTURE_DATE"), ("I3", "INVALID_DATE"), ("I5", "INVALID_AMOUNT"), ("I6", "INVALID_DATE")]


def test_customer_values_are_normalised_as_the_target_reads_them() -> None:
    row = {**GOOD_CUSTOMER, "country": "my", "status": "Inactive", "tax_number": "C2088005-0010",
           "payment_terms": "400"}
    result = validate_frame(CUSTOMERS, staged(CUSTOMERS, [row]))
    assert result.rejects == []
    kept = result.valid.iloc[0]
    assert (kept["country"], kept["status"], kept["payment_terms"]) == ("MY", "inactive", 400)


def test_line_items_have_composite_keys_and_positive_amounts() -> None:
    good = {"invoice_key": "INV-1", "line_number": "2", "quantity": "3", "unit_price": "9.90"}
    result = validate_frame(INVOICE_LINE_ITEMS, staged(INVOICE_LINE_ITEMS, [good, {**good, "line_number": "3",
                                                                                  "quantity": "-1"}]))
    assert list(result.valid["source_key"]) == ["INV-1/2"]
    assert [(r.source_key, r.code) for r in result.rejects] == [("INV-1/3", "INVALID_AMOUNT")]


def test_an_empty_day_gives_an_empty_typed_frame() -> None:
    result = validate_frame(CUSTOMERS, staged(CUSTOMERS, []).reindex(
        columns=["partition_day", "source_file", "source_row", "content_hash", *CUSTOMERS.fields]))
    assert result.valid.empty and result.rejects == []
    assert "source_key" in result.valid.columns


def test_an_amount_the_ledger_would_round_is_refused_not_rounded() -> None:
    from pydantic import ValidationError

    from batch_orchestration.entities.models import InvoiceLineItem

    kept = InvoiceLineItem(invoice_key="I1", line_number=1, quantity="2", unit_price="10.50000")
    assert kept.unit_price == Decimal("10.5")
    for value in ("1.23456", "100000000000000"):
        with pytest.raises(ValidationError) as refused:
            InvoiceLineItem(invoice_key="I1", line_number=1, quantity="1", unit_price=value)
        assert refused.value.errors()[0]["type"] == "INVALID_AMOUNT"


@pytest.mark.parametrize(("text", "value"), [("1,000.50", "1000.50"), ("1,234,567", "1234567"), (".5", "0.5"),
                                             ("1e3", "1000"), ("12345678.905", "12345678.905")])
def test_amounts_are_read_as_written(text: str, value: str) -> None:
    from batch_orchestration.entities.models import InvoiceLineItem

    assert InvoiceLineItem(invoice_key="I1", line_number=1, quantity="1", unit_price=text).unit_price == Decimal(value)


@pytest.mark.parametrize("text", ["5.000,00", "1,2", "12,34", "1.000.000", "ten"])
def test_an_amount_in_another_notation_is_refused_not_re_read(text: str) -> None:
    """``5.000,00`` (a European five thousand) must not become 5.0."""
    from pydantic import ValidationError

    from batch_orchestration.entities.models import InvoiceLineItem

    with pytest.raises(ValidationError) as refused:
        InvoiceLineItem(invoice_key="I1", line_number=1, quantity="1", unit_price=text)
    assert refused.value.errors()[0]["type"] == "INVALID_NUMBER"


def test_a_refused_row_is_keyed_as_its_valid_version_would_be() -> None:
    frame = pd.DataFrame([
        {"partition_day": "2024-03-01", "source_file": "l.csv", "source_row": 1, "content_hash": "a",
         "invoice_key": "I1", "line_number": "01", "quantity": "1", "unit_price": "5"},
        {"partition_day": "2024-03-01", "source_file": "l.csv", "source_row": 2, "content_hash": "b",
         "invoice_key": "I1", "line_number": "02", "quantity": "-1", "unit_price": "5"},
    ])
    result = validate_frame(INVOICE_LINE_ITEMS, frame)
    assert list(result.valid["source_key"]) == ["I1/1"]
    assert [r.source_key for r in result.rejects] == ["I1/2"]

"""Declared export formats: strict parsing into canonical text, and their rejects through the row rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.ingest.mapping import ColumnMapping, MappingError, load_mapping
from batch_orchestration.validate.formats import DateFormat, NumberFormat, field_formats
from batch_orchestration.validate.rows import validate_frame
from batch_orchestration_tests.validate.test_rows import staged

CUSTOMERS, INVOICES, INVOICE_LINE_ITEMS = (ENTITIES[n] for n in ("customers", "invoices", "invoice_line_items"))

EUROPEAN = NumberFormat(decimal=",", thousands=".")


def with_formats(entity: str, **formats: object) -> ColumnMapping:
    packaged = load_mapping(entity)
    return ColumnMapping.model_validate({**packaged.model_dump(), "formats": formats})


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("5.000,00", "5000.00"), ("1.234.567,5", "1234567.5"), ("5,5", "5.5"), ("5000,00", "5000.00"),
     ("12", "12"), ("-1.000", "-1000"), (" 7,25 ", "7.25")],
)
def test_european_numbers_become_canonical(text: str, canonical: str) -> None:
    assert EUROPEAN.canonical(text) == canonical


@pytest.mark.parametrize("text", ["5.000.00", "5,000.00", "5.00,00", "1.2345,6", "12.34", "5,", ",5", "1e3", "5 000",
                                  "", "abc", "١٢"])
def test_a_number_that_does_not_fit_the_declared_format_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"Not a number in the declared format \(decimal ',', thousands '.'\)"):
        EUROPEAN.canonical(text)


def test_numbers_without_a_thousands_separator() -> None:
    plain = NumberFormat(decimal=",", thousands="")
    assert plain.canonical("5000,25") == "5000.25"
    with pytest.raises(ValueError, match="thousands none"):
        plain.canonical("5.000,25")


def test_numbers_grouped_by_spaces_or_apostrophes() -> None:
    assert NumberFormat(decimal=",", thousands=" ").canonical("1 234 567,89") == "1234567.89"
    assert NumberFormat(decimal=".", thousands="'").canonical("1'234.5") == "1234.5"


@pytest.mark.parametrize(
    ("pattern", "text", "iso"),
    [("%d/%m/%Y", "01/03/2024", "2024-03-01"), ("%Y%m%d", "20240301", "2024-03-01"),
     ("%d.%m.%y", "29.02.24", "2024-02-29")],
)
def test_dates_are_read_with_their_declared_format(pattern: str, text: str, iso: str) -> None:
    assert DateFormat(pattern).canonical(text) == iso


@pytest.mark.parametrize("text", ["31/02/2024", "2024-03-01", "03/13/2024", "1/3/2024", "01/03/24", "01/03/2024 10:00"])
def test_a_date_that_does_not_fit_the_declared_format_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=f"Not a date in the declared format %d/%m/%Y: {text}"):
        DateFormat("%d/%m/%Y").canonical(text)


def test_which_fields_are_dates_and_numbers_comes_from_the_models() -> None:
    declared = {"date": "%d/%m/%Y", "decimal": ",", "thousands": "."}
    assert field_formats(INVOICES, with_formats("invoices", **declared)) == {
        "invoice_date": DateFormat("%d/%m/%Y"), "due_date": DateFormat("%d/%m/%Y"), "total_amount": EUROPEAN}
    assert field_formats(CUSTOMERS, with_formats("customers", **declared)) == {
        "credit_limit": EUROPEAN, "payment_terms": EUROPEAN}
    assert set(field_formats(INVOICE_LINE_ITEMS, with_formats("invoice_line_items", **declared))) == {
        "line_number", "quantity", "unit_price"}


def test_canonical_formats_leave_every_field_to_the_model() -> None:
    assert field_formats(INVOICES, load_mapping("invoices")) == {}
    assert field_formats(INVOICES, with_formats("invoices", date="%Y-%m-%d", decimal=".", thousands=",")) == {}


def test_a_per_column_format_overrides_the_file_level_one() -> None:
    mapping = with_formats("invoices", date="%d/%m/%Y", columns={"due_date": {"date": "%Y%m%d"}})
    assert field_formats(INVOICES, mapping) == {"invoice_date": DateFormat("%d/%m/%Y"),
                                                "due_date": DateFormat("%Y%m%d")}


@pytest.mark.parametrize(
    ("column", "message"),
    [({"total_amount": {"date": "%Y%m%d"}}, "formats.columns.total_amount declares a date format, but .* a number"),
     ({"invoice_date": {"thousands": ""}}, "formats.columns.invoice_date declares number separators, but .* a date"),
     ({"reference": {"thousands": ""}}, "formats.columns.reference declares a format, but .* neither")],
)
def test_a_column_format_that_does_not_fit_the_field_fails_loudly(column: dict[str, object], message: str) -> None:
    with pytest.raises(MappingError, match=f"mapping of invoices: {message}"):
        field_formats(INVOICES, with_formats("invoices", columns=column))


INVOICE = {"invoice_key": "F1", "customer_key": "C1", "invoice_date": "15/02/2024", "due_date": "20240315",
           "total_amount": "5.000,00"}
EUROPEAN_INVOICES = {"date": "%d/%m/%Y", "decimal": ",", "thousands": ".", "columns": {"due_date": {"date": "%Y%m%d"}}}


def test_validation_reads_the_declared_formats_exactly() -> None:
    rows = [INVOICE, {**INVOICE, "invoice_key": "F2", "total_amount": "1.234.567,5", "due_date": None}]
    result = validate_frame(INVOICES, staged(INVOICES, rows), with_formats("invoices", **EUROPEAN_INVOICES))
    assert result.rejects == []
    assert result.valid["total_amount"].tolist() == [Decimal("5000.00"), Decimal("1234567.5")]
    assert result.valid["invoice_date"].tolist() == ["2024-02-15", "2024-02-15"]
    assert result.valid.iloc[0]["due_date"] == "2024-03-15"


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [({"total_amount": "5,000.00"}, "INVALID_NUMBER",
      "total_amount: Not a number in the declared format (decimal ',', thousands '.'): 5,000.00"),
     ({"total_amount": "5.000.00"}, "INVALID_NUMBER",
      "total_amount: Not a number in the declared format (decimal ',', thousands '.'): 5.000.00"),
     ({"invoice_date": "31/02/2024"}, "INVALID_DATE",
      "invoice_date: Not a date in the declared format %d/%m/%Y: 31/02/2024"),
     ({"due_date": "15/03/2024"}, "INVALID_DATE", "due_date: Not a date in the declared format %Y%m%d: 15/03/2024"),
     # the model's own rules still apply to the canonical value, after the format's verdict
     ({"total_amount": "0,00"}, "INVALID_AMOUNT", "total_amount: Must be a positive number, got 0.00"),
     ({"total_amount": "5,000.00", "customer_key": None}, "INVALID_NUMBER",
      "total_amount: Not a number in the declared format (decimal ',', thousands '.'): 5,000.00; "
      "customer_key: Field required")],
)
def test_a_value_that_does_not_fit_its_declared_format_is_a_reject_naming_it(
    change: dict[str, str | None], code: str, message: str
) -> None:
    rows = [INVOICE, {**INVOICE, "invoice_key": "F2", **change}]
    result = validate_frame(INVOICES, staged(INVOICES, rows), with_formats("invoices", **EUROPEAN_INVOICES))
    assert result.valid["invoice_key"].tolist() == ["F1"]
    (reject,) = result.rejects
    assert (reject.code, reject.message, reject.source_row, reject.source_key) == (code, message, 2, "F2")


def test_the_default_formats_still_refuse_a_european_amount() -> None:
    (reject,) = validate_frame(INVOICES, staged(INVOICES, [INVOICE])).rejects  # the packaged mapping
    assert reject.code == "INVALID_DATE"
    assert "invoice_date: Not a valid YYYY-MM-DD date: 15/02/2024" in reject.message
    assert "total_amount: Not a number: 5.000,00" in reject.message

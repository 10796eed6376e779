from __future__ import annotations

from pathlib import Path

import pytest

from batch_orchestration.ingest.mapping import MappingError, load_mapping, normalize_header, parse_mapping

VALID = """
entity: things
columns:
  thing_key: THING_NO
  label: LABEL
required: [thing_key]
"""


@pytest.mark.parametrize("entity", ["customers", "invoices", "invoice_line_items"])
def test_every_packaged_mapping_loads(entity: str) -> None:
    mapping = load_mapping(entity)
    assert mapping.entity == entity
    assert set(mapping.required) <= set(mapping.fields)


def test_customers_mapping_contents() -> None:
    mapping = load_mapping("customers")
    assert mapping.fields[:2] == ["customer_key", "name"]
    assert mapping.columns["customer_key"] == "CUST_NO"
    assert mapping.required == ("customer_key", "name")
    assert mapping.on_unknown_columns == "keep_going"
    assert mapping.on_missing_columns == "reject_file"
    assert mapping.key_fields == ["customer_key"]
    assert mapping.legacy_to_field["cust_no"] == "customer_key"


WITH_OPERATION = VALID.replace("  label: LABEL\n", "  label: LABEL\n  operation: OP\n")


@pytest.mark.parametrize(("document", "says"), [
    (VALID + "sync: changes\n", "sync: changes needs an operation column"),
    (WITH_OPERATION, "'operation' is that column only \\(sync is 'upserts'\\)"),
    (WITH_OPERATION + "sync: snapshot\n", "sync is 'snapshot'"),
    (WITH_OPERATION + "sync: changes\nkey: [operation]\n", "cannot be part of its key"),
])
def test_a_changes_export_declares_its_operation_column_and_nothing_else_does(document: str, says: str) -> None:
    with pytest.raises(MappingError, match=says):
        parse_mapping(document)


def test_a_changes_export_reads_its_operation_beside_the_record() -> None:
    mapping = parse_mapping(WITH_OPERATION + "sync: changes\n")
    assert mapping.fields == ["thing_key", "label", "operation"] and mapping.record_fields == ["thing_key", "label"]
    assert load_mapping("customers").sync == "changes"  # the packaged export of customers is one


def test_load_from_a_user_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(VALID)
    mapping = load_mapping("things", path)
    assert mapping.fields == ["thing_key", "label"]
    assert mapping.on_unknown_columns == "keep_going"  # the defaults


def test_user_path_must_declare_the_entity_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(VALID)
    with pytest.raises(MappingError, match="declares entity 'things', expected 'customers'"):
        load_mapping("customers", path)


def test_missing_mapping_names_the_file() -> None:
    with pytest.raises(MappingError, match=r"no column mapping for 'nothing'.*nothing\.yaml"):
        load_mapping("nothing")


def test_entity_name_cannot_traverse() -> None:
    with pytest.raises(MappingError, match="lower-case identifier"):
        load_mapping("../secrets")


FORMATS = "entity: t\ncolumns: {a: A}\nformats: "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping at the top level, got list"),
        ("entity: things\n", r"columns: Field required"),
        ("entity: things\ncolumns: {}\n", "columns: .*at least 1"),
        ("entity: Things!\ncolumns: {a: A}\n", "entity: .*lower-case identifier"),
        ("entity: t\ncolumns: {Bad-Name: A}\n", "'Bad-Name' is not a lower-case identifier"),
        ("entity: t\ncolumns: {a: A, b: ' a '}\n", "legacy column ' a ' is mapped twice"),
        ("entity: t\ncolumns: {a: ''}\n", "must be a non-empty string"),
        ("entity: t\ncolumns: {source_row: A}\n", "clashes with a lineage column"),
        ("entity: t\ncolumns: {a: A}\nrequired: [b]\n", r"required names fields that are not in columns: \['b'\]"),
        ("entity: t\ncolumns: {a: A}\non_unknown_columns: ignore\n", "on_unknown_columns: Input should be"),
        ("entity: t\ncolumns: {a: A}\nsurprise: 1\n", "surprise: Extra inputs are not permitted"),
        (f"{FORMATS}{{dates: '%d/%m/%Y'}}\n", "formats.dates: Extra inputs are not permitted"),
        (f"{FORMATS}{{decimal: ','}}\n", "formats: .*decimal and thousands separators are both ','"),
        (f"{FORMATS}{{decimal: ';'}}\n", "formats.decimal: Input should be"),
        (f"{FORMATS}{{thousands: '_'}}\n", "formats.thousands: Input should be"),
        (f"{FORMATS}{{date: '%d/%M/%Y'}}\n", "formats.date: .*'%d/%M/%Y' does not read back day, month and year"),
        (f"{FORMATS}{{date: '%d/%m'}}\n", "formats.date: .*does not read back"),
        (f"{FORMATS}{{encoding: klingon}}\n", "formats.encoding: .*'klingon' is not a text encoding"),
        (f"{FORMATS}{{encoding: base64}}\n", "formats.encoding: .*'base64' is not a text encoding"),
        (f"{FORMATS}{{delimiter: ';;'}}\n", "formats.delimiter: .*must be one character"),
        (f"{FORMATS}{{delimiter: '\"'}}\n", "formats.delimiter: .*other than a quote"),
        (f"{FORMATS}{{columns: {{b: {{date: '%Y%m%d'}}}}}}\n",
         r"formats.columns names fields that are not in columns: \['b'\]"),
        (f"{FORMATS}{{columns: {{a: {{date: '%Y%d'}}}}}}\n", "formats.columns.a.date: .*does not read back"),
        (f"{FORMATS}{{decimal: ',', thousands: '.', columns: {{a: {{thousands: ','}}}}}}\n",
         "formats: .*columns.a: decimal and thousands separators are both ','"),
    ],
)
def test_invalid_yaml_gets_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message) as caught:
        parse_mapping(text, "inline.yaml")
    assert str(caught.value).startswith("inline.yaml: ")


def test_header_normalization() -> None:
    assert normalize_header("\ufeff  Cust_No \t") == "cust_no"


def test_packaged_mappings_declare_the_canonical_formats() -> None:
    for entity in ("customers", "invoices", "invoice_line_items"):
        formats = load_mapping(entity).formats
        assert (formats.encoding, formats.delimiter, formats.date, formats.decimal, formats.thousands) == (
            "utf-8", ",", "%Y-%m-%d", ".", ",")
        assert formats.columns == {}


def test_formats_per_column_override_the_file_level_ones() -> None:
    mapping = parse_mapping(f"""{FORMATS}
  encoding: CP1252
  delimiter: ";"
  date: "%d/%m/%Y"
  decimal: ","
  thousands: "."
  columns:
    a: {{date: "%Y%m%d", thousands: ""}}
""")
    formats = mapping.formats
    assert formats.encoding == "cp1252"  # Python's name for the codec
    assert (formats.date_format("a"), formats.number_format("a")) == ("%Y%m%d", (",", ""))
    assert (formats.date_format("other"), formats.number_format("other")) == ("%d/%m/%Y", (",", "."))


def test_mappings_are_read_from_the_configured_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "things.yaml").write_text(VALID)
    monkeypatch.setenv("BATCH_ORCHESTRATION_MAPPINGS_DIR", str(tmp_path))
    assert load_mapping("things").fields == ["thing_key", "label"]
    with pytest.raises(MappingError, match=rf"no column mapping for 'customers': {tmp_path}/customers\.yaml"):
        load_mapping("customers")  # no silent fall-back to the packaged mapping

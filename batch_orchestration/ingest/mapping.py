"""The column mapping of one entity: which legacy CSV column feeds which canonical field.

Mappings live as YAML files in ``batch_orchestration/entities/mappings/<entity>.yaml`` (or any path the
user gives). The YAML is validated here, so a typo in a mapping fails loudly with the file and the
field at fault, instead of surfacing later as a mysteriously empty column.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from batch_orchestration.warehouse.backend import is_identifier

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "entities" / "mappings"
# A folder of <entity>.yaml used instead of the packaged mappings, so an installation can declare its
# own export (columns, formats) without editing the package.
MAPPINGS_DIR_ENV = "BATCH_ORCHESTRATION_MAPPINGS_DIR"

# Columns every staged row carries before the canonical fields; a field may not reuse these names.
LINEAGE_COLUMNS: tuple[str, ...] = ("partition_day", "source_file", "source_row", "content_hash")
# The field a ``sync: changes`` export's operation column is mapped to: staged beside the record's own
# fields, but not part of its content (or its content hash): it says what to do with the record.
OPERATION_FIELD = "operation"
OPERATIONS = ("create", "update", "delete")

# The formats the entity models read (entities/rules.py); a mapping declares the export's own.
ISO_DATE_FORMAT = "%Y-%m-%d"
DecimalSeparator = Literal[".", ","]
ThousandsSeparator = Literal[",", ".", " ", "'", ""]
_PROBE_DATE = dt.date(2031, 12, 28)  # day, month and year all differ, so a format must tell them apart


class MappingError(ValueError):
    """A mapping file that is missing, unreadable or invalid."""


def normalize_header(name: str) -> str:
    """How header names are compared: BOM and surrounding whitespace stripped, case-folded."""
    return name.replace("\ufeff", "").strip().casefold()


def _check_date_format(pattern: str) -> str:
    """A strptime format that writes and reads back a whole date (a typo such as ``%M`` for ``%m`` fails)."""
    try:
        read_back = dt.datetime.strptime(_PROBE_DATE.strftime(pattern), pattern).date()
    except ValueError:
        read_back = None
    if read_back != _PROBE_DATE:
        raise ValueError(f"date format {pattern!r} does not read back day, month and year (strptime directives, "
                         "e.g. '%d/%m/%Y')")
    return pattern


def _check_separators(decimal: str, thousands: str, where: str) -> None:
    if decimal == thousands:
        raise ValueError(f"{where}decimal and thousands separators are both {decimal!r}; "
                         "declare thousands as one of ',', '.', ' ', \"'\" or '' for none")


class ColumnFormat(BaseModel):
    """One field's own formats; what it does not give comes from the file-level formats."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: str | None = None
    decimal: DecimalSeparator | None = None
    thousands: ThousandsSeparator | None = None

    @field_validator("date")
    @classmethod
    def _date_reads_back(cls, value: str | None) -> str | None:
        return None if value is None else _check_date_format(value)


class ExportFormats(BaseModel):
    """How the export writes its files and values; the defaults are the canonical formats.

    ``columns`` is keyed by canonical field. Encoding and delimiter are per file only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoding: str = "utf-8"
    delimiter: str = ","
    date: str = ISO_DATE_FORMAT
    decimal: DecimalSeparator = "."
    thousands: ThousandsSeparator = ","
    columns: dict[str, ColumnFormat] = Field(default_factory=dict)

    @field_validator("encoding")
    @classmethod
    def _encoding_is_a_text_codec(cls, value: str) -> str:
        try:
            name = codecs.lookup(value).name
            b"\n".decode(name)  # LookupError for bytes-to-bytes codecs (base64, zlib...)
        except LookupError:
            raise ValueError(f"encoding {value!r} is not a text encoding Python knows") from None
        except UnicodeDecodeError:
            pass  # a multi-byte encoding (UTF-16...): one byte is not a whole character
        return name

    @field_validator("delimiter")
    @classmethod
    def _delimiter_is_one_character(cls, value: str) -> str:
        if len(value) != 1 or value in ('"', "\r", "\n", "\x00"):
            raise ValueError(f"delimiter must be one character other than a quote, NUL or a line end, got {value!r}")
        return value

    @field_validator("date")
    @classmethod
    def _date_reads_back(cls, value: str) -> str:
        return _check_date_format(value)

    @model_validator(mode="after")
    def _separators_differ(self) -> ExportFormats:
        _check_separators(self.decimal, self.thousands, "")
        for name in self.columns:
            _check_separators(*self.number_format(name), f"columns.{name}: ")
        return self

    def date_format(self, field: str) -> str:
        """The strptime format of ``field``'s dates."""
        own = self.columns.get(field)
        return own.date if own is not None and own.date is not None else self.date

    def number_format(self, field: str) -> tuple[str, str]:
        """``(decimal, thousands)`` separators of ``field``'s numbers."""
        own = self.columns.get(field, ColumnFormat())
        return (own.decimal if own.decimal is not None else self.decimal,
                own.thousands if own.thousands is not None else self.thousands)


class ColumnMapping(BaseModel):
    """Canonical field -> legacy column, in canonical field order, plus the policies for odd headers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: str
    columns: dict[str, str] = Field(min_length=1)
    required: tuple[str, ...] = ()
    key: tuple[str, ...] = Field(
        default=(), description="Fields that identify a source record; defaults to the first field."
    )
    on_unknown_columns: Literal["keep_going", "reject_file"] = "keep_going"
    on_missing_columns: Literal["reject_file", "keep_going"] = "reject_file"
    formats: ExportFormats = ExportFormats()
    sync: Literal["upserts", "snapshot", "changes"] = Field(
        default="upserts", description="upserts: a day's files add and change records, absence means nothing; "
        "snapshot: a day's files are the complete set, and a record loaded before and absent now is deleted; "
        f"changes: each row says what to do with its record in the column mapped to {OPERATION_FIELD!r} "
        "(create, update, delete; an empty cell or an absent column is an upsert)")

    @field_validator("entity")
    @classmethod
    def _entity_is_identifier(cls, value: str) -> str:
        if not is_identifier(value):
            raise ValueError(f"entity must be a lower-case identifier, got {value!r}")
        return value

    @field_validator("columns")
    @classmethod
    def _columns_are_sane(cls, columns: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for canonical, legacy in columns.items():
            if not is_identifier(canonical):
                raise ValueError(f"canonical field {canonical!r} is not a lower-case identifier")
            if canonical in LINEAGE_COLUMNS:
                raise ValueError(f"canonical field {canonical!r} clashes with a lineage column")
            if not isinstance(legacy, str) or not normalize_header(legacy):
                raise ValueError(f"legacy column for {canonical!r} must be a non-empty string")
            normalized = normalize_header(legacy)
            if normalized in seen:
                raise ValueError(f"legacy column {legacy!r} is mapped twice ({seen[normalized]!r} and {canonical!r})")
            seen[normalized] = canonical
        return columns

    @model_validator(mode="after")
    def _fields_exist(self) -> ColumnMapping:
        groups = {"required": self.required, "key": self.key, "formats.columns": self.formats.columns}
        for group, names in groups.items():
            unknown = [name for name in names if name not in self.columns]
            if unknown:
                raise ValueError(f"{group} names fields that are not in columns: {unknown}")
        if (OPERATION_FIELD in self.columns) != (self.sync == "changes"):
            raise ValueError(f"sync: changes needs an operation column, mapped as {OPERATION_FIELD!r} in columns, "
                             f"and {OPERATION_FIELD!r} is that column only (sync is {self.sync!r})")
        if OPERATION_FIELD in self.key_fields:
            raise ValueError(f"{OPERATION_FIELD!r} says what to do with a record: it cannot be part of its key")
        return self

    @property
    def fields(self) -> list[str]:
        """Canonical fields in mapping order (the staged table's column order)."""
        return list(self.columns)

    @property
    def record_fields(self) -> list[str]:
        """The fields of the record itself (its content hash's): all but a changes export's operation."""
        return [name for name in self.columns if name != OPERATION_FIELD]

    @property
    def key_fields(self) -> list[str]:
        return list(self.key) or [self.fields[0]]

    @property
    def legacy_to_field(self) -> dict[str, str]:
        """Normalized legacy header name -> canonical field."""
        return {normalize_header(legacy): canonical for canonical, legacy in self.columns.items()}


def _format_errors(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_mapping(text: str, source: str = "<string>") -> ColumnMapping:
    """Parse and validate mapping YAML; errors name the source and every faulty field."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise MappingError(f"{source}: expected a mapping at the top level, got {type(document).__name__}")
    try:
        return ColumnMapping.model_validate(document)
    except ValidationError as exc:
        raise MappingError(f"{source}: invalid column mapping: {_format_errors(exc)}") from exc


def mappings_dir() -> Path:
    """Where the mappings are read: ``$BATCH_ORCHESTRATION_MAPPINGS_DIR`` if set, else the package's folder."""
    configured = os.environ.get(MAPPINGS_DIR_ENV)
    return Path(configured) if configured else MAPPINGS_DIR


def load_mapping(entity: str, path: str | Path | None = None) -> ColumnMapping:
    """The mapping of ``entity``: from ``path`` if given, else ``<entity>.yaml`` in :func:`mappings_dir`.

    The file's ``entity`` must match the one asked for, so a mapping cannot be applied to the wrong export.
    """
    if not is_identifier(entity):
        raise MappingError(f"entity must be a lower-case identifier, got {entity!r}")
    source = Path(path) if path is not None else mappings_dir() / f"{entity}.yaml"
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MappingError(f"no column mapping for {entity!r}: {source} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{source}: cannot read mapping: {exc}") from exc
    mapping = parse_mapping(text, str(source))
    if mapping.entity != entity:
        raise MappingError(f"{source}: declares entity {mapping.entity!r}, expected {entity!r}")
    return mapping

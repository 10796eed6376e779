"""The column mapping of one entity: which legacy CSV column feeds which canonical field.

Mappings live as YAML files in ``batch_orchestration/entities/mappings/<entity>.yaml`` (or any path the
user gives). The YAML is validated here, so a typo in a mapping fails loudly with the file and the
field at fault, instead of surfacing later as a mysteriously empty column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from batch_orchestration.warehouse.backend import is_identifier

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "entities" / "mappings"

# Columns every staged row carries before the canonical fields; a field may not reuse these names.
LINEAGE_COLUMNS: tuple[str, ...] = ("partition_day", "source_file", "source_row", "content_hash")



class MappingError(ValueError):
    """A mapping file that is missing, unreadable or invalid."""


def normalize_header(name: str) -> str:
    """How header names are compared: BOM and surrounding whitespace stripped, case-folded."""
    return name.replace("\ufeff", "").strip().casefold()


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
        for group in ("required", "key"):
            unknown = [name for name in getattr(self, group) if name not in self.columns]
            if unknown:
                raise ValueError(f"{group} names fields that are not in columns: {unknown}")
        return self

    @property
    def fields(self) -> list[str]:
        """Canonical fields in mapping order (the staged table's column order)."""
        return list(self.columns)

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


def load_mapping(entity: str, path: str | Path | None = None) -> ColumnMapping:
    """The mapping of ``entity``: from ``path`` if given, else from the package's mappings folder.

    The file's ``entity`` must match the one asked for, so a mapping cannot be applied to the wrong export.
    """
    if not is_identifier(entity):
        raise MappingError(f"entity must be a lower-case identifier, got {entity!r}")
    source = Path(path) if path is not None else MAPPINGS_DIR / f"{entity}.yaml"
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

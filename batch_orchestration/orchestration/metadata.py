"""Dagster metadata built from pipeline results: numbers the UI can plot, tables it can show."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import dagster as dg
import pandas as pd

from batch_orchestration.entities.registry import MONEY_SQL_TYPE, EntitySpec
from batch_orchestration.ingest.mapping import OPERATION_FIELD, OPERATIONS, load_mapping

_SCHEMA_TYPES = {"TEXT": "string", "BIGINT": "integer", MONEY_SQL_TYPE: "decimal(18,4)"}


def landing_key(entity: EntitySpec) -> dg.AssetKey:
    return dg.AssetKey(["landing", entity.name])


_LINEAGE_COLUMNS = (
    ("partition_day", "string", "The export's day (the partition) the row was exported on"),
    ("source_file", "string", "The landing file the row came from, relative to the landing root"),
    ("source_row", "integer", "The row's number among the file's data rows, from 1 (the header not counted)"),
    ("content_hash", "string", "sha256 of the record's values in field order: a changed record, a new hash"),
)
_SOURCE_KEY = dg.TableColumn("source_key", "string", description="The record's natural key, as text (a "
                             "composite key's parts joined by /): what the ID map and the rejects name it by")
# The model's JSON-schema keywords a description states, and how.
_RULES = (("minLength", "at least {} characters"), ("maxLength", "at most {} characters"), ("minimum", "at least {}"),
          ("ge", "at least {}"), ("exclusiveMinimum", "more than {}"), ("maximum", "at most {}"), ("le", "at most {}"),
          ("pattern", "matching {}"), ("enum", "one of {}"))


@cache
def _model_schema(entity: EntitySpec) -> dict[str, Any]:
    return entity.model.model_json_schema()


def _field_description(entity: EntitySpec, name: str) -> str:
    """What the entity's model says of a field (the one statement of a valid record), and its legacy column."""
    schema = _model_schema(entity)
    field = schema["properties"][name]
    said = [field.get("title", name)]
    if name in schema.get("required", ()):
        said.append("required")
    else:
        said.append("optional" if field.get("default") is None else f"optional, default {field['default']}")
    said += [text.format(field[key]) for key, text in _RULES if key in field]
    legacy = load_mapping(entity.name).columns.get(name)
    said.append(f"from the legacy column {legacy}" if legacy else "not in the export (its default)")
    return "; ".join(said)


def column_schema(entity: EntitySpec, typed: bool) -> dg.TableSchema:
    """The staged (every field as text) or validated (typed as the model) table's columns, each described."""
    lineage = [dg.TableColumn(name, kind, description=text) for name, kind, text in _LINEAGE_COLUMNS]
    fields = [
        dg.TableColumn(name, _SCHEMA_TYPES.get(entity.sql_type(name), "string") if typed else "string",
                       description=_field_description(entity, name))
        for name in entity.fields
    ]
    mapping = load_mapping(entity.name)
    if not typed and OPERATION_FIELD in mapping.columns:  # staged beside the record, not validated into it
        fields.append(dg.TableColumn(OPERATION_FIELD, "string", description=(
            f"What to do with the record: {', '.join(OPERATIONS)}, or empty for an upsert (a changes export); "
            f"from the legacy column {mapping.columns[OPERATION_FIELD]}")))
    return dg.TableSchema(columns=lineage + ([_SOURCE_KEY] if typed else []) + fields)


def staged_lineage(entity: EntitySpec) -> dg.TableColumnLineage:
    """Each canonical column comes from one legacy column of the landing files (the mapping)."""
    mapping = load_mapping(entity.name)
    return dg.TableColumnLineage(
        deps_by_column={
            field: [dg.TableColumnDep(asset_key=landing_key(entity), column_name=legacy)]
            for field, legacy in mapping.columns.items()
        }
    )


def validated_lineage(entity: EntitySpec, staged_key: dg.AssetKey) -> dg.TableColumnLineage:
    return dg.TableColumnLineage(
        deps_by_column={
            field: [dg.TableColumnDep(asset_key=staged_key, column_name=field)] for field in entity.fields
        }
    )


def rejects_metadata(by_code: Mapping[str, int], sample: pd.DataFrame) -> dict[str, Any]:
    metadata: dict[str, Any] = {f"rejects/{code}": count for code, count in sorted(by_code.items())}
    metadata["rejects_total"] = sum(by_code.values())
    if not sample.empty:
        metadata["rejects_sample"] = dg.MetadataValue.md(sample.to_markdown(index=False))
    return metadata

"""Dagster metadata built from pipeline results: numbers the UI can plot, tables it can show."""

from __future__ import annotations

from collections import Counter
from typing import Any

import dagster as dg
import pandas as pd

from batch_orchestration.entities.registry import MONEY_SQL_TYPE, EntitySpec
from batch_orchestration.ingest.mapping import load_mapping
from batch_orchestration.validate.rejects import RejectRecord

_SCHEMA_TYPES = {"TEXT": "string", "BIGINT": "integer", MONEY_SQL_TYPE: "decimal(18,4)"}


def landing_key(entity: EntitySpec) -> dg.AssetKey:
    return dg.AssetKey(["landing", entity.name])


def column_schema(entity: EntitySpec, typed: bool) -> dg.TableSchema:
    lineage = [dg.TableColumn("partition_day", "string"), dg.TableColumn("source_file", "string"),
               dg.TableColumn("source_row", "integer"), dg.TableColumn("content_hash", "string")]
    fields = [
        dg.TableColumn(name, _SCHEMA_TYPES.get(entity.sql_type(name), "string") if typed else "string")
        for name in entity.fields
    ]
    return dg.TableSchema(columns=lineage + ([dg.TableColumn("source_key", "string")] if typed else []) + fields)


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


def rejects_metadata(rejects: list[RejectRecord], sample: pd.DataFrame) -> dict[str, Any]:
    by_code = Counter(r.code for r in rejects)
    metadata: dict[str, Any] = {f"rejects/{code}": count for code, count in sorted(by_code.items())}
    metadata["rejects_total"] = len(rejects)
    if not sample.empty:
        metadata["rejects_sample"] = dg.MetadataValue.md(sample.to_markdown(index=False))
    return metadata

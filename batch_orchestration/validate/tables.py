"""The warehouse tables of validated records, one per entity, typed from the entity's model."""

from __future__ import annotations

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.ingest.mapping import LINEAGE_COLUMNS
from batch_orchestration.warehouse import WarehouseSession
from batch_orchestration.warehouse.backend import quote_identifier


def validated_table(entity: EntitySpec) -> str:
    return f"validated_{entity.name}"


def ensure_validated_table(session: WarehouseSession, entity: EntitySpec) -> None:
    lineage = {"partition_day": "TEXT", "source_file": "TEXT", "source_row": "BIGINT", "content_hash": "TEXT"}
    columns = [f"{quote_identifier(c)} {lineage[c]}" for c in LINEAGE_COLUMNS]
    columns.append('"source_key" TEXT NOT NULL')
    columns += [f"{quote_identifier(f)} {entity.sql_type(f)}" for f in entity.fields]
    session.execute(f"CREATE TABLE IF NOT EXISTS {quote_identifier(validated_table(entity))} ({', '.join(columns)})")

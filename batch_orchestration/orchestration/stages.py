"""The work of each asset, as plain functions over the warehouse (the Dagster layer adds metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.ingest.landing import LandingZone
from batch_orchestration.ingest.mapping import load_mapping
from batch_orchestration.ingest.reports import PartitionResult
from batch_orchestration.ingest.sinks import WarehouseStagingSink
from batch_orchestration.ingest.staging import stage_partition
from batch_orchestration.validate.rejects import RejectRecord, replace_rejects
from batch_orchestration.validate.rows import validate_frame
from batch_orchestration.warehouse import Warehouse, WarehouseSession
from batch_orchestration.warehouse.backend import quote_identifier
from batch_orchestration.warehouse.schema import (
    create_validated_records_view,
    staged_table,
    validated_columns,
    validated_table,
)
from batch_orchestration.warehouse.sql_models import ModelRun, run_models


def stage_day(warehouse: Warehouse, zone: LandingZone, entity: EntitySpec, day: str) -> PartitionResult:
    """Replace the day's staged rows of the entity with what its landing files hold now.

    The files are read (perhaps from S3) into a local spool with no warehouse session open, so other
    runs can use a DuckDB warehouse meanwhile; one short session then replaces the day's rows and its
    staging rejects, which commit or roll back together.
    """
    mapping = load_mapping(entity.name)
    with WarehouseStagingSink() as sink:
        result = stage_partition(zone, mapping, day, sink)
        with warehouse.session() as session:
            sink.replace_day(session)
            replace_rejects(session, entity.name, day, ("staging",), result.rejects)
    return result


def _staged_frame(session: WarehouseSession, entity: EntitySpec, day: str) -> pd.DataFrame:
    table = quote_identifier(staged_table(entity.name))
    return session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? ORDER BY source_file, source_row", (day,))


def _create_candidates(session: WarehouseSession, entity: EntitySpec, valid: pd.DataFrame) -> None:
    """The columns the set rules read, as ``candidate_<entity>``, typed as the validated table is."""
    columns = ["source_file", "source_row", "source_key", *entity.candidate_columns]
    table_types = validated_columns(entity)
    types = {column: table_types[column] for column in columns}
    session.create_temp_table(f"candidate_{entity.name}", valid.reindex(columns=columns), types)


@dataclass
class ValidationResult:
    staged_rows: int
    valid_rows: int
    rejects: list[RejectRecord]
    models_run: list[ModelRun] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len(self.rejects)


def validate_day(warehouse: Warehouse, entity: EntitySpec, day: str) -> ValidationResult:
    """Row rules (pydantic), then the entity's set rules (SQL models), into validated rows and rejects."""
    with warehouse.session() as session:
        checked = validate_frame(entity, _staged_frame(session, entity, day))
        session.create_temp_table("run_context", pd.DataFrame({"partition_day": [day]}))
        _create_candidates(session, entity, checked.valid)
        for other_name in entity.validate_with:
            other = ENTITIES[other_name]
            _create_candidates(session, other, validate_frame(other, _staged_frame(session, other, day)).valid)
        model = f"{entity.name}_set_rejects"
        runs = run_models(session, select=[model])
        set_rejects = session.fetch_df(f"SELECT * FROM {quote_identifier(model)}")
        rejected_rows = set(zip(set_rejects["source_file"], set_rejects["source_row"].astype(int), strict=True))
        keep = [
            (file, int(row)) not in rejected_rows
            for file, row in zip(checked.valid["source_file"], checked.valid["source_row"], strict=True)
        ]
        valid = checked.valid[keep] if len(checked.valid) else checked.valid
        table = validated_table(entity.name)
        session.execute(f"DELETE FROM {quote_identifier(table)} WHERE partition_day = ?", (day,))
        session.append_df(table, valid)
        set_rule_rejects = [
            RejectRecord(entity=entity.name, partition_day=day, source_file=r.source_file,
                         source_row=int(r.source_row), source_key=r.source_key, stage="set_rule",
                         code=r.code, message=r.message)
            for r in set_rejects.itertuples(index=False)
        ]
        rejects = checked.rejects + set_rule_rejects
        replace_rejects(session, entity.name, day, ("validation", "set_rule"), rejects)
    return ValidationResult(staged_rows=len(checked.valid) + len(checked.rejects), valid_rows=len(valid),
                            rejects=rejects, models_run=runs)


def unaccounted_records(warehouse: Warehouse, entity: EntitySpec, day: str, target: str) -> pd.DataFrame:
    """Validated records of the day that ended neither in the ID map nor among the load rejects."""
    with warehouse.session() as session:
        session.create_temp_table("run_context", pd.DataFrame({"partition_day": [day], "target": [target]}))
        create_validated_records_view(session)
        run_models(session, select=["unaccounted_records"], count_rows=False)
        return session.fetch_df("SELECT * FROM unaccounted_records WHERE entity = ?", (entity.name,))

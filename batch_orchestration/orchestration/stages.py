"""The work of each asset, as plain functions over the warehouse (the Dagster layer adds metadata).

Validation of a unit is ``validate.unit.validate_unit``; loading is ``load.loader.Loader``.
"""

from __future__ import annotations

import pandas as pd

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.ingest.landing import LandingZone
from batch_orchestration.ingest.mapping import load_mapping
from batch_orchestration.ingest.reports import PartitionResult
from batch_orchestration.ingest.sinks import WarehouseStagingSink
from batch_orchestration.ingest.staging import stage_partition
from batch_orchestration.validate.rejects import replace_rejects
from batch_orchestration.warehouse import Warehouse
from batch_orchestration.warehouse.schema import create_validated_records_view
from batch_orchestration.warehouse.sql_models import run_models


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


def unaccounted_records(warehouse: Warehouse, entity: EntitySpec, day: str, target: str) -> pd.DataFrame:
    """Validated records of the day that ended neither in the ID map nor among the load rejects."""
    with warehouse.session() as session:
        session.create_temp_table("run_context", pd.DataFrame({"partition_day": [day], "target": [target]}))
        create_validated_records_view(session)
        run_models(session, select=["unaccounted_records"], count_rows=False)
        return session.fetch_df("SELECT * FROM unaccounted_records WHERE entity = ?", (entity.name,))

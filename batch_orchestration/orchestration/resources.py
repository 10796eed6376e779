"""Dagster resources: the warehouse, the landing zone and the settings (targets: ``targets/systems.py``)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from batch_orchestration.ingest.landing import LandingZone, LocalLandingZone, S3LandingZone
from batch_orchestration.load.state import claim_warehouse
from batch_orchestration.warehouse import Warehouse, open_warehouse
from batch_orchestration.warehouse.schema import ensure_schema

# Warehouses whose schema this process has brought up to date: once per process is enough (a step's
# own process, or a run's), and each check costs a query per table (about 0.1 s with 24 tables).
_SCHEMA_ENSURED: set[str] = set()


class WarehouseResource(dg.ConfigurableResource):
    """Where the pipeline keeps its tables: ``duckdb:///file`` or ``postgresql://...``."""

    url: str = Field(description="duckdb:///path/to/file.duckdb or postgresql://user@host/db")
    deployment: str = Field(description="The name of this deployment: the warehouse refuses another one's steps")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Every step, in whatever process, finds the schema in place before it reads or writes, and the
        warehouse its own (``claim_warehouse``)."""
        warehouse = self.open()
        if self.url not in _SCHEMA_ENSURED:
            ensure_schema(warehouse)
            _SCHEMA_ENSURED.add(self.url)
        with warehouse.session() as session:
            claim_warehouse(session, self.deployment, warehouse.shown_url)

    def open(self) -> Warehouse:
        return open_warehouse(self.url)


class LandingZoneResource(dg.ConfigurableResource):
    """The folder or S3 prefix the legacy exports land in, laid out ``<entity>/<YYYY-MM-DD>/*.csv``."""

    kind: str = Field(default="local", description="local or s3")
    root: str = Field(default="landing", description="Local folder (kind=local)")
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str | None = Field(default=None, description="Only for S3-compatible stores")
    s3_region: str = "us-east-1"

    def open(self) -> LandingZone:
        if self.kind == "local":
            return LocalLandingZone(Path(self.root))
        if self.kind == "s3":
            if not self.s3_bucket:
                raise ValueError("an S3 landing zone needs s3_bucket")
            # Credentials come from the standard AWS environment variables or instance role.
            client = S3Resource(endpoint_url=self.s3_endpoint_url, region_name=self.s3_region).get_client()
            return S3LandingZone(self.s3_bucket, self.s3_prefix, client)
        raise ValueError(f"unknown landing zone kind {self.kind!r}: use local or s3")


class PipelineSettingsResource(dg.ConfigurableResource):
    max_reject_rate: float = Field(default=0.10, description="Blocking check: rejects / staged rows per day")
    max_delete_share: float = Field(default=0.05, description="A load that would delete more of an entity's "
                                    "records than this share stops before sending anything")
    confirm_deletes: bool = Field(default=False, description="Set in a run's config to let its loads delete "
                                  "more than max_delete_share (resources.settings.config.confirm_deletes)")

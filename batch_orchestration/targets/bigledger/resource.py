"""BigLedger as a Dagster resource: one per routed target, its key from the environment (``EnvVar``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from batch_orchestration.targets.api_resource import TargetApiResource
from batch_orchestration.targets.bigledger.connector import BigLedgerConnector, BigLedgerSettings


class BigLedgerResource(TargetApiResource):
    """The BigLedger batch API of one target."""

    rate_window_seconds: float = Field(default=60.0, description="The target's rate-limit minute")
    rate_state_path: str | None = Field(default=None, description="File shared by the processes of one machine "
                                        "for pacing")
    rate_state_database: str | None = Field(default=None, description="PostgreSQL database shared by every "
                                            "machine for pacing (the warehouse's); used instead of the file")

    def connector(self) -> BigLedgerConnector:
        return BigLedgerConnector(
            BigLedgerSettings(
                base_url=self.base_url,
                company_id=self.company_id,
                api_key=self.api_key,
                api_key_variable=self.api_key_variable,
                target_name=self.target_name,
                rate_window_seconds=self.rate_window_seconds,
                rate_state_path=Path(self.rate_state_path) if self.rate_state_path else None,
                rate_state_database=self.rate_state_database,
            )
        )

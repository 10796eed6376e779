"""BigLedger as a Dagster resource: one per routed target, its key from the environment (``EnvVar``)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from batch_orchestration.targets.bigledger.connector import BigLedgerConnector, BigLedgerSettings


class BigLedgerResource(dg.ConfigurableResource):
    """The BigLedger batch API of one target. The key is read through ``EnvVar``, never from config."""

    target_name: str = Field(description="The routing's name of this target: its state is kept under it")
    base_url: str
    company_id: str
    api_key: str = Field(description="Set with dg.EnvVar(<api_key_variable>)", repr=False)
    api_key_variable: str = Field(description="The variable the key is read from, named in error messages")
    rate_window_seconds: float = Field(default=60.0, description="The target's rate-limit minute")
    rate_state_path: str | None = Field(default=None, description="File shared by processes for pacing")

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
            )
        )

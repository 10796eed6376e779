"""eBill as a Dagster resource: one per routed target, its key from the environment (``EnvVar``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from batch_orchestration.targets.api_resource import TargetApiResource
from batch_orchestration.targets.ebill.connector import LINES_PER_FILE, EbillConnector, EbillSettings


class EbillResource(TargetApiResource):
    """The eBill file upload API of one target."""

    journal_path: str = Field(description="The connector's memory of its upload URLs (a SQLite file)")
    lines_per_file: int = Field(default=LINES_PER_FILE, description="Invoice lines per child file")

    def connector(self) -> EbillConnector:
        return EbillConnector(
            EbillSettings(
                base_url=self.base_url,
                company_id=self.company_id,
                api_key=self.api_key,
                api_key_variable=self.api_key_variable,
                target_name=self.target_name,
                journal_path=Path(self.journal_path),
                lines_per_file=self.lines_per_file,
            )
        )

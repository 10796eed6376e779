"""The Batch Import API as a Dagster resource: one per routed target, its key from the environment."""

from __future__ import annotations

from batch_orchestration.targets.api_resource import TargetApiResource
from batch_orchestration.targets.batch_import.connector import BatchImportConnector, BatchImportSettings


class BatchImportResource(TargetApiResource):
    """The Batch Import API of one target (its ``company_id`` is only the key's company: not sent)."""

    def connector(self) -> BatchImportConnector:
        return BatchImportConnector(BatchImportSettings(base_url=self.base_url, api_key=self.api_key,
                                                        api_key_variable=self.api_key_variable,
                                                        target_name=self.target_name))

"""Bulk Payables as a Dagster resource: one per routed target, its key from the environment (``EnvVar``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from batch_orchestration.targets.api_resource import TargetApiResource
from batch_orchestration.targets.payables.bindings import PayablesOptions
from batch_orchestration.targets.payables.connector import PayablesConnector, PayablesSettings


class PayablesResource(TargetApiResource):
    """The Bulk Payables API of one target, with its processing strategy."""

    strategy: Literal["Single", "Merge"] = Field(default="Single",
                                                 description="Single, or Merge (then merge_key names the fields)")
    merge_key: list[str] = Field(default_factory=list, description="Merge: payables fields making the merge key")

    def connector(self) -> PayablesConnector:
        return PayablesConnector(
            PayablesSettings(
                base_url=self.base_url,
                company_id=self.company_id,
                api_key=self.api_key,
                api_key_variable=self.api_key_variable,
                target_name=self.target_name,
                options=PayablesOptions(strategy=self.strategy, merge_key=tuple(self.merge_key)),
            )
        )

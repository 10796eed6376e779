"""What every target system's Dagster resource holds: where the target is, and the key's variable."""

from __future__ import annotations

import dagster as dg
from pydantic import Field


class TargetApiResource(dg.ConfigurableResource):
    """One routed target's API. The key is read through ``EnvVar``, never from config."""

    target_name: str = Field(description="The routing's name of this target: its state is kept under it")
    base_url: str
    company_id: str
    api_key: str = Field(description="Set with dg.EnvVar(<api_key_variable>)", repr=False)
    api_key_variable: str = Field(description="The variable the key is read from, named in error messages")

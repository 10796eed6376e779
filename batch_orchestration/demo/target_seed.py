"""Records the target holds before the migration, created through its batch API (what a demo export
does not know about: a customer keyed in by hand in the new ledger, whose email the export reuses)."""

from __future__ import annotations

from typing import Any

import requests

from batch_orchestration.demo.summary import GenerationSummary


def seed_target(base_url: str, company: str, api_key: str, summary: GenerationSummary) -> dict[str, int]:
    """Create ``summary.target_records`` in the target; entity -> records it holds of them afterwards.

    Safe to repeat: a record the target already holds (refused as a duplicate) counts as held.
    """
    held: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {api_key}", "X-Company-Id": company}
    for entity, operations in summary.target_records.items():
        answer = requests.post(f"{base_url}/v1/batch/{entity}", json={"operations": operations},
                               headers=headers, timeout=30)
        answer.raise_for_status()
        results: list[dict[str, Any]] = answer.json()["data"]["results"]
        for result in results:
            error = result.get("error") or {}
            if not result["success"] and "DUPLICATE" not in str(error.get("code")):
                raise RuntimeError(f"the target refused a pre-existing {entity} record: {error}")
        held[entity] = len(results)
    return held


def target_record_counts(summary_data: dict[str, Any]) -> dict[str, int]:
    """entity -> how many pre-existing records a (JSON) summary asks the target to hold."""
    return {entity: len(ops) for entity, ops in summary_data.get("target_records", {}).items()}

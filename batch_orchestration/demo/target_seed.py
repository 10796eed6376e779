"""Records the targets hold before the migration, created through their APIs: what a demo export does
not know about (a customer keyed in by hand in BigLedger, whose email the export reuses), and the
collaborators Bulk Payables must hold before payables can name them."""

from __future__ import annotations

from typing import Any

import requests

from batch_orchestration.demo.summary import GenerationSummary


def seed_target(base_url: str, company: str, api_key: str, summary: GenerationSummary) -> dict[str, int]:
    """Create ``summary.target_records`` in the target; entity -> records it holds of them afterwards.

    Safe to repeat: a record the target already holds (refused as a duplicate) counts as held.
    """
    held: dict[str, int] = {}
    headers = _headers(company, api_key)
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


def seed_collaborators(base_url: str, company: str, api_key: str, collaborators: list[dict[str, str]]) -> int:
    """Create in Bulk Payables those of ``collaborators`` (email, name, externalId) it does not hold; return
    how many of them it holds afterwards (by email and external id, so one held otherwise is not counted).

    Safe to repeat: the target is listed first and only the collaborators whose email it lacks are sent;
    one it holds by the time it is sent (409) counts as held.
    """
    url, headers = f"{base_url}/v1/collaborators", _headers(company, api_key)
    held = {email for email, _ in _collaborators_held(url, headers)}
    for collaborator in collaborators:
        if collaborator["email"].lower() not in held:
            answer = requests.post(url, json=collaborator, headers=headers, timeout=30)
            if answer.status_code != 409:
                answer.raise_for_status()
    pairs = _collaborators_held(url, headers)
    return sum((c["email"].lower(), c["externalId"]) in pairs for c in collaborators)


def _collaborators_held(url: str, headers: dict[str, str]) -> set[tuple[str, str | None]]:
    """(email, external id) of every collaborator the target holds; it keeps emails lower-case."""
    answer = requests.get(url, headers=headers, timeout=30)
    answer.raise_for_status()
    return {(c["email"].lower(), c.get("externalId")) for c in answer.json()["data"]}


def _headers(company: str, api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "X-Company-Id": company}


def target_record_counts(summary_data: dict[str, Any]) -> dict[str, int]:
    """entity -> how many pre-existing records a (JSON) summary asks the target to hold."""
    return {entity: len(ops) for entity, ops in summary_data.get("target_records", {}).items()}

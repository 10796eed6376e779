"""Injected faults, observed by a real HTTP client against ``/v1/import``."""

from __future__ import annotations

import pytest
import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def import_item(sandbox: RunningSandbox, item_id: str = "ITEM-1") -> requests.Response:
    body = {"type": "Items", "data": [{"id": item_id, "name": "Widget"}]}
    return requests.post(f"{sandbox.url}/v1/import", json=body, headers=AUTH, timeout=10)


def set_faults(sandbox: RunningSandbox, spec: str, seed: int | None = None) -> None:
    response = requests.put(f"{sandbox.url}/_sandbox/faults", json={"spec": spec, "seed": seed}, headers=AUTH,
                            timeout=10)
    assert response.status_code == 200, response.text


def item_count(sandbox: RunningSandbox) -> int:
    response = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/counts", headers=AUTH, timeout=10)
    return response.json()["counts"].get("import_items", 0)


def test_faults_are_off_by_default(sandbox: RunningSandbox) -> None:
    assert {import_item(sandbox, f"I-{i}").status_code for i in range(30)} == {200}
    assert item_count(sandbox) == 30


def test_5xx_answers_503_and_inspection_is_exempt(sandbox: RunningSandbox) -> None:
    set_faults(sandbox, "5xx=1")
    response = import_item(sandbox)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert requests.get(f"{sandbox.url}/_sandbox/health", timeout=10).status_code == 200
    assert item_count(sandbox) == 0


def test_429_carries_retry_after(sandbox: RunningSandbox) -> None:
    set_faults(sandbox, "429=1")
    response = import_item(sandbox)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_latency_delays_but_does_not_break_the_request(sandbox: RunningSandbox) -> None:
    # The delay itself is not asserted (no timing assertions); the delayed request must still succeed.
    set_faults(sandbox, "latency_ms=50")
    response = import_item(sandbox)
    assert response.status_code == 200 and response.json()["result"]["accepted"] == 1
    assert item_count(sandbox) == 1


def test_a_lost_response_was_committed_nevertheless(sandbox: RunningSandbox) -> None:
    set_faults(sandbox, "lost=1")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        import_item(sandbox).json()
    set_faults(sandbox, "")
    assert item_count(sandbox) == 1


def test_the_same_seed_gives_the_same_fault_sequence(sandbox: RunningSandbox) -> None:
    def sequence() -> list[int]:
        set_faults(sandbox, "5xx=0.3,429=0.3", seed=7)
        return [import_item(sandbox, f"I-{i}").status_code for i in range(20)]

    first = sequence()
    assert sequence() == first
    assert {200, 429, 503} <= set(first)
    set_faults(sandbox, "5xx=0.3,429=0.3", seed=8)
    assert [import_item(sandbox, f"I-{i}").status_code for i in range(20)] != first

"""The ``/_sandbox`` endpoints: counts per entity, reset, fault settings, and their authentication."""

from __future__ import annotations

from collections.abc import Callable

import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox


def test_counts_per_entity_and_reset(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = sandbox_factory(companies={"a": "k1", "b": "k2"})
    url = f"{sandbox.url}/v1/import"
    for key, body in (
        ("k1", {"type": "Items", "data": [{"id": "I-1", "name": "x"}, {"id": "I-2", "name": "y"}]}),
        ("k1", {"type": "Suppliers", "data": [{"id": "S-1", "name": "z"}]}),
        ("k2", {"type": "Items", "data": [{"id": "I-1", "name": "x"}]}),
    ):
        assert requests.post(url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10).ok

    def counts(company: str, key: str) -> requests.Response:
        return requests.get(f"{sandbox.url}/_sandbox/companies/{company}/counts",
                            headers={"Authorization": f"Bearer {key}"}, timeout=10)

    assert counts("a", "k1").json() == {"company": "a", "counts": {"import_items": 2, "import_suppliers": 1}}
    assert counts("b", "k2").json()["counts"] == {"import_items": 1}

    reset = requests.delete(f"{sandbox.url}/_sandbox/companies/a", headers={"Authorization": "Bearer k1"},
                            timeout=10)
    assert reset.status_code == 204
    assert counts("a", "k1").json()["counts"] == {}
    assert counts("b", "k2").json()["counts"] == {"import_items": 1}  # other companies keep their data


def test_inspection_requires_the_company_key(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = sandbox_factory(companies={"a": "k1", "b": "k2"})
    base = f"{sandbox.url}/_sandbox"
    assert requests.get(f"{base}/companies/a/counts", timeout=10).status_code == 401
    assert requests.get(f"{base}/companies/a/counts", headers={"Authorization": "Bearer k2"},
                        timeout=10).status_code == 401
    assert requests.delete(f"{base}/companies/a", headers={"Authorization": "Bearer nope"},
                           timeout=10).status_code == 401
    assert requests.put(f"{base}/faults", json={"spec": "5xx=1"}, headers={"Authorization": "Bearer nope"},
                        timeout=10).status_code == 401
    bad_spec = requests.put(f"{base}/faults", json={"spec": "5xx=2"}, headers={"Authorization": "Bearer k1"},
                            timeout=10)
    assert bad_spec.status_code == 422
    assert requests.get(f"{base}/health", timeout=10).json() == {"status": "ok"}


def test_the_journal_keeps_what_each_client_sent_and_no_key(sandbox, demo_headers: dict[str, str]) -> None:
    body = '{"operations":[{"operation":"create","referenceId":"r1","data":{"name":"Acme","creditLimit":0.1000}}]}'
    answer = requests.post(f"{sandbox.url}/v1/batch/customers", data=body, timeout=10,
                           headers={**demo_headers, "Content-Type": "application/json"})
    assert answer.status_code == 200
    journal = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/requests", timeout=10,
                           headers={"Authorization": demo_headers["Authorization"]}).json()["requests"]
    assert [(r["method"], r["path"], r["body"]) for r in journal] == [("POST", "/v1/batch/customers", body)]
    assert DEMO_API_KEY not in str(journal)
    refused = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/requests", timeout=10,
                           headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401


def test_every_answer_is_counted_by_status_and_kept_on_the_timeline(
        sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = sandbox_factory(window_seconds=60.0)
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": DEMO_COMPANY}
    answers = [requests.post(f"{sandbox.url}/v1/batch/customers", timeout=10, headers=headers, json={"operations": [
        {"operation": "create", "referenceId": f"r{n}", "data": {"name": f"N{n}", "email": f"n{n}@example.com"}}]})
        for n in range(11)]  # ten batches a window: the eleventh is refused
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    statuses = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/responses", timeout=10,
                            headers={"Authorization": f"Bearer {DEMO_API_KEY}"}).json()["statuses"]
    assert statuses == {"200": 10, "429": 1}
    assert requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/responses", timeout=10).status_code == 401
    timeline = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/timeline", timeout=10,
                            headers={"Authorization": f"Bearer {DEMO_API_KEY}"}).json()["answers"]
    assert [(a["method"], a["path"], a["status"]) for a in timeline] == [("POST", "/v1/batch/customers", 200)] * 10 \
        + [("POST", "/v1/batch/customers", 429)]
    assert all(a["received_at"] <= a["answered_at"] for a in timeline)
    assert [a["received_at"] for a in timeline] == sorted(a["received_at"] for a in timeline)
    assert requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/timeline", timeout=10).status_code == 401

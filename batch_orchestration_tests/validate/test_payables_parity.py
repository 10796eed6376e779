"""Payables: the pipeline and Bulk Payables agree on every edge case of an item.

The pipeline's verdict is its row rules (the ``Payable`` model) and then the binding (what it holds
back); the target's is the sandbox's answer over HTTP to adding the same item to an open batch. A row
the pipeline takes that the target refuses would fail a whole add, and the day with it; a row it
refuses that the target takes would be lost for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from batch_orchestration.entities.models import Payable
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, SandboxConfig
from batch_orchestration.sandbox.server import RunningSandbox, start_in_thread
from batch_orchestration.targets.base import CannotRepresent, TargetIds
from batch_orchestration.targets.payables.bindings import PayablesOptions, payables_binding
from batch_orchestration.targets.wire import encode_json

HEADERS = {"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": DEMO_COMPANY}
ROW = {"payable_key": "V1", "collaborator_email": "ana@example.com", "amount": "10.00", "status": "open"}
ITEM = {"collaboratorEmail": "ana@example.com", "amount": "10.00", "payableStatus": "Open"}

# (what differs in the export's row, the same in the target's item)
CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"amount": "-0.01"}, {"amount": "-0.01"}),  # a deduction
    ({"amount": "0"}, {"amount": "0"}),
    ({"amount": "12.345"}, {"amount": "12.345"}),
    ({"amount": "12.3400"}, {"amount": "12.34"}),  # the warehouse's 4 places, trailing zeros
    ({"amount": "999999999999.99"}, {"amount": "999999999999.99"}),
    ({"amount": "1000000000000"}, {"amount": "1000000000000"}),
    ({"collaborator_email": "a..b@example.com"}, {"collaboratorEmail": "a..b@example.com"}),
    ({"collaborator_email": "x@example.local"}, {"collaboratorEmail": "x@example.local"}),
    ({"collaborator_email": "not an email"}, {"collaboratorEmail": "not an email"}),
    ({"collaborator_email": None, "collaborator_external_id": "VND-1"},
     {"collaboratorEmail": None, "collaboratorExternalId": "VND-1"}),
    ({"collaborator_email": None}, {"collaboratorEmail": None}),
    ({"status": "paid", "paid_date": "2024-03-01"}, {"payableStatus": "Paid", "paidDate": "2024-03-01"}),
    ({"status": "paid"}, {"payableStatus": "Paid"}),
    ({"status": "open", "paid_date": "2024-03-01"}, {"paidDate": "2024-03-01"}),
    ({"status": "on hold"}, {"payableStatus": "On hold"}),
    ({"due_date": "2024-02-30"}, {"dueDate": "2024-02-30"}),
]


def _pipeline_takes(row: dict[str, Any]) -> bool:
    try:
        record = Payable.model_validate({k: v for k, v in row.items() if v is not None}).model_dump()
        payables_binding(PayablesOptions()).payload(record, [], TargetIds({}))
    except (ValidationError, CannotRepresent):
        return False
    return True


def _target_takes(sandbox: RunningSandbox, batch_id: str, item: dict[str, Any]) -> bool:
    body = {"items": [{k: Decimal(v) if k == "amount" else v for k, v in item.items() if v is not None}]}
    answer = requests.post(f"{sandbox.url}/v1/bulk-payables/batches/{batch_id}/items", data=encode_json(body),
                           headers={**HEADERS, "Content-Type": "application/json"}, timeout=10)
    assert answer.status_code in (201, 422), answer.text
    return answer.status_code == 201


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    """One sandbox for the cases: each adds to an open batch of its own, never submitted."""
    running = start_in_thread(SandboxConfig())
    yield running
    running.stop()


@pytest.mark.parametrize(("row", "item"), CASES)
def test_the_pipeline_and_bulk_payables_give_an_item_the_same_verdict(
        shared_sandbox: RunningSandbox, row: dict[str, Any], item: dict[str, Any]) -> None:
    created = requests.post(f"{shared_sandbox.url}/v1/bulk-payables/batches", json={}, headers=HEADERS, timeout=10)
    created.raise_for_status()
    batch_id = created.json()["data"]["bulkPayableBatchId"]
    assert _pipeline_takes({**ROW, **row}) == _target_takes(shared_sandbox, batch_id, {**ITEM, **item})

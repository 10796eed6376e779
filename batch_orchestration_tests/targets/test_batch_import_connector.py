"""The Batch Import connector over real HTTP against the sandbox: rejects by index, resends, refusals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets.base import AmbiguousOutcome, BatchLabel, Outgoing, TargetIds, TargetRefused
from batch_orchestration.targets.batch_import.bindings import BINDINGS
from batch_orchestration.targets.batch_import.connector import BatchImportConnector, BatchImportSettings
from batch_orchestration_tests.targets.lost_answers import losing_the_answers_of

LABEL = BatchLabel("2024-03-01", 0)
SUPPLIERS = [{"supplier_key": f"S{n}", "name": f"Supplier {n}", "email": f"s{n}@example.com", "street": "1 Jalan",
              "city": "Kuala Lumpur", "country": "MY", "tax_number": None, "status": "active"} for n in range(1, 4)]


def _connector(sandbox: RunningSandbox, key: str = DEMO_API_KEY) -> BatchImportConnector:
    return BatchImportConnector(BatchImportSettings(base_url=sandbox.url, api_key=key,
                                                    api_key_variable="PURCHASING_KEY"))


def _outgoing(entity: str, records: list[dict[str, Any]]) -> list[Outgoing]:
    return [Outgoing("create", f"ref{n}", None, BINDINGS[entity].payload(record, [], TargetIds({})))
            for n, record in enumerate(records)]


def _counts(sandbox: RunningSandbox) -> dict[str, int]:
    answer = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/counts",
                          headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=10)
    answer.raise_for_status()
    return answer.json()["counts"]


def test_each_record_gets_its_outcome_and_a_rejected_one_its_message(sandbox: RunningSandbox) -> None:
    batch = _outgoing("suppliers", SUPPLIERS)
    batch[1] = replace(batch[1], data={**batch[1].data, "name": ""})  # a record the API rejects, mid-batch
    outcomes = _connector(sandbox).send_batch(BINDINGS["suppliers"], batch, LABEL)
    assert [(o.success, o.target_id, o.code, o.message) for o in outcomes] == [
        (True, "S1", None, None), (False, None, "IMPORT_REJECTED", "Missing Supplier Name"), (True, "S3", None, None)]
    assert _counts(sandbox)["import_suppliers"] == 2


def test_a_batch_whose_answer_was_lost_is_sent_again_and_replaces_what_it_created(sandbox: RunningSandbox) -> None:
    connector = _connector(sandbox)
    losing_the_answers_of(connector.http, "post_import", {1})
    batch = _outgoing("items", [{"item_code": "W-1", "name": "Widget", "item_type": "inventory", "status": "active"},
                                {"item_code": "SVC", "name": "Install", "item_type": "service", "status": "inactive"}])
    with pytest.raises(AmbiguousOutcome):
        connector.send_batch(BINDINGS["items"], batch, LABEL)
    assert connector.lookup(BINDINGS["items"], [o.reference_id for o in batch], "2024-03-01") == {}  # nothing to ask
    assert all(o.success for o in connector.send_batch(BINDINGS["items"], batch, LABEL))
    assert _counts(sandbox)["import_items"] == 2  # the first send's records replaced (the reading being tested)


def test_a_wrong_key_is_refused_naming_the_variable_not_the_key(sandbox: RunningSandbox) -> None:
    expected = r"HTTP 401 Unauthorized \(check the API key in \$PURCHASING_KEY\)"
    with pytest.raises(TargetRefused, match=expected) as refused:
        _connector(sandbox, key="wrong-key").send_batch(BINDINGS["suppliers"], _outgoing("suppliers", SUPPLIERS), LABEL)
    assert "wrong-key" not in str(refused.value)


@pytest.mark.parametrize(("send", "message"), [
    (lambda c: c.send_batch(replace(BINDINGS["suppliers"], endpoint="Vendors"), _outgoing("suppliers", SUPPLIERS),
                            LABEL), "HTTP 400 Invalid import type"),
    (lambda c: c.send_batch(BINDINGS["suppliers"], _outgoing("suppliers", SUPPLIERS * 34), LABEL),
     "HTTP 400 Exceeded max allowable batch count."),
    (lambda c: c.http.post_import("Suppliers", [], content_type="text/plain"), "HTTP 415 Unsupported Media Type"),
])
def test_the_documented_refusals_end_in_a_clear_error(sandbox: RunningSandbox, send: Any, message: str) -> None:
    with pytest.raises(TargetRefused, match=message):
        send(_connector(sandbox))
    assert _counts(sandbox).get("import_suppliers", 0) == 0

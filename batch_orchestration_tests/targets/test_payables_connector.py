"""The Bulk Payables connector over real HTTP against the sandbox: strategies, outcomes, resends, lookups."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets.base import (
    AmbiguousOutcome,
    BatchLabel,
    CannotRepresent,
    Outgoing,
    TargetIds,
    TargetRefused,
)
from batch_orchestration.targets.payables.bindings import PayablesOptions, payables_binding
from batch_orchestration.targets.payables.connector import ITEMS_PER_REQUEST, PayablesConnector, PayablesSettings
from batch_orchestration.targets.payables.http import batch_path
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.targets.lost_answers import losing_the_answers_of

DAY = "2024-03-01"
LABEL = BatchLabel(DAY, 0)
SINGLE = PayablesOptions()
MERGE = PayablesOptions(strategy="Merge", merge_key=("statement_key",))
HEADERS = {"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": DEMO_COMPANY}


def _connector(sandbox: RunningSandbox, options: PayablesOptions = SINGLE,
               key: str = DEMO_API_KEY) -> PayablesConnector:
    return PayablesConnector(PayablesSettings(base_url=sandbox.url, company_id=DEMO_COMPANY, api_key=key,
                                              api_key_variable="AP_KEY", options=options))


def _collaborators(sandbox: RunningSandbox, *emails: str) -> dict[str, str]:
    """email -> the collaborator's id, created in the target (external id ``EXT-<n>``)."""
    ids = {}
    for n, email in enumerate(emails, 1):
        answer = requests.post(f"{sandbox.url}/v1/collaborators", json={"email": email, "externalId": f"EXT-{n}"},
                               headers=HEADERS, timeout=10)
        answer.raise_for_status()
        ids[email] = answer.json()["data"]["id"]
    return ids


def _payable(key: str, amount: str, statement: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"payable_key": key, "collaborator_email": "ana@example.com", "amount": Decimal(amount),
            "status": "open", "due_date": "2024-03-31", "description": f"voucher {key}", "statement_key": statement,
            **extra}


def _outgoing(connector: PayablesConnector, records: list[dict[str, Any]]) -> list[Outgoing]:
    binding = connector.binding("payables")
    return [Outgoing("create", f"ref-{record['payable_key']}", None, binding.payload(record, [], TargetIds({})))
            for record in records]


def _get(sandbox: RunningSandbox, path: str) -> Any:
    answer = requests.get(f"{sandbox.url}{path}", headers=HEADERS, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]


def _counts(sandbox: RunningSandbox) -> dict[str, int]:
    answer = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/counts",
                          headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=10)
    answer.raise_for_status()
    return answer.json()["counts"]


def test_single_makes_a_payable_of_each_item_and_an_unknown_collaborator_is_the_targets_reject(
        sandbox: RunningSandbox) -> None:
    ids = _collaborators(sandbox, "ana@example.com", "ben@example.com")
    connector = _connector(sandbox)
    batch = _outgoing(connector, [
        _payable("V1", "120.50"),
        _payable("V2", "-20.25", collaborator_email=None, collaborator_external_id="EXT-2"),  # a deduction
        _payable("V3", "10", collaborator_email="nobody@example.com"),
        _payable("V4", "33.10", collaborator_email=None, collaborator_id=ids["ben@example.com"]),
    ])
    outcomes = connector.send_batch(connector.binding("payables"), batch, LABEL)
    assert [(o.success, o.code, o.message) for o in outcomes] == [
        (True, None, None), (True, None, None),
        (False, "PAYABLE_FAILED", "No collaborator with email 'nobody@example.com'"), (True, None, None)]
    assert not outcomes[2].depends_on_others  # its own refusal: the same payload is not sent again
    payables = {p["payableId"]: p for p in _get(sandbox, "/v1/payables")}
    assert len(payables) == 3 and {o.target_id for o in outcomes if o.success} == set(payables)
    by_ref = {o.reference_id: payables[o.target_id] for o in outcomes if o.success}
    assert Decimal(str(by_ref["ref-V2"]["amount"])) == Decimal("-20.25")
    assert by_ref["ref-V2"]["collaboratorId"] == by_ref["ref-V4"]["collaboratorId"] == ids["ben@example.com"]
    assert _counts(sandbox)["payable_batches"] == 1


def test_merge_makes_one_payable_of_a_statement_and_every_row_maps_to_it(sandbox: RunningSandbox) -> None:
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox, MERGE)
    batch = _outgoing(connector, [_payable("V1", "100.10", "ST-1"), _payable("V2", "-0.05", "ST-1"),
                                  _payable("V3", "7", "ST-2")])
    outcomes = connector.send_batch(connector.binding("payables"), batch, LABEL)
    assert all(o.success for o in outcomes)
    assert outcomes[0].target_id == outcomes[1].target_id != outcomes[2].target_id
    merged = _get(sandbox, f"/v1/payables/{outcomes[0].target_id}")
    assert Decimal(str(merged["amount"])) == Decimal("100.05")
    (target_batch,) = _get(sandbox, "/v1/bulk-payables/batches")
    items = _get(sandbox, f"/v1/bulk-payables/batches/{target_batch['bulkPayableBatchId']}/items")
    reference = {item["bulkPayableItemId"]: item["labels"]["bo-ref"] for item in items}
    assert [reference[line["bulkPayableItemId"]] for line in merged["lineItems"]] == ["ref-V1", "ref-V2"]


def test_a_merge_group_with_an_unknown_collaborator_fails_whole(sandbox: RunningSandbox) -> None:
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox, MERGE)
    batch = _outgoing(connector, [_payable("V1", "5", "ST-1"),
                                  _payable("V2", "6", "ST-1", collaborator_email="nobody@example.com"),
                                  _payable("V3", "7", "ST-2")])
    outcomes = connector.send_batch(connector.binding("payables"), batch, LABEL)
    assert [(o.success, o.code, o.depends_on_others) for o in outcomes] == [
        (False, "PAYABLE_FAILED", True), (False, "PAYABLE_FAILED", False), (True, None, False)]  # V2: the culprit
    assert "No collaborator with email 'nobody@example.com'" in str(outcomes[0].message)
    assert _counts(sandbox)["payables"] == 1


@pytest.mark.parametrize("step", ["create_batch", "add_items", "submit", "batch", "items"])
def test_a_batch_sent_again_after_a_lost_answer_finds_its_batch_and_carries_on(sandbox: RunningSandbox,
                                                                               step: str) -> None:
    """What the loader does on an ambiguous answer: send the same batch again. Its label finds the
    batch the first send made; the items it holds are not added twice, nor is it submitted twice."""
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox)
    batch = _outgoing(connector, [_payable(f"V{n}", f"{n}.01") for n in range(1, 4)])
    losing_the_answers_of(connector.http, step, {1})
    with pytest.raises(AmbiguousOutcome):
        connector.send_batch(connector.binding("payables"), batch, LABEL)
    outcomes = connector.send_batch(connector.binding("payables"), batch, LABEL)
    assert all(o.success for o in outcomes)
    counts = _counts(sandbox)
    assert (counts["payable_batches"], counts["payable_items"], counts["payables"]) == (1, 3, 3)


def test_the_same_content_is_one_batch_until_its_outcome_is_recorded(sandbox: RunningSandbox) -> None:
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox)
    batch = _outgoing(connector, [_payable("V1", "1")])
    first = connector.send_batch(connector.binding("payables"), batch, BatchLabel(DAY, 0))
    again = connector.send_batch(connector.binding("payables"), batch, BatchLabel(DAY, 0))
    assert first == again and _counts(sandbox)["payables"] == 1
    connector.send_batch(connector.binding("payables"), batch, BatchLabel(DAY, 1))  # recorded, then sent anew
    assert _counts(sandbox)["payable_batches"] == 2


def test_lookup_waits_for_a_batch_still_processing_and_reads_only_that_day(
        sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(job_record_delay_seconds=0.2)
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox)
    batch = _outgoing(connector, [_payable("V1", "1"), _payable("V2", "2"),
                                  _payable("V3", "3", collaborator_email="nobody@example.com")])
    losing_the_answers_of(connector.http, "batch", {1})  # the first poll: submitted, its processing not seen
    with pytest.raises(AmbiguousOutcome):
        connector.send_batch(connector.binding("payables"), batch, LABEL)
    assert _get(sandbox, "/v1/bulk-payables/batches")[0]["status"] in ("Pending", "Processing")
    references = [o.reference_id for o in batch]
    found = connector.lookup(connector.binding("payables"), references, DAY)
    assert sorted(found) == ["ref-V1", "ref-V2"]  # the failed item made no payable
    assert set(found.values()) == {p["payableId"] for p in _get(sandbox, "/v1/payables")}
    assert connector.lookup(connector.binding("payables"), references, "2024-03-02") == {}


def test_more_items_than_one_request_takes_go_in_several_adds_to_one_batch(sandbox: RunningSandbox) -> None:
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox)
    batch = _outgoing(connector, [_payable(f"V{n}", "1.50") for n in range(ITEMS_PER_REQUEST + 1)])
    assert all(o.success for o in connector.send_batch(connector.binding("payables"), batch, LABEL))
    counts = _counts(sandbox)
    assert (counts["payable_batches"], counts["payable_items"], counts["payables"]) == (1, ITEMS_PER_REQUEST + 1,
                                                                                        ITEMS_PER_REQUEST + 1)


def test_an_amount_the_target_would_round_is_held_back() -> None:
    binding = payables_binding(SINGLE)
    with pytest.raises(CannotRepresent, match=r"12\.345 has more than 2 decimal places; Bulk Payables stores 2"):
        binding.payload(_payable("V1", "12.345"), [], TargetIds({}))
    assert binding.payload(_payable("V1", "12.3400"), [], TargetIds({}))["amount"] == Decimal("12.34")


def test_a_wrong_key_is_refused_naming_the_variable_not_the_key(sandbox: RunningSandbox) -> None:
    connector = _connector(sandbox, key="not-the-key")
    with pytest.raises(TargetRefused) as refused:
        connector.send_batch(connector.binding("payables"), _outgoing(connector, [_payable("V1", "1")]), LABEL)
    assert refused.value.status == 401 and "$AP_KEY" in str(refused.value)
    assert "not-the-key" not in str(refused.value) and "not-the-key" not in repr(connector.http)


def test_an_item_the_api_refuses_names_the_field(sandbox: RunningSandbox) -> None:
    """The pipeline's validation keeps such items out; if one got through, the day stops with the API's words."""
    connector = _connector(sandbox)
    (outgoing,) = _outgoing(connector, [_payable("V1", "1")])
    bad = Outgoing("create", outgoing.reference_id, None, {**outgoing.data, "amount": Decimal(0)})
    with pytest.raises(TargetRefused, match=r"HTTP 422 VALIDATION_ERROR: Invalid request body \(items\.0: "):
        connector.send_batch(connector.binding("payables"), [bad], LABEL)


def test_in_a_merge_a_row_on_no_statement_is_a_payable_of_its_own(sandbox: RunningSandbox) -> None:
    _collaborators(sandbox, "ana@example.com", "ben@example.com")
    connector = _connector(sandbox, MERGE)
    batch = _outgoing(connector, [_payable("V1", "5"), _payable("V2", "6", collaborator_email="ben@example.com"),
                                  _payable("V3", "7", "ST-1"), _payable("V4", "8", "ST-1")])
    outcomes = connector.send_batch(connector.binding("payables"), batch, LABEL)
    assert all(o.success for o in outcomes)
    assert len({o.target_id for o in outcomes}) == 3  # V1, V2 alone; V3 and V4 one statement


def test_a_refusal_after_the_submit_leaves_the_batch_in_doubt_and_its_payables_are_found(
        sandbox: RunningSandbox) -> None:
    """A key revoked while the batch is processed: the target may make its payables all the same, so the
    loader must not take the refusal for "nothing applied" (it would close the intent, and a day that
    grew meanwhile would send the rows again under a new label)."""
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox)
    batch = _outgoing(connector, [_payable("V1", "1"), _payable("V2", "2")])
    real, calls = connector.http.batch, 0

    def refused_once(batch_id: str) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TargetRefused(401, "HTTP 401 UNAUTHORIZED (check the API key in $AP_KEY)")
        return real(batch_id)

    connector.http.batch = refused_once  # type: ignore[method-assign]
    with pytest.raises(AmbiguousOutcome, match="the batch was submitted: it may be processed"):
        connector.send_batch(connector.binding("payables"), batch, LABEL)
    found = connector.lookup(connector.binding("payables"), [o.reference_id for o in batch], DAY)
    assert sorted(found) == ["ref-V1", "ref-V2"] and _counts(sandbox)["payables"] == 2


def test_a_batch_that_came_to_hold_a_row_twice_is_given_up_on_unsubmitted(sandbox: RunningSandbox) -> None:
    """An add given up on (its answer lost) but applied twice meanwhile, as a late retry of a proxy
    would: the batch would make a payable twice. It is never submitted; the next generation loads."""
    _collaborators(sandbox, "ana@example.com")
    connector = _connector(sandbox)
    batch = _outgoing(connector, [_payable("V1", "1"), _payable("V2", "2")])
    real, calls = connector.http.add_items, 0

    def applied_twice_answer_lost(batch_id: str, items: list[dict[str, Any]]) -> None:
        nonlocal calls
        calls += 1
        real(batch_id, items)
        if calls == 1:
            real(batch_id, items)
            raise AmbiguousOutcome("add_items: the answer was lost")

    connector.http.add_items = applied_twice_answer_lost  # type: ignore[method-assign]
    with pytest.raises(AmbiguousOutcome):
        connector.send_batch(connector.binding("payables"), batch, LABEL)
    outcomes = connector.send_batch(connector.binding("payables"), batch, LABEL)
    assert all(o.success for o in outcomes)
    batches = {b["labels"]["bo-batch"][-3:]: b["status"] for b in _get(sandbox, "/v1/bulk-payables/batches")}
    assert sorted(batches.values()) == ["Complete", "Open"] and batches["-g2"] == "Complete"
    assert _counts(sandbox)["payables"] == 2


def test_a_batch_id_that_is_not_an_id_never_reaches_a_path() -> None:
    with pytest.raises(TargetRefused, match="not an id"):
        batch_path("..", "/items")
    assert batch_path("bpb_000001", "/items") == "/v1/bulk-payables/batches/bpb_000001/items"

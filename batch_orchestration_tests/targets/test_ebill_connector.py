"""The eBill connector over real HTTP against the sandbox: files, child files, outcomes, resumption."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
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
from batch_orchestration.targets.ebill.bindings import BINDINGS
from batch_orchestration.targets.ebill.connector import EbillConnector, EbillSettings
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.targets.lost_answers import losing_the_answers_of

DAY = "2024-03-01"
LABEL = BatchLabel(DAY, 0)  # the day's first batch
CUSTOMERS = [{"customer_key": f"C{n}", "name": f"Customer {n}", "email": f"c{n}@example.com", "country": "US"}
             for n in range(1, 4)]


def _connector(sandbox: RunningSandbox, tmp_path: Path, **overrides: Any) -> EbillConnector:
    return EbillConnector(EbillSettings(base_url=sandbox.url, company_id=DEMO_COMPANY, api_key=DEMO_API_KEY,
                                        journal_path=tmp_path / "journal.sqlite", **overrides))


def _counts(sandbox: RunningSandbox) -> dict[str, int]:
    answer = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/counts",
                          headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, timeout=10)
    answer.raise_for_status()
    return answer.json()["counts"]


def _outgoing(entity: str, records: list[tuple[dict[str, Any], list[dict[str, Any]]]],
              ids: TargetIds | None = None) -> list[Outgoing]:
    binding = BINDINGS[entity]
    return [Outgoing("create", f"ref{n}", None, binding.payload(record, parts, ids or TargetIds({})))
            for n, (record, parts) in enumerate(records)]


def _invoice(key: str, customer: str, **extra: Any) -> dict[str, Any]:
    return {"invoice_key": key, "customer_key": customer, "invoice_date": "2024-02-01", "total_amount": None,
            **extra}


def _line(invoice: str, number: int, quantity: str = "2", price: str = "10.50") -> dict[str, Any]:
    return {"invoice_key": invoice, "line_number": number, "item_code": "W-1", "quantity": Decimal(quantity),
            "unit_price": Decimal(price)}


def _send_customers(connector: EbillConnector, label: BatchLabel = LABEL) -> None:
    outcomes = connector.send_batch(BINDINGS["customers"], _outgoing("customers", [(c, []) for c in CUSTOMERS]), label)
    assert [(o.success, o.target_id) for o in outcomes] == [(True, "C1"), (True, "C2"), (True, "C3")]


def test_invoices_go_with_their_lines_in_child_files_and_each_row_has_its_outcome(
        sandbox: RunningSandbox, tmp_path: Path) -> None:
    connector = _connector(sandbox, tmp_path, lines_per_file=2)  # 5 lines: three child files
    _send_customers(connector)
    ids = TargetIds({"customers": {c["customer_key"]: c["customer_key"] for c in CUSTOMERS}})
    batch = _outgoing("invoices", [
        (_invoice("INV-1", "C1"), [_line("INV-1", 1), _line("INV-1", 2), _line("INV-1", 3)]),
        (_invoice("INV-2", "C2", due_date="2024-01-01"), [_line("INV-2", 1)]),  # due before its date: eBill refuses
        (_invoice("INV-3", "C3"), [_line("INV-3", 1)]),
    ], ids)
    batch[2].data["parts"][0]["lineNumber"] = "0"  # a line eBill refuses under an invoice it takes
    outcomes = connector.send_batch(BINDINGS["invoices"], batch, LABEL)

    first, second, third = outcomes
    assert first.success and first.target_id == "INV-1" and first.part_ids == ("INV-1:1", "INV-1:2", "INV-1:3")
    assert not second.success and second.code == "ROW_FAILED" and "dueDate must not be before" in second.message
    assert not third.success and third.code == "PART_FAILED"
    assert third.message == "line INV-3:0 was refused: lineNumber must be a whole number from 1, got '0'"
    counts = _counts(sandbox)
    assert counts["ebill_invoices"] == 2  # INV-1, and INV-3, whose row eBill took without its line
    assert counts["ebill_invoice_line_items"] == 3  # INV-2's line names an invoice eBill refused; INV-3's is "0"
    # customers: one batch; invoices: one batch and its three child batches
    assert counts["ebill_batch_processes"] == 1 + 1 + 3


def _invoices_with_lines(connector: EbillConnector) -> list[Outgoing]:
    _send_customers(connector)
    ids = TargetIds({"customers": {c["customer_key"]: c["customer_key"] for c in CUSTOMERS}})
    return _outgoing("invoices", [(_invoice("INV-1", "C1"), [_line("INV-1", 1), _line("INV-1", 2)])], ids)


@pytest.mark.parametrize(("step", "nth", "batches"), [
    ("upload", 1, 1 + 2),     # the invoice file's PUT: written again
    ("upload", 2, 1 + 2),     # the child file's PUT
    ("finalize", 1, 1 + 2),   # finalized: ALREADY_FINALIZED on the resend, then polled
    ("status", 2, 1 + 2),     # the first poll after the finalize (the first ask finds no batch yet)
    ("create_upload", 1, 1 + 2 + 1),  # the invoice batch's: its URL never came, it stays an empty Draft
    ("create_upload", 2, 1 + 2 + 2),  # the child batch's: the same, for both
])
def test_a_batch_sent_again_after_a_lost_answer_carries_on_its_upload(
        sandbox: RunningSandbox, tmp_path: Path, step: str, nth: int, batches: int) -> None:
    """What the loader does on an ambiguous answer: send the same batch again. The same content and
    label find the same ``jobId`` and carry on from where it was (the customers' batch counts one)."""
    connector = _connector(sandbox, tmp_path)
    batch = _invoices_with_lines(connector)
    losing_the_answers_of(connector.http, step, {nth})
    with pytest.raises(AmbiguousOutcome):
        connector.send_batch(BINDINGS["invoices"], batch, LABEL)
    (outcome,) = connector.send_batch(BINDINGS["invoices"], batch, LABEL)
    assert outcome.success and outcome.part_ids == ("INV-1:1", "INV-1:2")
    counts = _counts(sandbox)
    assert counts["ebill_batch_processes"] == batches
    assert (counts["ebill_invoices"], counts["ebill_invoice_line_items"]) == (1, 2)


def test_batches_given_up_on_are_passed_by_and_do_not_block_the_content(sandbox: RunningSandbox,
                                                                        tmp_path: Path) -> None:
    """Three lost answers to the create in a row: each leaves an empty Draft, and the fourth send loads."""
    connector = _connector(sandbox, tmp_path)
    batch = _outgoing("customers", [(c, []) for c in CUSTOMERS])
    losing_the_answers_of(connector.http, "create_upload", {1, 2, 3})
    for _ in range(3):
        with pytest.raises(AmbiguousOutcome):
            connector.send_batch(BINDINGS["customers"], batch, LABEL)
    assert all(o.success for o in connector.send_batch(BINDINGS["customers"], batch, LABEL))
    assert _counts(sandbox)["ebill_batch_processes"] == 4


def test_the_same_batch_sent_again_before_its_outcome_was_recorded_reads_the_same_upload(
        sandbox: RunningSandbox, tmp_path: Path) -> None:
    """A run that died after reading the outcome, before recording it, sends the batch again: the label
    has not moved on, so it is the same upload, read again."""
    connector = _connector(sandbox, tmp_path)
    _send_customers(connector)
    _send_customers(connector)
    assert _counts(sandbox)["ebill_batch_processes"] == 1


def test_the_same_content_sent_after_its_outcome_was_recorded_is_a_new_upload(sandbox: RunningSandbox,
                                                                              tmp_path: Path) -> None:
    """A record changed and changed back sends the first content again, after the loader recorded a
    batch: it must be applied again, not answered from the old batch's output."""
    connector = _connector(sandbox, tmp_path)
    _send_customers(connector, BatchLabel(DAY, 0))
    _send_customers(connector, BatchLabel(DAY, 1))
    assert _counts(sandbox)["ebill_batch_processes"] == 2


def test_values_with_line_breaks_quotes_and_commas_arrive_whole(sandbox: RunningSandbox, tmp_path: Path) -> None:
    connector = _connector(sandbox, tmp_path)
    awkward = [{**CUSTOMERS[0], "name": "Acme\rTrading"}, {**CUSTOMERS[1], "name": 'Beta "Foods",\nLtd'},
               {**CUSTOMERS[2], "name": "Gamma\r\nGroup, Inc."}]
    outcomes = connector.send_batch(BINDINGS["customers"], _outgoing("customers", [(c, []) for c in awkward]), LABEL)
    assert [(o.success, o.target_id) for o in outcomes] == [(True, "C1"), (True, "C2"), (True, "C3")]
    assert _counts(sandbox)["ebill_customers"] == 3  # no row broken in two


def test_a_record_ebill_would_round_is_held_back() -> None:
    with pytest.raises(CannotRepresent, match=r"line 1: unit price 10.505 has more than 2 decimal places"):
        BINDINGS["invoices"].payload(_invoice("INV-9", "C1"), [_line("INV-9", 1, price="10.505")],
                                     TargetIds({"customers": {"C1": "C1"}}))


def test_a_wrong_key_is_refused_naming_the_variable(sandbox: RunningSandbox, tmp_path: Path) -> None:
    connector = EbillConnector(EbillSettings(base_url=sandbox.url, company_id=DEMO_COMPANY, api_key="wrong",
                                             journal_path=tmp_path / "j.sqlite", api_key_variable="EU_EBILL_KEY"))
    with pytest.raises(TargetRefused, match=r"HTTP 401 UNAUTHORIZED.*\$EU_EBILL_KEY") as refused:
        connector.send_batch(BINDINGS["customers"], _outgoing("customers", [(CUSTOMERS[0], [])]), LABEL)
    assert "wrong" not in str(refused.value)


def test_files_go_to_s3_presigned_urls(sandbox_factory: SandboxFactory, moto_s3_endpoint: str, moto_s3_bucket: str,
                                       tmp_path: Path) -> None:
    sandbox = sandbox_factory(s3_endpoint_url=moto_s3_endpoint, s3_bucket=moto_s3_bucket)
    connector = _connector(sandbox, tmp_path)
    _send_customers(connector)
    s3 = boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=moto_s3_bucket)["Contents"]]
    assert [k for k in keys if "/in/" in k] and [k for k in keys if "/out/" in k], keys
    uploaded = next(k for k in keys if "/in/" in k)
    body = s3.get_object(Bucket=moto_s3_bucket, Key=uploaded)["Body"].read().decode()
    assert body.splitlines()[0].startswith("customerNumber,name,email")
    assert _counts(sandbox)["ebill_customers"] == 3

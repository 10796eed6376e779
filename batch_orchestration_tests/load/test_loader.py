"""The loader against a real sandbox over HTTP and a real warehouse (DuckDB and PostgreSQL)."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.ingest.mapping import MAPPINGS_DIR_ENV
from batch_orchestration.load.loader import BatchUnconfirmed, DeleteGuard, DeletesStopped, Loader
from batch_orchestration.load.planner import reference_id
from batch_orchestration.load.trace import trace
from batch_orchestration.orchestration.stages import unaccounted_records
from batch_orchestration.sandbox.config import DEMO_API_KEY, FaultConfig
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets.base import BatchLabel, Binding, NotApplied, Outgoing, TargetIds, TargetRefused
from batch_orchestration.targets.bigledger import BigLedgerConnector
from batch_orchestration.targets.bigledger.bindings import BINDINGS
from batch_orchestration.targets.retry import RetryPolicy
from batch_orchestration.validate.rejects import RejectRecord, append_rejects
from batch_orchestration.warehouse import Warehouse
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.load.conftest import (
    DAY,
    connector_for,
    create_in_target,
    customer,
    declare_sync,
    invoice,
    line,
    put_validated,
    sent,
)

CUSTOMERS, INVOICES = (ENTITIES[name] for name in ("customers", "invoices"))


def _rows(warehouse: Warehouse, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with warehouse.session() as session:
        return session.fetch_all(sql, params)


def _mapped(warehouse: Warehouse, entity: str) -> set[str]:
    return {key for (key,) in _rows(warehouse, "SELECT source_key FROM id_map WHERE entity = ?", (entity,))}


def _load_rejects(warehouse: Warehouse, entity: str) -> dict[str, tuple[str, str]]:
    rows = _rows(warehouse, "SELECT source_key, code, message FROM rejects WHERE entity = ? AND stage = 'load'",
                 (entity,))
    return {key: (code, message) for key, code, message in rows}


def _references(connector: BigLedgerConnector, entity: str) -> Counter[str]:
    return Counter(record.get("referenceId") for record in connector.read_all(connector.binding(entity)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_parent_the_target_refuses_rejects_its_children_and_nothing_else(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    connector = connector_for(sandbox, tmp_path)
    # The target already holds a customer with C2's email, created outside the migration.
    created = create_in_target(connector, "customers", "legacy-entry",
                               {"name": "Elsewhere", "email": "taken@example.com"})
    assert created.success
    put_validated(warehouse, "customers", [customer("C1"), customer("C2", email="Taken@example.com")])
    put_validated(warehouse, "invoices", [invoice("I1", "C1", "30.00"), invoice("I2", "C2", "10.00")])
    put_validated(warehouse, "invoice_line_items", [line("I1", 1, "3", "10.00"), line("I2", 1, "1", "10.00"),
                                                    line("I2", 2, "1", "0.00")])
    loader = Loader(warehouse, connector)

    customers = loader.load_unit(CUSTOMERS, DAY)["customers"]
    reports = loader.load_unit(INVOICES, DAY)
    invoices, lines = reports["invoices"], reports["invoice_line_items"]

    assert (customers.created, customers.rejected) == (1, 1)
    code, message = _load_rejects(warehouse, "customers")["C2"]
    assert code.startswith("DUPLICATE") and "email" in message.lower()
    assert (invoices.created, invoices.rejected) == (1, 1)
    assert invoices.rejects_by_code == Counter({"PARENT_REJECTED": 1})
    code, message = _load_rejects(warehouse, "invoices")["I2"]
    assert code == "PARENT_REJECTED"
    assert message.startswith("customers C2 is not in the target: it was rejected at load: DUPLICATE")
    assert (lines.created, lines.rejected) == (1, 2)
    assert {key: code for key, (code, _) in _load_rejects(warehouse, "invoice_line_items").items()} == {
        "I2/1": "HEADER_REJECTED", "I2/2": "HEADER_REJECTED"}
    assert _load_rejects(warehouse, "invoice_line_items")["I2/1"][1].startswith(
        "invoices I2 was not loaded: PARENT_REJECTED: customers C2 is not in the target")
    assert _mapped(warehouse, "invoices") == {"I1"} and _mapped(warehouse, "invoice_line_items") == {"I1/1"}
    assert _references(connector, "invoices") == Counter({reference_id("invoices", "I1"): 1})


class RenamingConnector(BigLedgerConnector):
    """What a fix in a payload builder looks like to the loader: the same record, another payload."""

    renamed: set[str] = set()

    def binding(self, entity: str) -> Binding:
        original = super().binding(entity)

        def payload(record: dict[str, Any], parts: Sequence[dict[str, Any]], ids: TargetIds) -> dict[str, Any]:
            data = original.payload(record, parts, ids)
            if record["source_key"] in self.renamed:
                data["name"] = data["name"].upper()
            return data

        return replace(original, payload=payload)


def test_a_payload_change_resends_exactly_the_records_it_changes(warehouse: Warehouse, sandbox,
                                                                  tmp_path: Path) -> None:
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(1, 6)])
    first = Loader(warehouse, connector_for(sandbox, tmp_path)).load_unit(CUSTOMERS, DAY)["customers"]
    assert first.created == 5

    changed = RenamingConnector(connector_for(sandbox, tmp_path).settings)
    changed.renamed = {"C2", "C4"}
    second = Loader(warehouse, changed).load_unit(CUSTOMERS, DAY)["customers"]
    third = Loader(warehouse, changed).load_unit(CUSTOMERS, DAY)["customers"]

    assert (second.created, second.updated, second.skipped) == (0, 2, 3)
    assert (third.updated, third.skipped) == (0, 5)
    names = {record["referenceId"]: record["name"] for record in changed.read_all(changed.binding("customers"))}
    assert names[reference_id("customers", "C2")] == "CUSTOMER C2"
    assert names[reference_id("customers", "C1")] == "Customer C1"


def test_lost_and_failed_answers_are_settled_by_lookup_without_duplicates(
        warehouse: Warehouse, sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sandbox = sandbox_factory(window_seconds=1.0, faults=FaultConfig(p_lost=0.3, p_5xx=0.2), fault_seed=3)
    put_validated(warehouse, "customers", [customer(f"C{n:04}") for n in range(1100)])  # batches of 500, 500, 100
    patient = RetryPolicy(max_attempts=12, max_seconds=60.0, backoff_seconds=0.05, backoff_cap_seconds=0.2)
    connector = connector_for(sandbox, tmp_path, policy=patient)

    report = Loader(warehouse, connector).load_unit(CUSTOMERS, DAY)["customers"]

    assert report.ambiguous_batches > 0 and report.recovered_by_lookup > 0
    assert report.created == 1100
    references = _references(connector, "customers")
    assert len(references) == 1100 and max(references.values()) == 1
    assert len(_mapped(warehouse, "customers")) == 1100


def test_a_target_that_is_down_fails_within_the_policy_before_anything_is_sent(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    """Before creating, the load asks the target how many of the pipeline's records it holds (a lost ID
    map must not create them twice): a target that is down fails that read, and nothing is opened."""
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(10)])
    down = connector_for(sandbox, tmp_path, base_url=f"http://127.0.0.1:{_free_port()}")

    with pytest.raises(NotApplied, match="refused the connection"):
        Loader(warehouse, down).load_unit(CUSTOMERS, DAY)["customers"]
    assert _rows(warehouse, "SELECT status FROM intent_log") == []
    assert not _mapped(warehouse, "customers")

    report = Loader(warehouse, connector_for(sandbox, tmp_path)).load_unit(CUSTOMERS, DAY)["customers"]
    assert (report.reconciled_intents, report.created) == (0, 10)


def test_a_batch_sent_to_a_target_gone_down_stays_open_and_the_next_run_settles_it(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(10)])
    Loader(warehouse, connector_for(sandbox, tmp_path)).load_unit(CUSTOMERS, DAY)
    put_validated(warehouse, "customers", [{**customer(f"C{n}"), "name": f"Renamed {n}"} for n in range(10)])
    down = connector_for(sandbox, tmp_path, base_url=f"http://127.0.0.1:{_free_port()}")

    with pytest.raises(BatchUnconfirmed, match="still unconfirmed"):  # updates: nothing to count first
        Loader(warehouse, down).load_unit(CUSTOMERS, DAY)["customers"]
    assert sorted(_rows(warehouse, "SELECT status FROM intent_log")) == [("closed",), ("open",)]

    report = Loader(warehouse, connector_for(sandbox, tmp_path)).load_unit(CUSTOMERS, DAY)["customers"]
    assert (report.reconciled_intents, report.updated) == (1, 10)
    assert sorted(_rows(warehouse, "SELECT status FROM intent_log")) == [("closed",), ("closed",), ("reconciled",)]


def test_a_wrong_key_is_final_and_named_by_its_variable_not_its_value(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    put_validated(warehouse, "customers", [customer("C1")])
    wrong = connector_for(sandbox, tmp_path, api_key="not-the-key-0451")

    with pytest.raises(TargetRefused) as refused:  # by the count of the pipeline's records, first
        Loader(warehouse, wrong).load_unit(CUSTOMERS, DAY)["customers"]
    assert refused.value.status == 401
    assert "$BIGLEDGER_API_KEY" in str(refused.value) and "not-the-key-0451" not in str(refused.value)
    assert "not-the-key-0451" not in repr(wrong.settings) + repr(wrong.http)
    assert _rows(warehouse, "SELECT status FROM intent_log") == [] and not _mapped(warehouse, "customers")

    Loader(warehouse, connector_for(sandbox, tmp_path)).load_unit(CUSTOMERS, DAY)
    put_validated(warehouse, "customers", [{**customer("C1"), "name": "Renamed"}])
    with pytest.raises(TargetRefused, match="BIGLEDGER_API_KEY"):  # an update is sent without a count
        Loader(warehouse, wrong).load_unit(CUSTOMERS, DAY)["customers"]
    assert sorted(_rows(warehouse, "SELECT status FROM intent_log")) == [("closed",), ("refused",)]


def test_amounts_stay_exact_from_the_warehouse_to_the_target(warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    huge = "12345678901234.5678"  # 18 significant digits: a float would send 12345678901234.568
    put_validated(warehouse, "customers", [customer("C1")])
    put_validated(warehouse, "invoices", [invoice("BIG", "C1", huge), invoice("SUM", "C1", "0.30")])
    put_validated(warehouse, "invoice_line_items", [line("BIG", 1, "1", huge), line("SUM", 1, "1", "0.10"),
                                                    line("SUM", 2, "1", "0.20")])
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    for root in (CUSTOMERS, INVOICES):
        loader.load_unit(root, DAY)

    with warehouse.session() as session:
        stored = dict(session.fetch_all("SELECT source_key, total_amount FROM validated_invoices"))
    assert stored == {"BIG": Decimal(huge), "SUM": Decimal("0.30")}
    (body,) = [r["body"] for r in sent(sandbox, "POST", "/v1/batch/invoices")]
    assert f'"total":{huge}' in body and f'"unitPrice":{huge}' in body
    assert '"unitPrice":0.1000' in body and '"unitPrice":0.2000' in body


def test_the_same_entity_in_two_targets_keeps_two_histories(
        warehouse: Warehouse, sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    first, second = sandbox_factory(window_seconds=1.0), sandbox_factory(window_seconds=1.0)
    main = connector_for(first, tmp_path / "main")
    europe = connector_for(second, tmp_path / "europe", target_name="bigledger_eu")  # its own name, its own state
    create_in_target(main, "customers", "elsewhere", {"name": "Elsewhere", "email": "taken@example.com"})
    put_validated(warehouse, "customers", [customer("C1"), customer("C2", email="taken@example.com")])

    assert Loader(warehouse, main).load_unit(CUSTOMERS, DAY)["customers"].rejected == 1
    assert Loader(warehouse, europe).load_unit(CUSTOMERS, DAY)["customers"].created == 2
    again = Loader(warehouse, europe).load_unit(CUSTOMERS, DAY)["customers"]  # clears only its own load rejects

    assert again.skipped == 2
    assert _rows(warehouse, "SELECT target, source_key FROM rejects WHERE stage = 'load'") == [("bigledger", "C2")]
    assert sorted(_rows(warehouse, "SELECT target, source_key FROM id_map")) == [
        ("bigledger", "C1"), ("bigledger_eu", "C1"), ("bigledger_eu", "C2")]
    for target in ("bigledger", "bigledger_eu"):
        assert unaccounted_records(warehouse, CUSTOMERS, DAY, target).empty, target
    assert len(unaccounted_records(warehouse, CUSTOMERS, DAY, "a-third-ledger")) == 2


class LosesTheFirstAnswer(BigLedgerConnector):
    """The sandbox drops the answer to the first batch (the reads before it are answered)."""

    lost_once = False

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[Any]:
        if self.lost_once:
            return super().send_batch(binding, batch, label)
        self.lost_once = True
        _set_faults(self.settings.base_url, "lost=1.0")
        try:
            return super().send_batch(binding, batch, label)
        finally:
            _set_faults(self.settings.base_url, "")


class KeyRevokedAfterTheFirstSend(LosesTheFirstAnswer):
    """The first batch goes out (and its answer is lost); then the key is revoked, as in a key
    rotation mid-run or a proxy that starts refusing: every later request gets a real 401."""

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[Any]:
        try:
            return super().send_batch(binding, batch, label)
        finally:
            self.http._session.headers["Authorization"] = "Bearer revoked"  # what a revoked key sends


def test_a_refusal_after_a_lost_answer_leaves_the_batch_to_be_settled(
        warehouse: Warehouse, sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sandbox = sandbox_factory(window_seconds=1.0)
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(5)])
    revoked = KeyRevokedAfterTheFirstSend(connector_for(sandbox, tmp_path).settings)

    with pytest.raises(TargetRefused):
        Loader(warehouse, revoked).load_unit(CUSTOMERS, DAY)["customers"]
    assert _rows(warehouse, "SELECT status FROM intent_log") == [("open",)]  # the lost batch was applied

    settled = Loader(warehouse, connector_for(sandbox, tmp_path)).load_unit(CUSTOMERS, DAY)["customers"]
    assert (settled.reconciled_intents, settled.created, settled.skipped) == (1, 0, 5)
    references = _references(connector_for(sandbox, tmp_path), "customers")
    assert len(references) == 5 and max(references.values()) == 1


def test_a_new_spelling_of_the_same_payload_is_skipped_and_accounted_for(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    put_validated(warehouse, "customers", [customer("C1")], day="2024-03-01")
    loader.load_unit(CUSTOMERS, "2024-03-01")["customers"]
    respelled = {**customer("C1"), "credit_limit": Decimal("1000")}  # was 1000.00: other text, same payload
    put_validated(warehouse, "customers", [respelled], day="2024-03-02")

    report = loader.load_unit(CUSTOMERS, "2024-03-02")["customers"]

    assert (report.skipped, report.batches_sent) == (1, 0)
    assert unaccounted_records(warehouse, CUSTOMERS, "2024-03-02", "bigledger").empty


def _set_faults(sandbox: RunningSandbox | str, spec: str) -> None:
    url = sandbox if isinstance(sandbox, str) else sandbox.url
    requests.put(f"{url}/_sandbox/faults", json={"spec": spec}, timeout=10,
                 headers={"Authorization": f"Bearer {DEMO_API_KEY}"}).raise_for_status()


def test_lines_are_recorded_under_their_header_and_settle_with_it(
        warehouse: Warehouse, sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """A line has no id of its own in BigLedger: it is held by its invoice. When the invoice's answer
    was lost and a later run settles it by lookup, its lines (named by the intent) are recorded with it
    and nothing is resent."""
    sandbox = sandbox_factory(window_seconds=1.0)
    put_validated(warehouse, "customers", [customer("C1")])
    put_validated(warehouse, "invoices", [invoice("I1", "C1", "30.00")])
    put_validated(warehouse, "invoice_line_items", [line("I1", 1, "2", "10.00"), line("I1", 2, "1", "10.00")])
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    loader.load_unit(CUSTOMERS, DAY)
    lossy = LosesTheFirstAnswer(connector_for(sandbox, tmp_path, policy=RetryPolicy(max_attempts=1,
                                                                                    max_seconds=5.0)).settings)
    with pytest.raises(BatchUnconfirmed):
        Loader(warehouse, lossy).load_unit(INVOICES, DAY)

    settled = loader.load_unit(INVOICES, DAY)
    again = loader.load_unit(INVOICES, DAY)

    assert settled["invoices"].reconciled_intents == 1
    assert (settled["invoices"].skipped, settled["invoices"].batches_sent) == (1, 0)
    assert settled["invoice_line_items"].skipped == 2  # recorded with their header when it was settled
    assert (again["invoices"].skipped, again["invoice_line_items"].skipped) == (1, 2)
    ids = dict(_rows(warehouse, "SELECT source_key, target_id FROM id_map WHERE entity IN ('invoices', "
                                "'invoice_line_items')"))
    assert ids["I1/1"] == ids["I1/2"] == ids["I1"]
    (body,) = {r["body"] for r in sent(sandbox, "POST", "/v1/batch/invoices")}  # the one lost send
    assert '"quantity":2' in body and body.count('"unitPrice"') == 2
    assert _references(connector_for(sandbox, tmp_path), "invoices") == Counter({reference_id("invoices", "I1"): 1})
    for entity in (CUSTOMERS, INVOICES, ENTITIES["invoice_line_items"]):
        assert unaccounted_records(warehouse, entity, DAY, "bigledger").empty


def test_a_change_the_target_cannot_take_is_rejected_and_the_target_keeps_its_version(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    put_validated(warehouse, "customers", [customer("C1")])
    payment = {"payment_key": "P1", "customer_key": "C1", "payment_date": "2024-02-20", "amount": Decimal("10.00")}
    put_validated(warehouse, "payments", [payment])
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    loader.load_unit(CUSTOMERS, DAY)
    assert loader.load_unit(ENTITIES["payments"], DAY)["payments"].created == 1
    put_validated(warehouse, "payments", [{**payment, "amount": Decimal("12.00")}], day="2024-03-02")

    report = loader.load_unit(ENTITIES["payments"], "2024-03-02")["payments"]

    assert (report.rejected, report.batches_sent) == (1, 0)
    code, message = _load_rejects(warehouse, "payments")["P1"]
    assert code == "NOT_UPDATABLE"
    assert message == "bigledger takes payments only as creates; this change of a record it holds was not sent"
    (held,) = connector_for(sandbox, tmp_path).read_all(BINDINGS["payments"])
    assert held["amount"] == 10.0
    assert unaccounted_records(warehouse, ENTITIES["payments"], "2024-03-02", "bigledger").empty


class AnswerLeavesOneOut(BigLedgerConnector):
    """A target (or a proxy) whose first answer lists every record but the last one it applied."""

    batches_answered = 0

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[Any]:
        outcomes = super().send_batch(binding, batch, label)
        self.batches_answered += 1
        return outcomes[:-1] if self.batches_answered == 1 else outcomes


def test_a_record_the_answer_leaves_out_is_looked_up_not_lost(warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(1, 4)])
    connector = AnswerLeavesOneOut(connector_for(sandbox, tmp_path).settings)

    report = Loader(warehouse, connector).load_unit(CUSTOMERS, DAY)["customers"]

    assert (report.created, report.ambiguous_batches, report.recovered_by_lookup, report.batches_sent) == (3, 1, 1, 1)
    assert _mapped(warehouse, "customers") == {"C1", "C2", "C3"}
    references = _references(connector, "customers")
    assert len(references) == 3 and max(references.values()) == 1


def test_a_payload_the_target_refused_is_not_sent_again_until_it_changes(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    connector = connector_for(sandbox, tmp_path)
    create_in_target(connector, "customers", "elsewhere", {"name": "Elsewhere", "email": "taken@example.com"})
    put_validated(warehouse, "customers", [customer("C1"), customer("C2", email="taken@example.com")])
    loader = Loader(warehouse, connector)
    first = loader.load_unit(CUSTOMERS, DAY)["customers"]
    put_validated(warehouse, "customers", [customer("C1"), customer("C2", email="taken@example.com")],
                  day="2024-03-02")

    again = loader.load_unit(CUSTOMERS, DAY)["customers"]
    next_day = loader.load_unit(CUSTOMERS, "2024-03-02")["customers"]
    put_validated(warehouse, "customers", [customer("C2", email="c2@example.com")], day="2024-03-03")
    fixed = loader.load_unit(CUSTOMERS, "2024-03-03")["customers"]

    assert (first.created, first.rejected) == (1, 1)
    assert (again.batches_sent, again.rejected, again.skipped) == (0, 1, 1)  # refused before: not resent
    assert (next_day.batches_sent, next_day.rejected) == (0, 1)
    code, message = _load_rejects(warehouse, "customers")["C2"]
    assert code.startswith("DUPLICATE") and "email" in message.lower()
    for day in (DAY, "2024-03-02"):
        assert unaccounted_records(warehouse, CUSTOMERS, day, "bigledger").empty
    assert (fixed.created, fixed.batches_sent) == (1, 1)  # a changed record is sent anew


def test_a_lost_id_map_is_rebuilt_from_the_target_and_nothing_is_created_twice(
        warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    """Issue 11, part 5: the ID map and intents are gone (a warehouse restored from before the load), the
    source has moved on for one customer. The next load creates nothing: it adopts what the target holds
    as it would send it, under the same ids, and holds back the customer the target holds in another
    version (a key another source may share): the explicit adoption maps it, and the next load updates it."""
    connector = connector_for(sandbox, tmp_path)
    create_in_target(connector, "customers", "made-elsewhere", {"name": "Not the pipeline's"})  # not counted
    put_validated(warehouse, "customers", [customer("C1"), customer("C2"), customer("C3")])
    put_validated(warehouse, "invoices", [invoice("I1", "C1", "30.00")])
    put_validated(warehouse, "invoice_line_items", [line("I1", 1, "2", "10.00"), line("I1", 2, "1", "10.00")])
    loader = Loader(warehouse, connector)
    loader.load_unit(CUSTOMERS, DAY)
    loader.load_unit(INVOICES, DAY)
    ids_before = dict(_rows(warehouse, "SELECT source_key, target_id FROM id_map"))
    with warehouse.session() as session:
        session.execute("DELETE FROM id_map")
        session.execute("DELETE FROM intent_log")
    put_validated(warehouse, "customers", [customer("C1"), {**customer("C2"), "name": "Renamed"}, customer("C3")])
    reads_before = len(sent(sandbox, "GET", "/v1/customers"))

    customers = loader.load_unit(CUSTOMERS, DAY)["customers"]
    held_back = _load_rejects(warehouse, "customers")
    invoices = loader.load_unit(INVOICES, DAY)
    idle = loader.load_unit(CUSTOMERS, DAY)["customers"]
    adopted = loader.adopt_unit(CUSTOMERS, DAY)["customers"]  # what ``batch-orchestration adopt`` does
    reads_before_again = len(sent(sandbox, "GET", "/v1/customers"))
    again = loader.load_unit(CUSTOMERS, DAY)["customers"]

    assert (customers.created, customers.adopted, customers.updated, customers.skipped) == (0, 2, 0, 2)
    assert (customers.rejected, set(held_back)) == (1, {"C2"})  # neither created again nor overwritten
    assert ids_before["C2"] in held_back["C2"][1]
    assert (idle.created, idle.rejected) == (0, 1)  # asked again, held back again
    assert dict(customers.rejects_by_code) == {"HELD_IN_ANOTHER_VERSION": 1}
    assert (invoices["invoices"].created, invoices["invoices"].adopted, invoices["invoices"].skipped) == (0, 1, 1)
    assert invoices["invoice_line_items"].adopted == 2
    assert (adopted.adopted, adopted.adopted_other_version) == (1, 1)
    assert (again.created, again.updated, again.skipped, again.adopted) == (0, 1, 2, 0)  # C2 in the source's version
    assert dict(_rows(warehouse, "SELECT source_key, target_id FROM id_map")) == ids_before
    # A load with creates asks for the count of the pipeline's records, then for its would-be creates; a load
    # with nothing to create asks nothing.
    queries = [r["query"] for r in sent(sandbox, "GET", "/v1/customers")[reads_before:]]
    kinds = [q.split("=")[0] for q in queries]  # a read retried after a 429 is journaled twice
    assert kinds[0] == "referenceId%5Bstartswith%5D" and kinds.index("referenceId%5Bin%5D") > 0
    assert len(sent(sandbox, "GET", "/v1/customers")) == reads_before_again
    names = {r["referenceId"]: r["name"] for r in connector.read_all(connector.binding("customers"))}
    assert names[reference_id("customers", "C2")] == "Renamed"
    for entity in ("customers", "invoices"):
        references = _references(connector, entity)
        assert max(references.values()) == 1, references  # each record once
    for entity in (CUSTOMERS, INVOICES, ENTITIES["invoice_line_items"]):
        assert unaccounted_records(warehouse, entity, DAY, "bigledger").empty


def test_every_version_the_target_took_is_kept_and_traced(warehouse: Warehouse, sandbox, tmp_path: Path) -> None:
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    put_validated(warehouse, "customers", [customer("C1")], day="2024-03-01")
    loader.load_unit(CUSTOMERS, "2024-03-01")
    put_validated(warehouse, "customers", [{**customer("C1"), "name": "Renamed"}], day="2024-03-02")
    loader.load_unit(CUSTOMERS, "2024-03-02")
    target_id = dict(_rows(warehouse, "SELECT source_key, target_id FROM id_map"))["C1"]

    for needle in ("C1", target_id):
        found = trace(warehouse, CUSTOMERS, needle)
        assert found.source_keys == ["C1"]
        assert [(v["operation"], v["day"], v["target_id"], v["source_file"], v["source_row"])
                for v in found.versions] == [("create", "2024-03-01", target_id, "customers.csv", 1),
                                             ("update", "2024-03-02", target_id, "customers.csv", 1)]
        assert found.versions[0]["content_hash"] != found.versions[1]["content_hash"]  # the first is kept
        assert [(h["target"], h["target_id"], h["day"]) for h in found.held] == [("bigledger", target_id,
                                                                                 "2024-03-02")]
    assert not trace(warehouse, CUSTOMERS, "C404").found


# -- deletes (issue 11, part 2) --------------------------------------------------------------------------


@pytest.fixture
def snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Declare entities' exports snapshots (``sync: snapshot`` in a copy of the packaged mappings)."""
    monkeypatch.setenv(MAPPINGS_DIR_ENV, str(tmp_path / "mappings"))
    return lambda *entities: declare_sync(tmp_path / "mappings", "snapshot", *entities)


def _reject_at_validation(warehouse: Warehouse, entity: str, key: str, day: str) -> None:
    with warehouse.session() as session:
        append_rejects(session, [RejectRecord(entity=entity, partition_day=day, source_file=f"{entity}.csv",
                                              source_row=1, source_key=key, stage="validation", code="REQUIRED",
                                              message="a required value is missing")])


def test_a_snapshot_that_drops_three_customers_deletes_exactly_those_three(
        warehouse: Warehouse, sandbox, tmp_path: Path, snapshots: Callable[..., None]) -> None:
    snapshots("customers")
    connector = connector_for(sandbox, tmp_path)
    loader = Loader(warehouse, connector)
    everyone = [f"C{n:02d}" for n in range(80)]
    put_validated(warehouse, "customers", [customer(key) for key in everyone], day="2024-03-01")
    loader.load_unit(CUSTOMERS, "2024-03-01")
    ids = dict(_rows(warehouse, "SELECT source_key, target_id FROM id_map"))
    dropped, invalid = {"C03", "C40", "C77"}, "C10"  # C10 is in the export, but rejected: not deleted
    put_validated(warehouse, "customers", [customer(key) for key in everyone if key not in dropped | {invalid}],
                  day="2024-03-02")
    _reject_at_validation(warehouse, "customers", invalid, "2024-03-02")

    report = loader.load_unit(CUSTOMERS, "2024-03-02")["customers"]
    again = loader.load_unit(CUSTOMERS, "2024-03-02")["customers"]

    assert (report.deleted, report.created, report.updated, report.batches_sent) == (3, 0, 0, 1)
    assert (again.deleted, again.batches_sent) == (0, 0)
    held = _references(connector, "customers")
    assert set(held) == {reference_id("customers", key) for key in everyone if key not in dropped}
    assert _mapped(warehouse, "customers") == set(everyone) - dropped
    deletes = _rows(warehouse, "SELECT source_key, target_id FROM load_history WHERE operation = 'delete'")
    assert sorted(deletes) == sorted((key, ids[key]) for key in dropped)
    assert unaccounted_records(warehouse, CUSTOMERS, "2024-03-02", "bigledger").empty


def test_an_empty_snapshot_is_stopped_by_the_guard_with_nothing_sent_unless_confirmed(
        warehouse: Warehouse, sandbox, tmp_path: Path, snapshots: Callable[..., None]) -> None:
    snapshots("customers")
    connector = connector_for(sandbox, tmp_path)
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(10)], day="2024-03-01")
    Loader(warehouse, connector).load_unit(CUSTOMERS, "2024-03-01")
    posts = len(sent(sandbox, "POST", "/v1/batch/customers"))

    with pytest.raises(DeletesStopped, match=r"would delete 10 of the 10 records bigledger holds \(100%"):
        Loader(warehouse, connector).load_unit(CUSTOMERS, "2024-03-02")  # no customers in the day's export
    assert len(sent(sandbox, "POST", "/v1/batch/customers")) == posts  # nothing sent
    assert len(_mapped(warehouse, "customers")) == 10 and len(_references(connector, "customers")) == 10

    confirmed = Loader(warehouse, connector, deletes=DeleteGuard(confirmed=True)).load_unit(CUSTOMERS, "2024-03-02")
    assert confirmed["customers"].deleted == 10 and not _references(connector, "customers")
    assert not _mapped(warehouse, "customers")


def test_a_delete_whose_answer_was_lost_is_sent_again_and_counts_once(
        warehouse: Warehouse, sandbox, tmp_path: Path, snapshots: Callable[..., None]) -> None:
    snapshots("customers")
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(40)], day="2024-03-01")
    Loader(warehouse, connector_for(sandbox, tmp_path)).load_unit(CUSTOMERS, "2024-03-01")
    put_validated(warehouse, "customers", [customer(f"C{n}") for n in range(1, 40)], day="2024-03-02")
    lossy = LosesTheFirstAnswer(connector_for(sandbox, tmp_path).settings)

    report = Loader(warehouse, lossy).load_unit(CUSTOMERS, "2024-03-02")["customers"]

    assert (report.deleted, report.ambiguous_batches, report.rejected) == (1, 1, 0)  # resent: already gone
    assert reference_id("customers", "C0") not in _references(lossy, "customers")


def test_a_snapshot_of_an_entity_the_target_cannot_delete_reports_what_stays(
        warehouse: Warehouse, sandbox, tmp_path: Path, snapshots: Callable[..., None]) -> None:
    snapshots("accounts")
    accounts = ENTITIES["accounts"]
    rows = [{"account_code": code, "name": f"Account {code}", "account_type": "asset", "status": "active"}
            for code in ("1000", "1100")]
    put_validated(warehouse, "accounts", rows, day="2024-03-01")
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    loader.load_unit(accounts, "2024-03-01")
    put_validated(warehouse, "accounts", rows[:1], day="2024-03-02")

    report = loader.load_unit(accounts, "2024-03-02")["accounts"]

    assert (report.deleted, report.rejected, dict(report.rejects_by_code)) == (0, 1, {"NOT_DELETABLE": 1})
    code, message = _load_rejects(warehouse, "accounts")["1100"]
    assert code == "NOT_DELETABLE" and "takes no deletes of accounts" in message
    assert _mapped(warehouse, "accounts") == {"1000", "1100"}  # it stays in the target, and mapped


def test_a_document_that_left_a_snapshot_stays_with_its_lines_and_is_reported(
        warehouse: Warehouse, sandbox, tmp_path: Path, snapshots: Callable[..., None]) -> None:
    """No target deletes a document with lines: the invoice absent from the snapshot is NOT_DELETABLE, and it
    stays mapped with its lines; a line gone from a document still there is an update of the document."""
    snapshots("invoices")
    put_validated(warehouse, "customers", [customer("C1")])
    loader = Loader(warehouse, connector_for(sandbox, tmp_path))
    loader.load_unit(CUSTOMERS, DAY)
    put_validated(warehouse, "invoices", [invoice("I1", "C1", "30.00"), invoice("I2", "C1", "5.00")])
    put_validated(warehouse, "invoice_line_items", [line("I1", 1, "2", "10.00"), line("I1", 2, "1", "10.00"),
                                                    line("I2", 1, "1", "5.00")])
    loader.load_unit(INVOICES, DAY)
    put_validated(warehouse, "invoices", [invoice("I1", "C1", "20.00")], day="2024-03-02")  # I2 left the export
    put_validated(warehouse, "invoice_line_items", [line("I1", 1, "2", "10.00")], day="2024-03-02")

    reports = loader.load_unit(INVOICES, "2024-03-02")

    assert (reports["invoices"].updated, reports["invoices"].deleted, dict(reports["invoices"].rejects_by_code)) == (
        1, 0, {"NOT_DELETABLE": 1})
    assert _load_rejects(warehouse, "invoices")["I2"][0] == "NOT_DELETABLE"
    assert {"I1", "I2"} <= _mapped(warehouse, "invoices") and "I2/1" in _mapped(warehouse, "invoice_line_items")
    assert len(_references(connector_for(sandbox, tmp_path), "invoices")) == 2
    for entity in (INVOICES, ENTITIES["invoice_line_items"]):
        assert unaccounted_records(warehouse, entity, "2024-03-02", "bigledger").empty

"""The planner is a pure function of the day's candidates and the ID map."""

from __future__ import annotations

from decimal import Decimal

from batch_orchestration.load.planner import Candidate, batches, payload_hash, plan, reference_id
from batch_orchestration.load.state import MappedRecord

DAY = "2024-03-02"


def _candidate(key: str, name: str = "Acme", content: str = "c") -> Candidate:
    return Candidate(source_key=key, content_hash=content, record={"source_key": key}, data={"name": name})


def _mapped(data: dict[str, object], day: str = DAY) -> MappedRecord:
    return MappedRecord(target_id="T1", content_hash="c", payload_hash=payload_hash(data), partition_day=day)


def test_create_update_skip_follow_the_hash_of_what_is_sent() -> None:
    id_map = {"same": _mapped({"name": "Acme"}), "changed": _mapped({"name": "Old name"})}
    planned = {p.source_key: p for p in plan("customers", DAY, [
        _candidate("new"), _candidate("same", content="other content, same payload"), _candidate("changed")], id_map)}

    assert {key: p.operation for key, p in planned.items()} == {"new": "create", "same": "skip", "changed": "update"}
    assert (planned["changed"].target_id, planned["changed"].data) == ("T1", {"name": "Acme"})
    assert planned["changed"].reference_id == reference_id("customers", "changed")
    assert (planned["new"].target_id, planned["new"].data) == (None, {"name": "Acme"})


def test_a_day_older_than_the_version_the_target_holds_never_overwrites_it() -> None:
    id_map = {"k": _mapped({"name": "Newer"}, day="2024-03-05")}
    assert [p.operation for p in plan("customers", DAY, [_candidate("k", name="Older")], id_map)] == ["skip"]


def test_the_last_candidate_of_a_key_wins() -> None:
    planned = plan("customers", DAY, [_candidate("k", name="first"), _candidate("k", name="second")], {})
    assert [p.data["name"] for p in planned] == ["second"]


def test_the_payload_hash_ignores_key_order_but_not_a_digit() -> None:
    assert payload_hash({"a": 1, "b": [{"x": Decimal("0.10"), "y": 2}]}) == payload_hash(
        {"b": [{"y": 2, "x": Decimal("0.10")}], "a": 1})
    assert payload_hash({"amount": Decimal("0.10")}) != payload_hash({"amount": Decimal("0.11")})


def test_reference_ids_are_deterministic_and_safe_for_any_key() -> None:
    assert reference_id("customers", "A/1; DROP") == reference_id("customers", "A/1; DROP")
    assert reference_id("customers", "K") != reference_id("invoices", "K")
    assert reference_id("customers", "ü/x?&").removeprefix("bo_").isalnum()


def test_batches_hold_only_sendable_records_at_most_the_size() -> None:
    id_map = {"k0": _mapped({"name": "Acme"})}
    planned = plan("customers", DAY, [_candidate(f"k{n}") for n in range(7)], id_map)
    assert [len(batch) for batch in batches(planned, 4)] == [4, 2]

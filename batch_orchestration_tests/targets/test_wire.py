"""Comparing a record read back from a target with the payload sent for it (adoption, reconciliation)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from batch_orchestration.targets.wire import holds

SENT = {"name": "Acme", "total": Decimal("30.0000"), "address": {"city": "Ipoh"},
        "items": [{"quantity": Decimal("2"), "unitPrice": Decimal("10.00")}], "active": True}
HELD = {"id": "inv_1", "name": "Acme", "total": 30.0, "address": {"city": "Ipoh", "country": "MY"},
        "items": [{"quantity": 2, "unitPrice": 10.0, "amount": 20.0}], "active": True, "createdAt": "2024-03-01"}


def test_a_record_holds_its_payload_whatever_the_target_adds_and_however_it_spells_numbers() -> None:
    assert holds(HELD, SENT)


@pytest.mark.parametrize("changed", [
    {"total": 30.01},  # a cent off
    {"name": "acme"},
    {"address": {"country": "MY"}},  # a nested field gone
    {"items": []},  # a line gone
    {"items": [{"quantity": 2, "unitPrice": 10.0}, {"quantity": 1, "unitPrice": 1.0}]},  # one more
    {"active": 1},  # a number is not a boolean
    {"total": None},
])
def test_any_value_sent_that_the_target_does_not_hold_is_a_difference(changed: dict[str, object]) -> None:
    assert not holds({**HELD, **changed}, SENT)


def test_exact_decimals_are_compared_beyond_a_floats_precision() -> None:
    assert holds({"total": "12345678901234.5678"}, {"total": Decimal("12345678901234.5678")})
    assert not holds({"total": 12345678901234.568}, {"total": Decimal("12345678901234.5678")})

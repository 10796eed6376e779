"""JSON as it goes over the wire to a target: amounts are Decimals and must arrive exact."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import simplejson

from batch_orchestration.targets.base import CannotRepresent

CENT = Decimal("0.01")


def encode_json(body: Any, *, sort_keys: bool = False) -> str:
    """``Decimal("12345678.905")`` is written as the number ``12345678.905``, not a rounded float.

    ``sort_keys`` gives the canonical text a hash is taken of.
    """
    return simplejson.dumps(body, use_decimal=True, separators=(",", ":"), sort_keys=sort_keys)


def cents(value: Any, what: str, system: str) -> Decimal:
    """``value`` to the cent, for a system that stores two decimals; CannotRepresent when that would round it
    (the warehouse keeps four, and a ledger off by a fraction of a cent is wrong)."""
    amount = Decimal(value)
    if amount != amount.quantize(CENT):
        raise CannotRepresent(f"{what} {amount} has more than 2 decimal places; {system} stores 2")
    return amount.quantize(CENT)

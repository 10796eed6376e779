"""JSON as it goes over the wire to a target: amounts are Decimals and must arrive exact, and are compared
exactly when a record is read back."""

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


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def holds(held: Any, sent: Any) -> bool:
    """Whether a record read back from a target shows every value ``sent`` for it: fields the target adds
    (an id, a computed amount) are no difference; numbers are compared as exact decimals (``10`` holds
    ``10.00``), lists item by item."""
    if isinstance(sent, dict):
        return isinstance(held, dict) and all(holds(held.get(name), value) for name, value in sent.items())
    if isinstance(sent, list | tuple):
        return isinstance(held, list) and len(held) == len(sent) and all(map(holds, held, sent))
    if sent is None or held is None:
        return sent is None and held is None
    if isinstance(sent, bool) or isinstance(held, bool):  # True is not 1 here
        return isinstance(sent, bool) and isinstance(held, bool) and sent == held
    if isinstance(sent, int | float | Decimal) or isinstance(held, int | float | Decimal):
        return _number(sent) is not None and _number(sent) == _number(held)
    return str(held) == str(sent)

"""JSON as it goes over the wire to a target: amounts are Decimals and must arrive exact."""

from __future__ import annotations

from typing import Any

import simplejson


def encode_json(body: Any, *, sort_keys: bool = False) -> str:
    """``Decimal("12345678.905")`` is written as the number ``12345678.905``, not a rounded float.

    ``sort_keys`` gives the canonical text a hash is taken of.
    """
    return simplejson.dumps(body, use_decimal=True, separators=(",", ":"), sort_keys=sort_keys)

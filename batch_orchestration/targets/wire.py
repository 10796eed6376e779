"""JSON as it goes over the wire to a target: amounts are Decimals and must arrive exact."""

from __future__ import annotations

from typing import Any

import simplejson


def encode_json(body: Any) -> str:
    """``Decimal("12345678.905")`` is written as the number ``12345678.905``, not a rounded float."""
    return simplejson.dumps(body, use_decimal=True, separators=(",", ":"))

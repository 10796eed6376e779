"""Seed 002 list queries, evaluated in Python: filters, search, sort and opaque cursors.

Field names come from callers, so they never reach SQL; dotted names reach into nested objects.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "startswith", "endswith")
RESERVED = {"limit", "cursor", "search", "searchFields", "sort", "fromDate", "toDate"}
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)(?:\[([a-z]+)\])?$")


def bad_query(message: str, field: str) -> BigLedgerError:
    return BigLedgerError(400, "INVALID_QUERY", message, [{"field": field, "message": message}])


def value_at(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else value if isinstance(value, str) else json.dumps(value)


def _equal(value: Any, raw: str) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = _number(raw)
        return number is not None and float(value) == number
    return _text(value) == raw


def _order(value: Any, raw: str) -> int | None:
    """-1, 0 or 1 comparing ``value`` with ``raw`` (numerically when both are numbers); None if absent."""
    if value is None:
        return None
    left, right = _number(value) if not isinstance(value, str) else None, _number(raw)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    text = _text(value)
    return (text > raw) - (text < raw)


_COMPARE: dict[str, Callable[[Any, str], bool]] = {
    "eq": _equal,
    "ne": lambda v, raw: not _equal(v, raw),
    "in": lambda v, raw: any(_equal(v, option) for option in raw.split(",")),
    "nin": lambda v, raw: not any(_equal(v, option) for option in raw.split(",")),
    "gt": lambda v, raw: _order(v, raw) == 1,
    "gte": lambda v, raw: _order(v, raw) in (0, 1),
    "lt": lambda v, raw: _order(v, raw) == -1,
    "lte": lambda v, raw: _order(v, raw) in (0, -1),
    "contains": lambda v, raw: v is not None and raw.lower() in _text(v).lower(),
    "startswith": lambda v, raw: v is not None and _text(v).lower().startswith(raw.lower()),
    "endswith": lambda v, raw: v is not None and _text(v).lower().endswith(raw.lower()),
}


@dataclass(frozen=True)
class Filter:
    field: str
    operator: str
    value: str

    def matches(self, record: dict[str, Any]) -> bool:
        return _COMPARE[self.operator](value_at(record, self.field), self.value)


def parse_filters(params: Iterable[tuple[str, str]], date_field: str | None) -> list[Filter]:
    filters: list[Filter] = []
    for key, raw in params:
        if key in ("fromDate", "toDate"):
            if date_field is None:
                raise bad_query(f"{key} is not supported for this entity", key)
            filters.append(Filter(date_field, "gte" if key == "fromDate" else "lte", raw))
            continue
        if key in RESERVED:
            continue
        match = _KEY.match(key)
        if not match:
            raise bad_query(f"Invalid filter {key!r}", key)
        operator = match.group(2) or "eq"
        if operator not in OPERATORS:
            raise bad_query(f"Unknown filter operator {operator!r}; use one of {', '.join(OPERATORS)}", key)
        filters.append(Filter(match.group(1), operator, raw))
    return filters


def search(records: list[dict[str, Any]], text: str, fields: Iterable[str]) -> list[dict[str, Any]]:
    needle = text.lower()
    names = list(fields)
    return [
        r for r in records if any(needle in _text(value_at(r, f)).lower() for f in names if value_at(r, f) is not None)
    ]


def _sort_key(value: Any, descending: bool) -> tuple[Any, ...]:
    present = value is not None
    flag = int(present) if descending else int(not present)  # missing values sort last either way
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (flag, 0, float(value), "")
    return (flag, 1, 0.0, _text(value) if present else "")


def sort(records: list[dict[str, Any]], spec: str | None) -> list[dict[str, Any]]:
    """``a:asc,b:desc``; stable, so records keep insertion order among equals."""
    keys: list[tuple[str, bool]] = []
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        field, _, direction = part.partition(":")
        direction = (direction or "asc").lower()
        if direction not in ("asc", "desc") or not _KEY.match(field) or "[" in field:
            raise bad_query(f"Invalid sort {part!r}; use field:asc or field:desc", "sort")
        keys.append((field, direction == "desc"))
    ordered = list(records)
    for field, descending in reversed(keys):
        ordered.sort(key=lambda r, f=field, d=descending: _sort_key(value_at(r, f), d), reverse=descending)
    return ordered


def encode_cursor(last_id: str, offset: int) -> str:
    raw = json.dumps({"after": last_id, "offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_start(records: list[dict[str, Any]], cursor: str | None) -> int:
    """Where the page after ``cursor`` starts: after the last record seen, or at its offset if it is gone."""
    if not cursor:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        last_id, offset = str(decoded["after"]), int(decoded["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise bad_query("Invalid cursor", "cursor") from exc
    for index, record in enumerate(records):
        if record.get("id") == last_id:
            return index + 1
    return offset

"""Field checks shared by the entity rules; each appends :class:`Problem`s instead of raising.

Patterns are ASCII (``[0-9]``, not ``\\d``, which also takes Arabic-Indic or fullwidth digits) and
matched whole (``fullmatch``: ``$`` alone would let a trailing newline through).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

VALIDATION, DUPLICATE, REFERENCE, PERMISSION, SYSTEM = "validation", "duplicate", "reference", "permission", "system"
ERROR_CODES = {
    VALIDATION: "VALIDATION_ERROR",
    DUPLICATE: "DUPLICATE_ERROR",
    REFERENCE: "REFERENCE_ERROR",
    PERMISSION: "PERMISSION_ERROR",
    SYSTEM: "SYSTEM_ERROR",
}

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_PHONE = re.compile(r"\+[0-9][0-9 \-]*[0-9]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    code: str
    category: str = VALIDATION

    def detail(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if key != "category"}


class Checker:
    """Checks fields of one record (``data``), collecting problems under ``prefix`` (e.g. ``items[0].``)."""

    def __init__(self, data: dict[str, Any], prefix: str = "", parent: Checker | None = None) -> None:
        self.data = data
        self.prefix = prefix
        self.problems: list[Problem] = parent.problems if parent else []
        self.warnings: list[Problem] = parent.warnings if parent else []

    def nested(self, data: dict[str, Any], prefix: str) -> Checker:
        return Checker(data, self.prefix + prefix, self)

    def add(self, field: str, message: str, code: str, category: str = VALIDATION) -> None:
        self.problems.append(Problem(self.prefix + field, message, code, category))

    def warn(self, field: str, message: str, code: str) -> None:
        self.warnings.append(Problem(self.prefix + field, message, code))

    def present(self, field: str) -> bool:
        return self.data.get(field) not in (None, "")

    def required(self, field: str) -> bool:
        if self.present(field):
            return True
        self.add(field, f"{field} is required", "REQUIRED")
        return False

    def text(self, field: str, max_length: int, required: bool = False) -> str | None:
        if required and not self.required(field):
            return None
        value = self.data.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(field, f"{field} must be a string", "INVALID_TYPE")
            return None
        if len(value) > max_length:
            self.add(field, f"{field} must be at most {max_length} characters", "TOO_LONG")
        return value

    def number(
        self,
        field: str,
        *,
        minimum: int | None = None,
        positive: bool = False,
        required: bool = False,
        integer: bool = False,
    ) -> Decimal | None:
        """The value as an exact Decimal of its JSON text (money is compared exactly, never as floats)."""
        if required and not self.required(field):
            return None
        value = self.data.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a number"
            self.add(field, f"{field} must be {kind}", "INVALID_TYPE")
            return None
        number = Decimal(str(value))
        if not number.is_finite():  # NaN and Infinity parse from JSON, but are no amounts
            self.add(field, f"{field} must be a finite number", "INVALID_TYPE")
            return None
        if positive and number <= 0:
            self.add(field, f"{field} must be positive", "INVALID_AMOUNT")
        elif minimum is not None and number < minimum:
            self.add(
                field,
                f"{field} must be non-negative" if minimum == 0 else f"{field} must be >= {minimum}",
                "INVALID_AMOUNT",
            )
        return number

    def boolean(self, field: str) -> None:
        if self.data.get(field) is not None and not isinstance(self.data[field], bool):
            self.add(field, f"{field} must be true or false", "INVALID_TYPE")

    def choice(self, field: str, allowed: tuple[str, ...], required: bool = False) -> str | None:
        value = self.text(field, 100, required)
        if value is not None and value.lower() not in allowed:
            self.add(field, f"{field} must be one of {', '.join(allowed)}", "INVALID_VALUE")
            return None
        return value.lower() if value is not None else None

    def date(self, field: str, required: bool = False, not_after: date | None = None) -> date | None:
        value = self.text(field, 10, required)
        if value is None:
            return None
        try:
            parsed = date.fromisoformat(value) if _DATE.fullmatch(value) else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.add(field, f"{field} must be a valid date (YYYY-MM-DD)", "INVALID_DATE")
        elif not_after is not None and parsed > not_after:
            self.add(field, f"{field} must not be in the future", "FUTURE_DATE")
        return parsed

    def email(self, field: str = "email") -> str | None:
        value = self.text(field, 254)
        if value is not None and not _EMAIL.fullmatch(value):
            self.add(field, "Email format is invalid", "INVALID_EMAIL")
            return None
        return value

    def phone(self, field: str = "phone") -> None:
        value = self.text(field, 30)
        if value is None:
            return
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE.fullmatch(value) or not 7 <= digits <= 15:
            self.add(field, "Phone must be +<country code><number>, 7-15 digits", "INVALID_PHONE")

    def mapping(self, field: str) -> dict[str, Any] | None:
        value = self.data.get(field)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(field, f"{field} must be an object", "INVALID_TYPE")
            return None
        return value

    def records(self, field: str, minimum: int) -> list[dict[str, Any]]:
        """The list of objects in ``field``; fewer than ``minimum`` is a problem."""
        value = self.data.get(field)
        if value is None or value == []:
            if minimum:
                self.add(field, f"At least {minimum} {field} required", "REQUIRED")
            return []
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            self.add(field, f"{field} must be a list of objects", "INVALID_TYPE")
            return []
        if len(value) < minimum:
            self.add(field, f"At least {minimum} {field} required", "TOO_FEW")
        return value

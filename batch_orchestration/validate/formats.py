"""The export's declared date and number formats, turned into the canonical text the models read.

The entity models (``entities/rules.py``) read ISO dates and ``.``-decimal numbers. A mapping may
declare that the export writes them otherwise (its ``formats``); each such value is parsed strictly
with its declared format and rewritten canonically before the model sees it, and a value that does
not fit is an error naming the format, never read another way (``5.000,00`` is 5000.00 or a reject).
Fields whose declared format is the canonical one are left to the models, which behave as before.
Which fields are dates and which are numbers comes from the model's annotations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, get_args

from batch_orchestration.entities.registry import MONEY_SQL_TYPE, EntitySpec
from batch_orchestration.ingest.mapping import ISO_DATE_FORMAT, ColumnMapping, MappingError

CANONICAL_NUMBER = (".", ",")  # (decimal, thousands) as the models read numbers
_NUMBER_SQL_TYPES = (MONEY_SQL_TYPE, "BIGINT")


@dataclass(frozen=True)
class DateFormat:
    """A strptime format; the value must read as a real date and be written exactly as the format writes it."""

    pattern: str
    code = "INVALID_DATE"

    def canonical(self, text: str) -> str:
        value = text.strip()
        try:
            parsed = datetime.strptime(value, self.pattern)
        except ValueError:
            parsed = None
        if parsed is None or parsed.strftime(self.pattern) != value:  # no unpadded "1/3/2024" for %d/%m/%Y
            raise ValueError(f"Not a date in the declared format {self.pattern}: {text}")
        return parsed.date().isoformat()


@dataclass(frozen=True)
class NumberFormat:
    """Digits, grouped by threes with ``thousands`` or not grouped, then ``decimal`` and digits; a sign."""

    decimal: str
    thousands: str
    code = "INVALID_NUMBER"

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        grouped = rf"[0-9]{{1,3}}(?:{re.escape(self.thousands)}[0-9]{{3}})+|" if self.thousands else ""
        return re.compile(rf"([-+]?)({grouped}[0-9]+)(?:{re.escape(self.decimal)}([0-9]+))?")

    def canonical(self, text: str) -> str:
        match = self._pattern.fullmatch(text.strip())
        if match is None:
            thousands = repr(self.thousands) if self.thousands else "none"
            raise ValueError(f"Not a number in the declared format (decimal {self.decimal!r}, thousands "
                             f"{thousands}): {text}")
        sign, integer, fraction = match.groups()
        integer = integer.replace(self.thousands, "") if self.thousands else integer
        return f"{sign}{integer}.{fraction}" if fraction else f"{sign}{integer}"


FieldFormat = DateFormat | NumberFormat


def _is_date(entity: EntitySpec, field: str) -> bool:
    annotation = entity.model.model_fields[field].annotation
    return date in (annotation, *get_args(annotation))


def field_formats(entity: EntitySpec, mapping: ColumnMapping) -> dict[str, FieldFormat]:
    """The declared format of each date or number field that is not written canonically.

    A format declared for one column that does not fit the field's kind fails loudly.
    """
    declared = mapping.formats
    formats: dict[str, FieldFormat] = {}
    for field in entity.fields:
        own = declared.columns.get(field)
        if _is_date(entity, field):
            if own is not None and (own.decimal is not None or own.thousands is not None):
                raise MappingError(f"mapping of {entity.name}: formats.columns.{field} declares number "
                                   f"separators, but {field} is a date")
            pattern = declared.date_format(field)
            if pattern != ISO_DATE_FORMAT:
                formats[field] = DateFormat(pattern)
        elif entity.sql_type(field) in _NUMBER_SQL_TYPES:
            if own is not None and own.date is not None:
                raise MappingError(f"mapping of {entity.name}: formats.columns.{field} declares a date "
                                   f"format, but {field} is a number")
            separators = declared.number_format(field)
            if separators != CANONICAL_NUMBER:
                formats[field] = NumberFormat(*separators)
        elif own is not None:
            raise MappingError(f"mapping of {entity.name}: formats.columns.{field} declares a format, but "
                               f"{field} is neither a date nor a number")
    return formats


def apply_formats(
    records: list[dict[str, Any]], formats: dict[str, FieldFormat]
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """Records with declared values in canonical text, and per record position the values that did not fit.

    A value that does not fit is left out of its record (so the model never reads it another way) and
    reported as an error shaped like pydantic's (``type`` is the reject code, ``loc`` position and field).
    """
    if not formats:
        return records, {}
    converted: list[dict[str, Any]] = []
    errors: dict[int, list[dict[str, Any]]] = {}
    for position, record in enumerate(records):
        out = dict(record)
        for field, declared in formats.items():
            value = record.get(field)
            if not isinstance(value, str):
                continue
            try:
                out[field] = declared.canonical(value)
            except ValueError as exc:
                del out[field]
                errors.setdefault(position, []).append({"type": declared.code, "loc": (position, field),
                                                        "msg": str(exc)})
        converted.append(out)
    return converted, errors

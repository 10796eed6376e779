"""SQL twins of the row rules: the vectorized form of a validator, written next to it.

The pydantic models stay the one statement of what a valid record is. A twin lets the warehouse tell,
over a whole day at once, the rows the model would take as they are: a twin may be stricter than its
validator (a value it does not vouch for goes to the model, which decides), never looser, and it gives
the value the validator returns. ``test_sql_twins`` holds every twin to that against its validator.
A validator without a twin is simply not vectorized: the rows that give it a value go to the model.

A twin is called with the warehouse's dialect (:class:`Sql`) and the SQL of the value; a model-level
twin with the SQL of each field's validated value. Twins are pure SQL text built from constants of the
code, never from data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

Dialect = Literal["duckdb", "postgres"]
TWIN_ATTRIBUTE = "__sql_twin__"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Check:
    """A twin's verdict: ``holds`` (SQL boolean) where the validator takes the value, and ``value``, the
    SQL of what it returns (``None``: the value unchanged); a date stays ISO text."""

    holds: str
    value: str | None = None
    kind: Literal["decimal", "date"] | None = None  # what a parsing validator makes of the text


@dataclass(frozen=True)
class Sql:
    """The few functions whose spelling differs between the warehouse's dialects."""

    dialect: Dialect

    @staticmethod
    def text(literal: str) -> str:
        return "'" + literal.replace("'", "''") + "'"

    def matches(self, expression: str, pattern: str) -> str:
        """``expression`` matches ``pattern`` whole (as Python's ``re.fullmatch``; ASCII classes only)."""
        if self.dialect == "duckdb":
            return f"regexp_full_match({expression}, {self.text(pattern)})"
        return f"({expression} ~ {self.text('^(?:' + pattern + ')$')})"

    def upper(self, expression: str) -> str:
        """Upper case as Python's ``str.upper`` has it for ASCII, whatever the database's locale (Turkish: i)."""
        return f"upper({expression})" if self.dialect == "duckdb" else f'upper({expression} COLLATE "C")'

    def lower(self, expression: str) -> str:
        return f"lower({expression})" if self.dialect == "duckdb" else f'lower({expression} COLLATE "C")'

    def byte_length(self, expression: str) -> str:
        """Bytes in UTF-8: never fewer than characters, so ``<= n`` on it vouches for ``len() <= n``."""
        return f"strlen({expression})" if self.dialect == "duckdb" else f"octet_length({expression})"

    @staticmethod
    def guarded(*conditions: str) -> str:
        """All of ``conditions``, each tested only once the ones before hold (a cast after its check)."""
        result = "TRUE"
        for condition in reversed([c for c in conditions if c != "TRUE"]):
            result = condition if result == "TRUE" else f"CASE WHEN {condition} THEN {result} ELSE FALSE END"
        return result


def sql_twin(twin: Callable[..., Check]) -> Callable[[F], F]:
    """Declare ``twin`` the vectorized form of the decorated validator (the validator is returned as is)."""

    def attach(validator: F) -> F:
        setattr(validator, TWIN_ATTRIBUTE, twin)
        return validator

    return attach


def twin_of(validator: Callable[..., Any]) -> Callable[..., Check] | None:
    return getattr(validator, TWIN_ATTRIBUTE, None)

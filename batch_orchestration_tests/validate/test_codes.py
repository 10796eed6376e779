"""Every reject code the pipeline can give is in the catalogue, wherever it is written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from batch_orchestration.entities.rules import BUILTIN_ERROR_CODES
from batch_orchestration.ingest import reports
from batch_orchestration.validate.codes import CATALOGUE
from batch_orchestration.validate.rejects import RejectRecord

ROOT = Path(__file__).parents[2]
SQL_CODE = re.compile(r"'([A-Z][A-Z0-9_]+)'\s+AS\s+code", re.IGNORECASE)


def _sql_codes() -> set[str]:
    """Codes of the hand-written SQL models and of the set rules generated in validate/set_rules.py."""
    sources = [*(ROOT / "dbt_like_sql").rglob("*.sql"), ROOT / "batch_orchestration" / "validate" / "set_rules.py"]
    return {code for path in sources for code in SQL_CODE.findall(path.read_text())}


def _pydantic_codes() -> set[str]:
    """The first argument of every ``PydanticCustomError(...)`` in the entity models and their rules."""
    codes = set()
    for path in (ROOT / "batch_orchestration" / "entities").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PydanticCustomError"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                codes.add(node.args[0].value)
    return codes


def _staging_codes() -> set[str]:
    """The staging codes and notes, named as constants in ingest/reports.py."""
    return {value for name, value in vars(reports).items() if name.isupper() and isinstance(value, str)}


def test_every_code_of_the_models_the_set_rules_and_staging_is_catalogued() -> None:
    used = _sql_codes() | _pydantic_codes() | _staging_codes() | set(BUILTIN_ERROR_CODES.values())
    assert len(_staging_codes()) >= 5
    assert len(_sql_codes()) >= 5 and len(_pydantic_codes()) >= 5  # the scan finds them at all
    assert used - set(CATALOGUE) == set()


def test_a_reject_with_an_uncatalogued_code_is_refused() -> None:
    with pytest.raises(KeyError, match="not in the catalogue"):
        RejectRecord(entity="customers", partition_day="2024-03-01", source_file="c.csv", source_row=1,
                     source_key="C1", stage="set_rule", code="DUPLICATE_KYE", message="typo")
    # The target's own codes pass through on load rejects.
    RejectRecord(entity="customers", partition_day="2024-03-01", source_file="c.csv", source_row=1,
                 source_key="C1", stage="load", code="DUPLICATE_ERROR", message="Email already exists",
                 target="bigledger")

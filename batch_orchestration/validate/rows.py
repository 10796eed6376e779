"""Row rules: each staged row through its entity's pydantic model, into valid rows and rejects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from batch_orchestration.entities.registry import EntitySpec, join_key
from batch_orchestration.entities.rules import BUILTIN_ERROR_CODES
from batch_orchestration.ingest.mapping import LINEAGE_COLUMNS
from batch_orchestration.validate.rejects import RejectRecord
from batch_orchestration.warehouse.backend import nulls_as_none


@dataclass
class RowValidation:
    valid: pd.DataFrame
    rejects: list[RejectRecord]


def _error_code(error: Any) -> str:
    kind = error["type"]
    return kind if kind.isupper() else BUILTIN_ERROR_CODES.get(kind, "INVALID_VALUE")


def _describe(errors: Iterable[Any]) -> tuple[str, str]:
    """The first error's code, and every error as ``field: message`` joined."""
    errors = list(errors)
    parts = []
    for error in errors:
        field = ".".join(str(p) for p in error["loc"][1:]) or "record"
        parts.append(f"{field}: {error['msg']}")
    return _error_code(errors[0]), "; ".join(parts)


def _to_column_value(value: Any) -> Any:
    """Dates as ISO text (the warehouse's TEXT date columns); Decimals stay exact."""
    return value.isoformat() if isinstance(value, date) else value


def validate_frame(entity: EntitySpec, frame: pd.DataFrame) -> RowValidation:
    """Validate a staged frame (lineage columns + canonical string fields).

    The whole frame is validated in one call of pydantic-core; only when some rows fail are the
    failures told apart, so the common, mostly-valid case stays fast.
    """
    fields = list(entity.fields)
    raw = nulls_as_none(frame.reindex(columns=fields))
    records = [{k: v for k, v in row.items() if v is not None} for row in raw.to_dict(orient="records")]
    adapter = TypeAdapter(list[entity.model])  # type: ignore[name-defined]
    failed: dict[int, list[Any]] = {}
    try:
        models = adapter.validate_python(records)
    except ValidationError as exc:
        for error in exc.errors():
            failed.setdefault(int(error["loc"][0]), []).append(error)
        good_positions = [i for i in range(len(records)) if i not in failed]
        models = adapter.validate_python([records[i] for i in good_positions])
    else:
        good_positions = list(range(len(records)))

    lineage = frame.reindex(columns=list(LINEAGE_COLUMNS))
    # Built column by column: per-row pandas access would dominate the cost on large days.
    dumped = [{name: _to_column_value(v) for name, v in model.model_dump().items()} for model in models]
    values = pd.DataFrame(dumped, columns=fields)
    valid = lineage.iloc[good_positions].reset_index(drop=True)
    valid["source_key"] = [entity.source_key(row) for row in dumped]
    valid = pd.concat([valid, values], axis=1)

    rejects = []
    for position, errors in sorted(failed.items()):
        code, message = _describe(errors)
        row = lineage.iloc[position]
        key_parts = [records[position].get(f) for f in entity.key_fields]
        rejects.append(
            RejectRecord(
                entity=entity.name,
                partition_day=str(row["partition_day"]),
                source_file=row["source_file"],
                source_row=int(row["source_row"]),
                source_key=join_key(str(p) for p in key_parts) if all(key_parts) else None,
                stage="validation",
                code=code,
                message=message,
            )
        )
    return RowValidation(valid=valid, rejects=rejects)

"""Row rules: each staged row through its entity's pydantic model, into valid rows and rejects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
from pydantic import TypeAdapter, ValidationError

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.entities.rules import BUILTIN_ERROR_CODES
from batch_orchestration.ingest.mapping import LINEAGE_COLUMNS, ColumnMapping, load_mapping
from batch_orchestration.validate.formats import apply_formats, field_formats
from batch_orchestration.validate.rejects import RejectRecord


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


def _present_values(frame: pd.DataFrame, fields: list[str]) -> list[dict[str, Any]]:
    """Each row as its non-null fields and their values (what the model reads), read column by column."""
    absent = [None] * len(frame)
    columns = [pa.array(frame[name], from_pandas=True).to_pylist() if name in frame.columns else absent
               for name in fields]
    return [{name: value for name, value in zip(fields, values, strict=True) if value is not None}
            for values in zip(*columns, strict=True)] if fields else [{} for _ in range(len(frame))]


def validate_frame(entity: EntitySpec, frame: pd.DataFrame, mapping: ColumnMapping | None = None) -> RowValidation:
    """Validate a staged frame (lineage columns + canonical string fields).

    Values are first read in the export's declared formats (``mapping``, by default the entity's
    mapping); one that does not fit is its row's first error. The whole frame is validated in one
    call of pydantic-core; only when some rows fail are the failures told apart, so the common,
    mostly-valid case stays fast.
    """
    fields = list(entity.fields)
    staged = _present_values(frame, fields)
    records, failed = apply_formats(staged, field_formats(entity, mapping or load_mapping(entity.name)))
    # A value refused by its format was left out of its record; the model's "missing" for it says no more.
    refused = {tuple(error["loc"]) for errors in failed.values() for error in errors}
    adapter = TypeAdapter(list[entity.model])  # type: ignore[name-defined]
    try:
        models: list[Any] | None = adapter.validate_python(records)
    except ValidationError as exc:
        models = None
        for error in exc.errors():
            if error["loc"][:2] not in refused:
                failed.setdefault(int(error["loc"][0]), []).append(error)
    good_positions = [i for i in range(len(records)) if i not in failed]
    if models is None:
        models = adapter.validate_python([records[i] for i in good_positions])
    else:
        models = [models[i] for i in good_positions]

    lineage = frame.reindex(columns=list(LINEAGE_COLUMNS))
    # Built column by column: per-row pandas access would dominate the cost on large days.
    dumped = [{name: _to_column_value(v) for name, v in model.model_dump().items()} for model in models]
    values = pd.DataFrame(dumped, columns=fields)
    valid = lineage.iloc[good_positions].reset_index(drop=True)
    valid["source_key"] = [entity.source_key(row) for row in dumped]
    valid = pd.concat([valid, values], axis=1)

    days, files, rows = (lineage[c].tolist() for c in ("partition_day", "source_file", "source_row"))
    rejects = []
    for position, errors in sorted(failed.items()):
        code, message = _describe(errors)
        key_values = {f: staged[position].get(f) for f in entity.key_fields}
        rejects.append(
            RejectRecord(
                entity=entity.name,
                partition_day=str(days[position]),
                source_file=files[position],
                source_row=int(rows[position]),
                source_key=entity.source_key(key_values) if all(key_values.values()) else None,
                stage="validation",
                code=code,
                message=message,
            )
        )
    return RowValidation(valid=valid, rejects=rejects)

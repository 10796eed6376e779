"""``POST /v1/batch/customers/import-csv``: CSV rows mapped to customer operations, then a normal batch.

``mapping`` maps record fields to CSV columns (dots reach nested fields, e.g. ``address.city``); the
default is the customers template. A mapped ``referenceId`` column becomes each row's referenceId; rows
with a mapped, non-empty ``id`` are updates, the others creates. Numbers and booleans are converted
where they parse, else left as text for the validation rules to report.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from batch_orchestration.sandbox.bigledger.auth import Authenticated
from batch_orchestration.sandbox.bigledger.entities import ENTITIES
from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError, ok
from batch_orchestration.sandbox.bigledger.models import ERROR_RESPONSES, BatchOptions, Envelope
from batch_orchestration.sandbox.bigledger.routing import router as make_router
from batch_orchestration.sandbox.bigledger.runner import submit_batch
from batch_orchestration.sandbox.bigledger.runtime import Runtime
from batch_orchestration.sandbox.bigledger.templates import TEMPLATES

ENTITY = "customers"
_KINDS = {column.field: column.kind for column in TEMPLATES[ENTITY]}


def _json_form(raw: str | None, name: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BigLedgerError(400, "INVALID_REQUEST", f"{name} is not valid JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise BigLedgerError(400, "INVALID_REQUEST", f"{name} must be a JSON object")
    return value


def _convert(raw: str, kind: str) -> Any:
    try:
        if kind == "number":
            return float(raw)
        if kind == "integer":
            return int(raw)
    except ValueError:
        return raw
    if kind == "boolean" and raw.lower() in ("true", "false", "1", "0", "yes", "no"):
        return raw.lower() in ("true", "1", "yes")
    return raw


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def rows_to_operations(text: str, mapping: dict[str, str]) -> list[dict[str, Any]]:
    try:
        return _rows_to_operations(text, mapping)
    except csv.Error as exc:
        raise BigLedgerError(400, "INVALID_REQUEST", f"The CSV file is malformed: {exc}") from exc


def _rows_to_operations(text: str, mapping: dict[str, str]) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in mapping.values() if column not in header]
    if missing:
        raise BigLedgerError(
            400,
            "INVALID_MAPPING",
            "Mapped columns are missing from the CSV header",
            details=[{"field": column, "message": "column not found"} for column in missing],
        )
    operations = []
    for row in reader:
        data: dict[str, Any] = {}
        reference_id = None
        for field, column in mapping.items():
            raw = (row.get(column) or "").strip()
            if field == "referenceId":
                reference_id = raw or None
            elif raw:
                _put(data, field, _convert(raw, _KINDS.get(field, "text")))
        operation = "update" if data.get("id") else "create"
        operations.append({"operation": operation, "referenceId": reference_id, "data": data})
    return operations


def _import(
    request: Request,
    caller: Authenticated,
    runtime: Runtime,
    file: Annotated[UploadFile, File(description="CSV file with a header row")],
    mapping: Annotated[str | None, Form(description="JSON object: record field -> CSV column")] = None,
    options: Annotated[str | None, Form(description="JSON batch options")] = None,
) -> JSONResponse:
    columns = _json_form(mapping, "mapping") or {c.field: c.name for c in TEMPLATES[ENTITY]}
    if not all(isinstance(value, str) for value in columns.values()):
        raise BigLedgerError(400, "INVALID_MAPPING", "mapping values must be CSV column names")
    try:
        batch_options = BatchOptions.model_validate(_json_form(options, "options"))
    except ValidationError as exc:
        raise BigLedgerError(400, "INVALID_REQUEST", "options are invalid", details=json.loads(exc.json())) from exc
    try:
        text = file.file.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BigLedgerError(400, "INVALID_REQUEST", "The CSV file must be UTF-8") from exc
    operations = rows_to_operations(text, columns)
    if not operations:
        raise BigLedgerError(400, "INVALID_REQUEST", "The CSV file has no data rows")
    data, status = submit_batch(runtime, caller.company, ENTITIES[ENTITY], operations, batch_options)
    return ok(request, data, status)


def build() -> APIRouter:
    router = make_router(prefix="/v1/batch", tags=["BigLedger batch"], responses=ERROR_RESPONSES)
    router.add_api_route(
        "/customers/import-csv",
        _import,
        methods=["POST"],
        response_model=Envelope,
        summary="Import customers from a CSV file with a column mapping",
    )
    return router

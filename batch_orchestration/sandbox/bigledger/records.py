"""One create/update/delete of one record: validate, write, and say how to undo it.

Batches, bulk requests, CSV imports and async jobs all go through :func:`apply`; they differ only
in how they group the writes into transactions.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from batch_orchestration.sandbox.bigledger.entities import CREATE, DELETE, READ_ONLY, UPDATE, EntitySpec
from batch_orchestration.sandbox.bigledger.rules import RuleEnv
from batch_orchestration.sandbox.bigledger.session import Session
from batch_orchestration.sandbox.bigledger.validation import (
    ERROR_CODES,
    REFERENCE,
    SYSTEM,
    Checker,
    Problem,
)
from batch_orchestration.sandbox.store import Store, utc_now


@dataclass
class Outcome:
    operation: str
    success: bool
    record: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)
    # {"entity", "id", "before"}: what to restore to undo this write (before None = delete it).
    undo: dict[str, Any] | None = None


def error_from(problems: list[Problem]) -> dict[str, Any]:
    """The seed-000 error object for a record's problems (their first category names the error)."""
    category = problems[0].category
    message = problems[0].message if len(problems) == 1 else f"Multiple {category} errors"
    error: dict[str, Any] = {
        "code": ERROR_CODES[category],
        "category": category,
        "message": message,
        "details": [problem.detail() for problem in problems],
    }
    if len({problem.field for problem in problems}) == 1:
        error["field"] = problems[0].field
    return error


def system_error(operation: str, message: str) -> Outcome:
    return Outcome(operation, False, error=error_from([Problem("", message, "INTERNAL", SYSTEM)]))


def _failed(operation: str, problems: list[Problem], warnings: list[Problem] | None = None) -> Outcome:
    return Outcome(operation, False, error=error_from(problems), warnings=[w.detail() for w in warnings or []])


def _number(session: Session, spec: EntitySpec, record: dict[str, Any]) -> str:
    assert spec.number is not None
    _, template = spec.number
    year = session.today.year
    raw = record.get(spec.date_field) if spec.date_field else None
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            year = date.fromisoformat(raw).year
    counter = f"bigledger:{session.company}:{spec.name}" + (f":{year}" if "{year}" in template else "")
    return template.format(year=year, n=session.store.next_number(counter))


def _validate(
    session: Session, spec: EntitySpec, record: dict[str, Any], own_id: str | None
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings): format rules first; the database is consulted only for well-formed data."""
    check = Checker(record)
    spec.rule(check, RuleEnv(session.today, session.config.allow_future_invoice_dates))
    if check.problems:
        return check.problems, check.warnings
    return spec.check_database(session, record, own_id), check.warnings


def _own_fields(spec: EntitySpec, data: dict[str, Any], drop_computed: bool = False) -> dict[str, Any]:
    """The caller-controlled fields; a given computed field (e.g. total) is kept to be checked."""
    owned = {*READ_ONLY, *(spec.computed if drop_computed else ()), *([spec.number[0]] if spec.number else [])}
    return {key: value for key, value in data.items() if key not in owned}


def _create(session: Session, spec: EntitySpec, data: dict[str, Any], reference_id: str | None) -> Outcome:
    fields = _own_fields(spec, data)
    problems, warnings = _validate(session, spec, fields, None)
    if problems:
        return _failed(CREATE, problems, warnings)
    record_id = f"{spec.id_prefix}_{secrets.token_hex(6)}"
    record: dict[str, Any] = {"id": record_id}
    if spec.number:
        record[spec.number[0]] = _number(session, spec, fields)
    record.update(fields)
    record["referenceId"] = reference_id
    spec.finalize(session, record, True)
    record["createdAt"] = record["updatedAt"] = utc_now()
    session.store.insert(session.company, spec.name, record_id, record)
    return Outcome(
        CREATE,
        True,
        record,
        warnings=[w.detail() for w in warnings],
        undo={"entity": spec.name, "id": record_id, "before": None},
    )


def _existing(
    session: Session, spec: EntitySpec, operation: str, record_id: Any
) -> tuple[dict[str, Any] | None, Outcome | None]:
    if record_id in (None, ""):
        return None, _failed(operation, [Problem("id", "id is required", "REQUIRED")])
    existing = session.get(spec.name, record_id)
    if existing is None:
        problem = Problem("id", f"{spec.label} {record_id!r} does not exist", "NOT_FOUND", REFERENCE)
        return None, _failed(operation, [problem])
    return existing, None


def _update(session: Session, spec: EntitySpec, data: dict[str, Any], record_id: Any) -> Outcome:
    existing, failure = _existing(session, spec, UPDATE, record_id)
    if failure or existing is None:
        return failure  # type: ignore[return-value]
    merged = {**_own_fields(spec, existing, drop_computed=True), **_own_fields(spec, data)}
    problems, warnings = _validate(session, spec, merged, existing["id"])
    if problems:
        return _failed(UPDATE, problems, warnings)
    record = {key: existing[key] for key in existing if key in READ_ONLY or (spec.number and key == spec.number[0])}
    record.update(merged)
    spec.finalize(session, record, False)
    record["updatedAt"] = utc_now()
    session.store.replace(session.company, spec.name, existing["id"], record)
    return Outcome(
        UPDATE,
        True,
        record,
        warnings=[w.detail() for w in warnings],
        undo={"entity": spec.name, "id": existing["id"], "before": existing},
    )


def _delete(session: Session, spec: EntitySpec, record_id: Any) -> Outcome:
    existing, failure = _existing(session, spec, DELETE, record_id)
    if failure or existing is None:
        return failure  # type: ignore[return-value]
    for entity, field_name in spec.referenced_by:
        if session.referenced(entity, field_name, existing["id"]):
            problem = Problem("id", f"{spec.label} {existing['id']!r} is used by {entity}", "IN_USE", REFERENCE)
            return _failed(DELETE, [problem])
    session.store.delete(session.company, spec.name, existing["id"])
    return Outcome(
        DELETE,
        True,
        {"id": existing["id"], "deleted": True},
        undo={"entity": spec.name, "id": existing["id"], "before": existing},
    )


def apply(
    session: Session, spec: EntitySpec, operation: Any, data: Any, reference_id: str | None, record_id: Any = None
) -> Outcome:
    """Apply one operation inside the caller's transaction; a failure writes nothing."""
    name = operation.lower() if isinstance(operation, str) else str(operation)
    if name not in spec.operations:
        allowed = ", ".join(sorted(spec.operations))
        problem = Problem(
            "operation", f"{spec.label} does not support {operation!r} (allowed: {allowed})", "OPERATION_NOT_SUPPORTED"
        )
        return _failed(name, [problem])
    if not isinstance(data, dict):
        return _failed(name, [Problem("data", "data must be an object", "INVALID_TYPE")])
    if name == CREATE:
        return _create(session, spec, data, reference_id)
    target = record_id if record_id not in (None, "") else data.get("id")
    return _update(session, spec, data, target) if name == UPDATE else _delete(session, spec, target)


def undo(store: Store, company: str, undos: list[dict[str, Any]]) -> None:
    """Undo writes, newest first (inside the caller's transaction)."""
    for step in reversed(undos):
        before = step["before"]
        if before is None:
            store.delete(company, step["entity"], step["id"])
        elif store.get(company, step["entity"], step["id"]) is None:
            store.insert(company, step["entity"], step["id"], before)
        else:
            store.replace(company, step["entity"], step["id"], before)

"""Request bodies of the BigLedger routes. ``data`` stays a free-form object so that per-record
problems are reported in the batch results instead of failing the whole request with a 422."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BatchOptions(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    continueOnError: bool = Field(True, description="Keep going after a failed record")
    validateOnly: bool = Field(False, description="Validate every record, persist nothing")
    async_: bool = Field(False, alias="async", description="Queue the batch as a background job")
    rollbackOnError: bool = Field(False, description="Undo the whole batch if any record fails")


class BatchOperation(BaseModel):
    operation: str = Field(description="create | update | delete (allowed operations depend on the entity)")
    referenceId: str | None = Field(None, description="Your reference, echoed in the result and stored")
    data: dict[str, Any] = Field(default_factory=dict, description="Entity fields; updates carry data.id")


class BatchRequest(BaseModel):
    operations: list[BatchOperation] = Field(min_length=1)
    options: BatchOptions = Field(default_factory=BatchOptions)


class BulkOperation(BaseModel):
    operation: str = Field(description="create | update | delete")
    id: str | None = Field(None, description="The record to update or delete")
    data: dict[str, Any] = Field(default_factory=dict)


class BulkRequest(BaseModel):
    operations: list[BulkOperation] = Field(min_length=1)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    success: bool = False
    error: ErrorBody
    meta: dict[str, str]


class Envelope(BaseModel):
    success: bool = True
    data: Any
    meta: dict[str, str]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Bad request (e.g. too many records)"),
        (401, "Invalid or missing API key"),
        (403, "The key has no access to the X-Company-Id company"),
        (404, "Not found"),
        (422, "Invalid request body or parameters"),
        (429, "Rate limit exceeded; see Retry-After"),
    )
}

"""The BigLedger connector: batches to ``/v1/batch/<endpoint>``, lookups by ``referenceId``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch_orchestration.sequences import chunked
from batch_orchestration.targets.base import (
    REFERENCE_PREFIX,
    BatchLabel,
    Binding,
    Held,
    Outgoing,
    RecordOutcome,
    find_binding,
)
from batch_orchestration.targets.bigledger.bindings import BINDINGS
from batch_orchestration.targets.bigledger.http import BigLedgerHttp
from batch_orchestration.targets.ratelimit import Budget, default_state_path, shared_limiter
from batch_orchestration.targets.retry import DEFAULT_POLICY, RetryPolicy
from batch_orchestration.targets.wire import holds

LARGE_BATCH = 100  # seed 000: batches over 100 records have the stricter limit
BATCHES_PER_WINDOW, LARGE_BATCHES_PER_WINDOW = 10, 5  # seed 000; a large batch counts against both
LOOKUP_PAGE = 100  # seed 002 pagination, and the length of one ``referenceId[in]`` list


@dataclass(frozen=True)
class BigLedgerSettings:
    base_url: str
    company_id: str
    api_key: str = field(repr=False)  # from the environment; kept out of logs and tracebacks
    # Named in error messages ("check the API key in $BIGLEDGER_API_KEY"); the value never is.
    api_key_variable: str = "BIGLEDGER_API_KEY"
    # The routing's name of this target: the ID map, intents and load rejects are kept under it.
    target_name: str = "bigledger"
    # The target's rate-limit "minute"; the sandbox can shorten it, the real API does not.
    rate_window_seconds: float = 60.0
    rate_state_path: Path | None = None
    rate_state_database: str | None = field(default=None, repr=False)  # a URL may hold a password
    timeout_seconds: float = 30.0
    policy: RetryPolicy = DEFAULT_POLICY


def _budgets(window: float) -> list[Budget]:
    """Seed 000 rate limits and seed 002 request limits, as the client's own budgets."""
    return [
        Budget("batches", BATCHES_PER_WINDOW, window),
        Budget("large_batches", LARGE_BATCHES_PER_WINDOW, window),
        Budget("requests_second", 10, 1.0),
        Budget("requests_hour", 1000, 60 * window),
    ]


def records_ceiling(max_batch: int, window: float) -> float:
    """The records a second the documented limits let one entity send at most: every batch at its largest,
    the large ones in their slots and the rest at the standard size."""
    if max_batch <= LARGE_BATCH:
        return BATCHES_PER_WINDOW * max_batch / window
    large = LARGE_BATCHES_PER_WINDOW * max_batch
    return (large + (BATCHES_PER_WINDOW - LARGE_BATCHES_PER_WINDOW) * LARGE_BATCH) / window


class BigLedgerConnector:
    def __init__(self, settings: BigLedgerSettings) -> None:
        self.name = settings.target_name
        identity, budgets = (settings.base_url, settings.company_id), tuple(_budgets(settings.rate_window_seconds))
        if settings.rate_state_database is not None:  # one budget for every machine that reaches the database
            limiter = shared_limiter(budgets, database_url=settings.rate_state_database, scope=identity)
        else:  # one for this machine
            limiter = shared_limiter(budgets, settings.rate_state_path or default_state_path(*identity))
        self.http = BigLedgerHttp(
            base_url=settings.base_url,
            company_id=settings.company_id,
            api_key=settings.api_key,
            limiter=limiter,
            key_variable=settings.api_key_variable,
            timeout_seconds=settings.timeout_seconds,
            policy=settings.policy,
        )
        self.answers = self.http.answers  # every answer it got, by status (the load's metadata)
        self.settings = settings
        self.policy = settings.policy

    def binding(self, entity: str) -> Binding:
        return find_binding(BINDINGS, "BigLedger", entity)

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[RecordOutcome]:
        """One synchronous batch; BigLedger needs no label (each record carries its ``referenceId``)."""
        return self._post(binding, batch, validate_only=False)

    def validate_batch(self, binding: Binding, batch: Sequence[Outgoing]) -> list[RecordOutcome]:
        """The target's verdict on each record (``validateOnly``: nothing persists), in the same budget."""
        return self._post(binding, batch, validate_only=True)

    def _post(self, binding: Binding, batch: Sequence[Outgoing], validate_only: bool) -> list[RecordOutcome]:
        body = {"operations": [_operation(record) for record in batch],
                "options": {"continueOnError": True, "validateOnly": validate_only}}
        answer = self.http.post_batch(f"/v1/batch/{binding.endpoint}", body, large=len(batch) > LARGE_BATCH)
        deletes = {record.reference_id: record.target_id for record in batch if record.operation == "delete"}
        outcomes = []
        for result in answer["data"]["results"]:
            error = result.get("error") or {}
            reference = result["referenceId"]
            if reference in deletes and _not_found(error):  # deleted already (a resend after a lost answer)
                outcomes.append(RecordOutcome(reference, True, target_id=deletes[reference]))
                continue
            outcomes.append(
                RecordOutcome(
                    reference_id=reference,
                    success=bool(result["success"]),
                    target_id=(result.get("data") or {}).get("id"),
                    code=error.get("code"),
                    message=_error_message(error) if error else None,
                )
            )
        return outcomes

    def lookup(self, binding: Binding, reference_ids: list[str], day: str) -> dict[str, str]:
        return {reference: record["id"] for reference, record in self._by_reference(binding, reference_ids).items()}

    def _by_reference(self, binding: Binding, reference_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The records created with these reference ids (the first of each), by ``referenceId[in]``, 100 a request."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunked(reference_ids, LOOKUP_PAGE):
            params = {"referenceId[in]": ",".join(chunk), "limit": str(LOOKUP_PAGE)}
            for record in self._pages(f"/v1/{binding.endpoint}", params):
                found.setdefault(record["referenceId"], record)
        return found

    def made_by_pipeline(self, binding: Binding) -> int:
        """Seed 002's ``pagination.total`` of the records whose ``referenceId`` is the pipeline's: one request."""
        params = {"referenceId[startswith]": REFERENCE_PREFIX, "limit": "1"}
        return int(self.http.get(f"/v1/{binding.endpoint}", params)["pagination"]["total"])

    def held(self, binding: Binding, batch: Sequence[Outgoing]) -> dict[str, Held]:
        """The records read back by their references, each compared with its payload."""
        sent = {record.reference_id: record.data for record in batch}
        return {reference: Held(record["id"], holds(record, sent[reference]))
                for reference, record in self._by_reference(binding, list(sent)).items()}

    def read_back(self, binding: Binding, target_ids: Sequence[str]) -> tuple[dict[str, dict[str, Any]], int]:
        """By ``id[in]``, 100 ids a request (seed 002's largest page): the requests are counted as sent."""
        found: dict[str, dict[str, Any]] = {}
        requests = 0
        for chunk in chunked(list(target_ids), LOOKUP_PAGE):
            answer = self.http.get(f"/v1/{binding.endpoint}", {"id[in]": ",".join(chunk), "limit": str(LOOKUP_PAGE)})
            requests += 1
            found.update({record["id"]: record for record in answer["data"]})
        return found, requests

    def read_all(self, binding: Binding) -> Iterator[dict[str, Any]]:
        yield from self._pages(f"/v1/{binding.endpoint}", {"limit": str(LOOKUP_PAGE)})

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            answer = self.http.get(path, {**params, **({"cursor": cursor} if cursor else {})})
            yield from answer["data"]
            pagination = answer.get("pagination") or {}
            cursor = pagination.get("nextCursor")
            if not pagination.get("hasMore") or not cursor:
                return


def _operation(record: Outgoing) -> dict[str, Any]:
    """Seed 000's operation envelope: an update or a delete names its record in ``data.id``."""
    data = record.data if record.operation == "create" else {"id": record.target_id, **record.data}
    return {"operation": record.operation, "referenceId": record.reference_id, "data": data}


def _not_found(error: dict[str, Any]) -> bool:
    details = error.get("details") or []
    return any(detail.get("field") == "id" and detail.get("code") == "NOT_FOUND" for detail in details)


def _error_message(error: dict[str, Any]) -> str:
    details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.get("details") or [])
    return f"{error.get('message', '')}{' (' + details + ')' if details else ''}"

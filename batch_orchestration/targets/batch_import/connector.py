"""The Batch Import connector: a batch is one ``POST /v1/import``; its answer names the rejects by index.

Exactly once, as docs/target-apis.md reads seed 003 (which is silent on it; an assumption to confirm
with the vendor): the API keeps no ``referenceId`` and offers no read, but it stores each record under
its ``id`` (the legacy key) and replaces the record when the same ``id`` is imported again. So
``lookup`` finds nothing, and a batch whose answer was lost is sent again whole: what the first send
created is replaced by the same record, never doubled, and a re-run sends only what the ID map does not
hold in this version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from batch_orchestration.targets.base import (
    AmbiguousOutcome,
    BatchLabel,
    Binding,
    Outgoing,
    RecordOutcome,
    find_binding,
)
from batch_orchestration.targets.batch_import.bindings import BINDINGS
from batch_orchestration.targets.batch_import.http import BatchImportHttp
from batch_orchestration.targets.retry import DEFAULT_POLICY, RetryPolicy


@dataclass(frozen=True)
class BatchImportSettings:
    base_url: str
    api_key: str = field(repr=False)  # from the environment; kept out of logs and tracebacks
    api_key_variable: str = "IMPORT_API_KEY"
    target_name: str = "import"
    timeout_seconds: float = 30.0
    policy: RetryPolicy = DEFAULT_POLICY


class BatchImportConnector:
    def __init__(self, settings: BatchImportSettings) -> None:
        self.name = settings.target_name
        self.policy = settings.policy
        self.http = BatchImportHttp(settings.base_url, settings.api_key, key_variable=settings.api_key_variable,
                                    timeout_seconds=settings.timeout_seconds)
        self.answers = self.http.answers  # every answer it got, by status (the load's metadata)

    def binding(self, entity: str) -> Binding:
        return find_binding(BINDINGS, "Batch Import", entity)

    def lookup(self, binding: Binding, reference_ids: list[str], day: str) -> dict[str, str]:
        """The API has no read: nothing is found, and the batch sent again replaces what it created."""
        return {}

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[RecordOutcome]:
        """One import; the label is not needed (a record is its ``id``)."""
        result = self.http.post_import(binding.endpoint, [record.data for record in batch])
        refused = {entry.get("index"): str(entry.get("msg", "")) for entry in result["rejected"]}
        if not set(refused) <= set(range(len(batch))) or result.get("accepted") != len(batch) - len(refused):
            raise AmbiguousOutcome(f"Batch Import's answer does not add up: accepted {result.get('accepted')}, "
                                   f"rejected {sorted(refused)} of {len(batch)}")
        return [RecordOutcome(record.reference_id, False, code="IMPORT_REJECTED", message=refused[index])
                if index in refused else RecordOutcome(record.reference_id, True, target_id=record.data["id"])
                for index, record in enumerate(batch)]

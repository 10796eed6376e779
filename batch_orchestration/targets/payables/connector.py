"""The Bulk Payables connector: a loader's batch is one bulk payable batch, created, filled, submitted,
polled, and read back item by item.

Exactly once, with no ``referenceId`` in the API: every batch carries labels that name it
(``bo-batch``: the target, day, the count of batches recorded before and a hash of the content, as
eBill's ``jobId``), its target and its day, and every item the record's reference (``bo-ref``). So
sending a batch again, in this run or after a dead one, finds the batch by its label instead of
creating a second, adds only the items it lacks, submits it if nobody has, and polls on. ``lookup``
reads the day's batches that finished and names the records they made payables of, waiting first
for any the target is still processing: a record whose batch was lost with a dead run is never sent
in a second batch while the first can still make it a payable.

Each item's outcome is its ``status`` and ``metadata``: ``Complete`` with the payable it went into
(the target id the ID map keeps: in a Merge, every source row of one payable maps to it, which is its
lineage), or ``Failed`` with the target's message (an unknown collaborator, a merge group that does
not agree), a ``PAYABLE_FAILED`` reject.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from batch_orchestration.sequences import chunked
from batch_orchestration.targets.base import (
    AmbiguousOutcome,
    BatchLabel,
    Binding,
    Outgoing,
    RecordOutcome,
    TargetRefused,
    find_binding,
)
from batch_orchestration.targets.kill_points import reached
from batch_orchestration.targets.payables.bindings import PayablesOptions, payables_binding
from batch_orchestration.targets.payables.http import FINISHED, PayablesHttp, PayablesRefused
from batch_orchestration.targets.polling import PollPolicy, poll_until
from batch_orchestration.targets.retry import DEFAULT_POLICY, RetryPolicy
from batch_orchestration.targets.wire import encode_json

ITEMS_PER_REQUEST = 500  # the API's limit on one add-items call (docs/target-apis.md)
GENERATIONS = 3  # batches of one content given up on (holding a row twice) before the send is refused
BATCH_LABEL, TARGET_LABEL, DAY_LABEL, REFERENCE_LABEL = "bo-batch", "bo-target", "bo-day", "bo-ref"

Record = dict[str, Any]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PayablesSettings:
    base_url: str
    company_id: str
    api_key: str = field(repr=False)  # from the environment; kept out of logs and tracebacks
    api_key_variable: str = "PAYABLES_API_KEY"
    target_name: str = "payables"
    options: PayablesOptions = field(default_factory=PayablesOptions)
    poll: PollPolicy = field(default_factory=PollPolicy)
    timeout_seconds: float = 30.0
    policy: RetryPolicy = DEFAULT_POLICY


def _reference(item: Record) -> str | None:
    labels = item.get("labels")
    return labels.get(REFERENCE_LABEL) if isinstance(labels, dict) else None


class PayablesConnector:
    def __init__(self, settings: PayablesSettings) -> None:
        self.name = settings.target_name
        self.policy = settings.policy
        self.settings = settings
        self._binding = payables_binding(settings.options)
        self.http = PayablesHttp(settings.base_url, settings.company_id, settings.api_key,
                                 key_variable=settings.api_key_variable, timeout_seconds=settings.timeout_seconds,
                                 policy=settings.policy)
        self.answers = self.http.answers  # every answer it got, by status (the load's metadata)

    def binding(self, entity: str) -> Binding:
        return find_binding({self._binding.entity: self._binding}, "Bulk Payables", entity)

    def batch_name(self, batch: Sequence[Outgoing], label: BatchLabel) -> str:
        """The ``bo-batch`` label: the same for every send of one batch, another for other content."""
        content = encode_json([[o.reference_id, o.data] for o in batch], sort_keys=True)
        digest = hashlib.sha256(f"{self.settings.options.strategy}\n{content}".encode()).hexdigest()
        return f"bo-{self.name}-{label.day}-{label.recorded_before}-{digest[:20]}"

    # -- sending -----------------------------------------------------------------------------------

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[RecordOutcome]:
        """Carry the batch on from the step it reached. Once it was submitted, no answer says that nothing
        was applied: a refusal then (a key revoked during the poll) leaves it in doubt, for the next run to
        look up, instead of letting the loader close its intent as refused."""
        base, submitted = self.batch_name(batch, label), False
        try:
            for generation in range(1, GENERATIONS + 1):
                name = base if generation == 1 else f"{base}-g{generation}"
                target_batch = self._find_or_create(name, label)
                batch_id = str(target_batch["bulkPayableBatchId"])
                if target_batch["status"] == "Open":
                    self._fill(batch_id, batch)
                    if not self._holds_each_once(batch_id, batch):
                        continue  # given up on, never submitted: it makes no payables
                    self._submit(batch_id)
                submitted = True
                self._poll(batch_id)
                return self._outcomes(batch, self.http.items(batch_id), batch_id)
        except TargetRefused as refused:
            if submitted:
                raise AmbiguousOutcome(f"{refused} (the batch was submitted: it may be processed)") from None
            raise
        raise TargetRefused(0, f"bulk payable batches {base} to {base}-g{GENERATIONS} each came to hold a row twice "
                            "(an add applied after its answer was given up on); none was submitted. Check the "
                            "target's batches with that label before running the day again")

    def _find_or_create(self, name: str, label: BatchLabel) -> Record:
        found = self.http.batches_labelled({BATCH_LABEL: name})
        if found:
            return found[0]
        created = self.http.create_batch(self.settings.options.strategy, {
            BATCH_LABEL: name, TARGET_LABEL: self.name, DAY_LABEL: label.day})
        reached("payables_created")
        return created

    def _fill(self, batch_id: str, batch: Sequence[Outgoing]) -> None:
        """Add the items the batch lacks (an add whose answer was lost may have been applied)."""
        present = {_reference(item) for item in self.http.items(batch_id)}
        missing = [o for o in batch if o.reference_id not in present]
        for chunk in chunked(missing, ITEMS_PER_REQUEST):
            self.http.add_items(batch_id, [{**o.data, "labels": {REFERENCE_LABEL: o.reference_id}} for o in chunk])
            reached("payables_items_added")

    def _holds_each_once(self, batch_id: str, batch: Sequence[Outgoing]) -> bool:
        """Whether the batch holds each record of the loader's batch once and nothing else, read again just
        before the submit: an add applied after its answer was given up on would make a payable twice."""
        held = Counter(_reference(item) for item in self.http.items(batch_id))
        if held == Counter(o.reference_id for o in batch):
            return True
        log.warning("bulk payable batch %s holds %d items for %d records; given up on, not submitted",
                    batch_id, sum(held.values()), len(batch))
        return False

    def _submit(self, batch_id: str) -> None:
        try:
            self.http.submit(batch_id)
        except PayablesRefused as refused:
            if refused.code != "BATCH_NOT_OPEN":  # not Open any more: an earlier submit got through
                raise
        reached("payables_submitted")

    def _poll(self, batch_id: str) -> Record:
        """The batch once processed (``Complete`` or ``Failed``)."""
        return poll_until(lambda: self.http.batch(batch_id), lambda b: b["status"] in FINISHED,
                          lambda b: str(b["status"]), f"bulk payable batch {batch_id}", self.settings.poll)

    def _outcomes(self, batch: Sequence[Outgoing], items: list[Record], batch_id: str) -> list[RecordOutcome]:
        """Each record's item: its payable, or the target's reason. In a merge group of several items, one
        unknown collaborator fails them all: the others' failure depends on it, so the loader does not hold
        their payloads back next time (the culprit's, its own failure, it does)."""
        held = Counter(_reference(item) for item in items)
        twice = sorted(str(ref) for ref, n in held.items() if n > 1)
        if twice:  # an add applied between the last check and the submit: nothing can undo it now
            log.error("bulk payable batch %s holds %d records twice (%s...): the target may have made their "
                      "payables twice; check them there", batch_id, len(twice), ", ".join(twice[:3]))
        by_reference = {_reference(item): item for item in reversed(items)}  # the first of each, if twice
        group_size = Counter(item.get("bulkPayableItemMergeKey") for item in items)
        outcomes = []
        for outgoing in batch:
            item = by_reference.get(outgoing.reference_id)
            if item is None or item.get("status") not in ("Complete", "Failed"):
                raise AmbiguousOutcome(f"bulk payable batch {batch_id} is processed but has no finished item "
                                       f"for {outgoing.reference_id}")
            metadata = item.get("metadata") or {}
            if item["status"] == "Complete":
                if not metadata.get("payableId"):
                    raise AmbiguousOutcome(f"item {item.get('bulkPayableItemId')} of bulk payable batch {batch_id} "
                                           "is Complete without its payable")
                outcomes.append(RecordOutcome(outgoing.reference_id, True, target_id=str(metadata["payableId"])))
            else:
                # In a group of several, an item whose collaborator was resolved failed for another's sake.
                key = item.get("bulkPayableItemMergeKey")
                bystander = key is not None and group_size[key] > 1 and bool(metadata.get("collaboratorId"))
                outcomes.append(RecordOutcome(outgoing.reference_id, False, code="PAYABLE_FAILED",
                                              message=str(metadata.get("error") or "failed without a message"),
                                              depends_on_others=bystander))
        return outcomes

    # -- finding records again ---------------------------------------------------------------------

    def lookup(self, binding: Binding, reference_ids: list[str], day: str) -> dict[str, str]:
        """Payable ids of these records, from the day's batches of this target (submitted ones finish first)."""
        wanted, found = set(reference_ids), {}
        for target_batch in self.http.batches_labelled({TARGET_LABEL: self.name, DAY_LABEL: day}):
            batch_id = str(target_batch["bulkPayableBatchId"])
            if target_batch["status"] == "Open":  # never submitted: it made no payables
                continue
            if target_batch["status"] not in FINISHED:
                self._poll(batch_id)
            for item in self.http.items(batch_id):
                reference = _reference(item)
                payable = (item.get("metadata") or {}).get("payableId")
                if reference in wanted and item.get("status") == "Complete" and payable:
                    found.setdefault(reference, str(payable))
        return found

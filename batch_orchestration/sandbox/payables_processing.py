"""The background job behind a bulk payable batch's submit: resolve, merge, create payables.

Items are processed in groups: one item per group for the Single strategy, all items sharing a
``bulkPayableItemMergeKey`` for Merge. A group becomes one payable, or fails as a whole (an
unresolved collaborator, or items of one merge group disagreeing on collaborator or payable
status). Each group is committed with the job's progress, so a resumed job repeats nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from batch_orchestration.sandbox.jobs import Job, JobRunner, save_job
from batch_orchestration.sandbox.store import Store, utc_now

JOB_KIND = "payables.batch"
BATCHES, ITEMS, PAYABLES, COLLABORATORS = "payable_batches", "payable_items", "payables", "collaborators"

Record = dict[str, Any]


class ResolutionError(ValueError):
    pass


def resolve_collaborator(store: Store, company: str, item: Record) -> tuple[str, str]:
    """(collaborator id, which identifier resolved it); every identifier given must agree."""
    found: dict[str, str] = {}
    lookups = (("collaboratorId", "id"), ("collaboratorExternalId", "externalId"), ("collaboratorEmail", "email"))
    for item_field, collaborator_field in lookups:
        value = item.get(item_field)
        if not value:
            continue
        if item_field == "collaboratorEmail":
            value = value.lower()
        matches = store.find(company, COLLABORATORS, collaborator_field, value)
        if not matches:
            raise ResolutionError(f"No collaborator with {collaborator_field} {value!r}")
        found.setdefault(matches[0]["id"], item_field)
    if len(found) > 1:
        raise ResolutionError("The collaborator identifiers refer to different collaborators")
    collaborator_id, resolved_by = next(iter(found.items()))
    return collaborator_id, resolved_by


def group_items(batch: Record, items: list[Record]) -> list[list[Record]]:
    if batch["processingStrategy"] == "Single":
        return [[item] for item in items]
    groups: dict[str, list[Record]] = {}
    for item in items:
        groups.setdefault(item["bulkPayableItemMergeKey"], []).append(item)
    return list(groups.values())


class PayablesJob:
    """JobRunner handler for kind :data:`JOB_KIND`."""

    def __init__(self, runner: JobRunner, record_delay_seconds: float) -> None:
        self._runner = runner
        self._delay = record_delay_seconds

    def __call__(self, store: Store, job: Job) -> None:
        company, batch_id = job.company, job.payload["batchId"]
        batch = store.get(company, BATCHES, batch_id)
        if batch is None:  # the company was reset meanwhile
            save_job(store, job.id, "completed", job.state)
            return
        state = {"group": 0, **job.state}
        with store.transaction():
            _save(store, company, BATCHES, batch_id, batch, status="Processing")
            save_job(store, job.id, "processing", state)
        groups = group_items(batch, store.find(company, ITEMS, "bulkPayableBatchId", batch_id))
        while state["group"] < len(groups):
            group = groups[state["group"]]
            if self._runner.pause(self._delay * len(group)):
                return  # the runner is stopping; the job resumes from its saved state
            with store.transaction():
                _process_group(store, company, batch, group)
                state["group"] += 1
                save_job(store, job.id, "processing", state)
        items = store.find(company, ITEMS, "bulkPayableBatchId", batch_id)
        complete = sum(item["status"] == "Complete" for item in items)
        with store.transaction():
            _save(
                store,
                company,
                BATCHES,
                batch_id,
                batch,
                status="Complete" if complete else "Failed",
                completeCount=complete,
                failedCount=len(items) - complete,
            )
            save_job(store, job.id, "completed", state)


def _save(store: Store, company: str, entity: str, record_id: str, record: Record, **changes: Any) -> None:
    record.update(changes, updatedAt=utc_now())
    store.replace(company, entity, record_id, record)


def _process_group(store: Store, company: str, batch: Record, group: list[Record]) -> None:
    resolved: dict[str, tuple[str, str]] = {}
    errors: dict[str, str] = {}
    for item in group:
        try:
            resolved[item["bulkPayableItemId"]] = resolve_collaborator(store, company, item)
        except ResolutionError as exc:
            errors[item["bulkPayableItemId"]] = str(exc)
    if not errors and len({collaborator for collaborator, _ in resolved.values()}) > 1:
        errors = dict.fromkeys(resolved, "Items of one merge group must have the same collaborator")
    if not errors and len({item["payableStatus"] for item in group}) > 1:
        errors = dict.fromkeys(resolved, "Items of one merge group must have the same payableStatus")
    if errors:
        for item in group:
            item_id = item["bulkPayableItemId"]
            reason = errors.get(item_id) or f"Merge group failed: {'; '.join(sorted(set(errors.values())))}"
            metadata = {**item["metadata"], "error": reason}
            if item_id in resolved:
                metadata["collaboratorId"], metadata["resolvedBy"] = resolved[item_id]
            _save(store, company, ITEMS, item_id, item, status="Failed", metadata=metadata)
        return
    payable = _payable(store, company, batch, group, next(iter(resolved.values()))[0])
    store.insert(company, PAYABLES, payable["payableId"], payable)
    for item in group:
        collaborator_id, resolved_by = resolved[item["bulkPayableItemId"]]
        metadata = {
            **item["metadata"],
            "collaboratorId": collaborator_id,
            "resolvedBy": resolved_by,
            "payableId": payable["payableId"],
        }
        _save(store, company, ITEMS, item["bulkPayableItemId"], item, status="Complete", metadata=metadata)


def _payable(store: Store, company: str, batch: Record, group: list[Record], collaborator_id: str) -> Record:
    first = group[0]
    labels: dict[str, str] = {**batch["labels"]}
    for item in group:
        labels.update(item["labels"])
    return {
        "payableId": f"pay_{store.next_number('payables.payable'):06d}",
        "clientId": company,
        "collaboratorId": collaborator_id,
        "amount": float(sum(Decimal(str(item["amount"])) for item in group)),
        "status": first["payableStatus"],
        "dueDate": first["dueDate"],
        "paidDate": first["paidDate"],
        "lineItems": [
            {
                "bulkPayableItemId": item["bulkPayableItemId"],
                "description": item["lineItemDescription"],
                "amount": item["amount"],
            }
            for item in group
        ],
        "labels": labels,
        "bulkPayableBatchId": batch["bulkPayableBatchId"],
        "bulkPayableItemMergeKey": first.get("bulkPayableItemMergeKey"),
        "createdAt": utc_now(),
    }

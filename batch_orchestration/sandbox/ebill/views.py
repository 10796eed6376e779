"""The XML responses of the eBill API, in the seed's element order."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from batch_orchestration.sandbox.blobs import BlobStore
from batch_orchestration.sandbox.ebill.batches import STATUS_CODES, Batch, BatchRepository
from batch_orchestration.sandbox.ebill.xml_io import ROOT, element

CARRY_FORWARD_NODES = {
    "Invoice": "carryForwardInvoice",
    "CreditMemo": "carryForwardCreditMemo",
    "DebitMemo": "carryForwardDebitMemo",
}
_COMMON = (
    "id",
    "jobId",
    "status",
    "operation",
    "subOperation",
    "successCount",
    "successMessage",
    "errorMessage",
    "failCount",
)


def _common(batch: Batch | None) -> list[tuple[str, object]]:
    return [(name, batch.get(name) if batch else None) for name in _COMMON]


def upload_created(batch: Batch, upload_url: str) -> ET.Element:
    """Answer to ``S3FileUpload``: the Draft batch and where to PUT the file."""
    return element(ROOT, [*_common(batch), ("uploadUrl", upload_url)])


class StatusView:
    """Answer to ``BatchFinalize`` and status requests; an Invoice batch nests its ITM batches."""

    def __init__(self, repo: BatchRepository, blobs: BlobStore, base_url: str) -> None:
        self._repo = repo
        self._blobs = blobs
        self._base_url = base_url

    def _download_url(self, batch: Batch) -> str:
        finished = STATUS_CODES.get(batch["status"], 0) >= 3
        return self._blobs.download_url(batch["outputKey"], self._base_url) if finished else ""

    def render(self, batch: Batch) -> ET.Element:
        if batch.get("kind") == "init":
            return self._init(batch)
        fields = [*_common(batch)]
        if batch.get("kind") == "file":
            fields.append(("downloadUrl", self._download_url(batch)))
        children = self._repo.children(batch["id"]) if batch.get("kind") == "file" else []
        if children:
            fields.append(("child", [self.render(child) for child in children]))
        return element(ROOT, fields)

    def _init(self, batch: Batch) -> ET.Element:
        nodes = []
        for sub_operation, tag in CARRY_FORWARD_NODES.items():
            child_id = batch["carryForward"].get(sub_operation)
            nodes.append(element(tag, _common(self._repo.get(child_id) if child_id else None)))
        return element(ROOT, [("id", batch["id"]), ("jobId", batch["jobId"]), ("child", nodes)])

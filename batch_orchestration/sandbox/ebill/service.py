"""What each mode of ``/rest/batchProcess`` does, for one company."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from batch_orchestration.sandbox.blobs import BlobStore
from batch_orchestration.sandbox.context import SandboxContext
from batch_orchestration.sandbox.ebill import batches as b
from batch_orchestration.sandbox.ebill.csv_files import CUSTOMERS, INVOICES, SPECS
from batch_orchestration.sandbox.ebill.errors import EbillError
from batch_orchestration.sandbox.ebill.processing import JOB_KIND
from batch_orchestration.sandbox.ebill.views import StatusView, upload_created
from batch_orchestration.sandbox.ebill.xml_io import read_flag
from batch_orchestration.sandbox.jobs import create_job

LINE_ITEM = "Invoice Line Item"
_CARRY_FORWARD_FLAGS = {
    "Invoice": "carryforwardinvoices",
    "CreditMemo": "carryforwardcreditmemos",
    "DebitMemo": "carryforwarddebitmemos",
}


def _sanitize(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._")
    return name or "upload.csv"


class EbillService:
    def __init__(self, ctx: SandboxContext, blobs: BlobStore, company: str, base_url: str) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._blobs = blobs
        self._company = company
        self._base_url = base_url
        self._repo = b.BatchRepository(ctx.store, company)
        self._view = StatusView(self._repo, blobs, base_url)

    # -- BatchInit --------------------------------------------------------------------------

    def init(self, fields: dict[str, str]) -> ET.Element:
        """Carry forward the requested document types and optionally zero customer balances."""
        flags = {name.lower(): value for name, value in fields.items()}
        job_id = _required(flags, "jobid", "jobId")
        requested = {kind: read_flag(flags, flag) for kind, flag in _CARRY_FORWARD_FLAGS.items()}
        zero_out = read_flag(flags, "zerooutcustomerbalance")
        with self._store.transaction():
            self._repo.ensure_job_id_free(job_id)
            parent = b.blank_batch(
                b.new_batch_id(self._store, self._company),
                job_id,
                "BatchInit",
                "",
                kind="init",
                status=b.SUCCESS,
                zeroOutCustomerBalance=zero_out,
                carryForward={},
            )
            for kind, wanted in requested.items():
                if wanted:
                    parent["carryForward"][kind] = self._carry_forward(kind, parent["id"])
            if zero_out:
                self._zero_out_balances()
            self._repo.insert(parent)
        return self._view.render(parent)

    def _carry_forward(self, invoice_type: str, parent_id: int) -> int:
        count = 0
        for invoice in self._store.find(self._company, INVOICES, "invoiceType", invoice_type):
            if invoice["status"] != "CarriedOver":
                invoice["status"] = "CarriedOver"
                self._store.replace(self._company, INVOICES, invoice["invoiceNumber"], invoice)
                count += 1
        child = b.blank_batch(
            b.new_batch_id(self._store, self._company),
            "",
            "CarryForward",
            invoice_type,
            kind="carryForward",
            status=b.SUCCESS,
            parentId=parent_id,
            successCount=count,
            # Worded exactly as the seed prints it, missing blanks included.
            successMessage=f"Success, {count} records successfully processed,0failed",
        )
        return self._repo.insert(child)["id"]

    def _zero_out_balances(self) -> None:
        for customer in self._store.all(self._company, CUSTOMERS):
            customer["balance"] = "0.00"
            self._store.replace(self._company, CUSTOMERS, customer["customerNumber"], customer)

    # -- S3FileUpload -----------------------------------------------------------------------

    def create_upload(self, fields: dict[str, str]) -> ET.Element:
        job_id = _required(fields, "jobId")
        if fields.get("inputType", "API") != "API":
            raise EbillError(400, "INVALID_VALUE", f"<inputType> must be API, got {fields['inputType']!r}")
        if _required(fields, "operation") != b.OPERATION:
            raise EbillError(400, "INVALID_VALUE", f"<operation> must be {b.OPERATION}")
        sub_operation = _required(fields, "subOperation")
        if sub_operation not in SPECS:
            raise EbillError(
                400, "INVALID_VALUE", f"<subOperation> must be one of {', '.join(SPECS)}, got {sub_operation!r}"
            )
        filename = _required(fields, "inputFilename")
        with self._store.transaction():
            self._repo.ensure_job_id_free(job_id)
            parent_id = self._parent_for(sub_operation, fields)
            batch_id = b.new_batch_id(self._store, self._company)
            key = f"{self._company}/in/{batch_id}_{_sanitize(filename)}"
            batch = b.blank_batch(
                batch_id,
                job_id,
                b.OPERATION,
                sub_operation,
                kind="file",
                inputType="API",
                inputFilename=filename,
                inputKey=key,
                parentId=parent_id,
            )
            self._repo.insert(batch)
        return upload_created(batch, self._blobs.upload_url(key, self._base_url))

    def _parent_for(self, sub_operation: str, fields: dict[str, str]) -> int | None:
        parent_id, parent_job_id = fields.get("parentBatchProcess"), fields.get("parentBatchProcessJobId")
        if sub_operation != LINE_ITEM:
            if parent_id or parent_job_id:
                raise EbillError(400, "INVALID_VALUE", f"Only {LINE_ITEM} files have a parent batch process")
            return None
        if not parent_id and not parent_job_id:
            raise EbillError(
                400, "MISSING_PARENT", f"{LINE_ITEM} files need parentBatchProcess or parentBatchProcessJobId"
            )
        parent = self._repo.resolve(parent_id, parent_job_id, what="parent batch process")
        if parent.get("subOperation") != "Invoice":
            raise EbillError(400, "INVALID_PARENT", "The parent batch process must be an Invoice upload")
        if parent["status"] != b.DRAFT:
            raise EbillError(409, "ALREADY_FINALIZED", "The parent Invoice batch process is already finalized")
        return parent["id"]

    # -- BatchFinalize ----------------------------------------------------------------------

    def finalize(self, fields: dict[str, str]) -> ET.Element:
        with self._store.transaction():
            batch = self._repo.resolve(fields.get("id"), fields.get("jobId"))
            if batch.get("kind") != "file":
                raise EbillError(400, "NOT_AN_UPLOAD", "Only file upload batch processes can be finalized")
            if batch["subOperation"] == LINE_ITEM:
                raise EbillError(
                    400,
                    "FINALIZE_PARENT",
                    f"{LINE_ITEM} batches are processed by finalizing their Invoice batch process",
                )
            if batch["status"] != b.DRAFT:
                raise EbillError(409, "ALREADY_FINALIZED", f"Batch process {batch['id']} is already finalized")
            files = [batch, *self._repo.children(batch["id"])]
            missing = [f["inputFilename"] for f in files if not self._blobs.exists(f["inputKey"])]
            if missing:
                raise EbillError(409, "FILE_NOT_UPLOADED", f"No file has been uploaded for: {', '.join(missing)}")
            for file_batch in files:
                file_batch.update(status=b.QUEUED, successMessage="BatchProcess is in Queue")
                self._repo.save(file_batch)
            create_job(
                self._store,
                f"ebill-{self._company}-{batch['id']}",
                self._company,
                JOB_KIND,
                {"files": [f["id"] for f in files]},
            )
        self._ctx.jobs.wake()
        return self._view.render(batch)

    # -- status -----------------------------------------------------------------------------

    def status(self, batch_id: str | None, job_id: str | None) -> ET.Element:
        return self._view.render(self._repo.resolve(batch_id, job_id))


def _required(fields: dict[str, str], name: str, shown: str | None = None) -> str:
    value = fields.get(name, "")
    if not value:
        raise EbillError(400, "MISSING_FIELD", f"<{shown or name}> is required")
    return value

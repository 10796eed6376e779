"""The eBill connector: each batch of records is one upload batch, carried on by its ``jobId``.

For one batch the connector writes the records' CSV file (and, for invoices, their lines' child
files) to disk, then: creates the upload batch (and a child batch per line file), uploads each file
to its signed URL, finalizes, polls until eBill has processed it, and reads each row's outcome from
the output files. The ``jobId`` is derived from the entity, the day and the files' content, so when
any step fails or the run dies, sending the same batch again finds the batch (``GET ?jobId=``) and
carries on from the step it had reached; it never creates a second batch for the same content. The
batch's ``BatchLabel`` is in the ``jobId`` too, so the same content sent again after its outcome was
recorded (a record changed and changed back) is a new upload, not the old batch's output read twice.

eBill stores a row over the record with the same id, so a batch sent twice cannot duplicate a record;
it keeps no readable records, so ``lookup`` finds nothing and the loader's resend is the recovery.

A unit is loaded whole or not at all, as in BigLedger: an invoice whose row or any line's row failed
is a reject (eBill may still hold the rows that succeeded; docs/target-apis.md).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from batch_orchestration.sequences import chunked
from batch_orchestration.targets.base import (
    AmbiguousOutcome,
    BatchLabel,
    Binding,
    NotApplied,
    Outgoing,
    RecordOutcome,
    TargetRefused,
    find_binding,
)
from batch_orchestration.targets.ebill.bindings import BINDINGS, CHILD_FILE, FILES, FileLayout
from batch_orchestration.targets.ebill.http import BatchStatus, EbillHttp, EbillRefused
from batch_orchestration.targets.ebill.journal import UploadJournal
from batch_orchestration.targets.kill_points import reached
from batch_orchestration.targets.polling import PollPolicy, poll_until
from batch_orchestration.targets.retry import DEFAULT_POLICY, RetryPolicy
from batch_orchestration.validate.codes import reject_code

log = logging.getLogger(__name__)

# Lines per child file. A day's invoices of one file (10,000) have some 30,000 lines, one file; a
# day of very long invoices is split so that each file stays a few MB (about 100 bytes a line): an
# upload that fails is retried whole, and the target reads each file in one piece.
LINES_PER_FILE = 50_000
OPERATION = "eBill-Import"
_ABANDONS = 3  # batches given up on (their upload URL lost or expired) before the send is refused


@dataclass(frozen=True)
class EbillSettings:
    base_url: str
    company_id: str
    api_key: str = field(repr=False)  # from the environment; kept out of logs and tracebacks
    journal_path: Path = Path("ebill_uploads.sqlite")
    api_key_variable: str = "EBILL_API_KEY"
    target_name: str = "ebill"
    lines_per_file: int = LINES_PER_FILE
    poll: PollPolicy = field(default_factory=PollPolicy)
    timeout_seconds: float = 60.0
    policy: RetryPolicy = DEFAULT_POLICY


@dataclass(frozen=True)
class CarryForward:
    """What a ``BatchInit`` asks eBill to do (seed 001, 4.9.1.1)."""

    invoices: bool = False
    credit_memos: bool = False
    debit_memos: bool = False
    zero_out_customer_balance: bool = False

    def fields(self, job_id: str) -> list[tuple[str, str]]:
        flags = {"carryForwardInvoices": self.invoices, "carryForwardCreditMemos": self.credit_memos,
                 "carryForwardDebitMemos": self.debit_memos, "zeroOutCustomerBalance": self.zero_out_customer_balance}
        return [("jobId", job_id), *((tag, "true" if on else "false") for tag, on in flags.items())]


CARRY_FORWARD_ANSWERS = {"invoices": "carryForwardInvoice", "credit_memos": "carryForwardCreditMemo",
                         "debit_memos": "carryForwardDebitMemo"}


class _Abandoned(Exception):
    """A Draft batch that cannot be filled any more (its upload URL was lost or has expired)."""

    def __init__(self, reason: str, created_now: bool) -> None:
        super().__init__(reason)
        self.created_now = created_now


class _Unreadable(Exception):
    """eBill could not read a file at all (status 5, ``File rejected``)."""


@dataclass
class _File:
    layout: FileLayout
    path: Path
    row_ids: list[str]  # the id of each row, in file order, to match the output against


def file_job_id(job: str, index: int) -> str:
    """The ``jobId`` of a batch's file: the batch's own for its records, ``<job>.<n>`` for child file n."""
    return job if index == 0 else f"{job}.{index}"


@dataclass
class _Upload:
    """A batch's files on disk: the records' own, then the child files of their parts."""

    files: list[_File]
    part_rows: list[tuple[int, int]]  # for each child-file row in order: (record index, part index)
    digest: str


def _write_csv(path: Path, layout: FileLayout, rows: Iterable[dict[str, str]],
               digest: Callable[[bytes], None]) -> _File:
    """Write the file row by row, then feed its bytes to ``digest``.

    RFC 4180 line ends: the writer then quotes any value holding a ``\r`` or ``\n`` (with ``\n``
    alone it would leave a lone ``\r`` bare, and eBill would read a row break there).
    """
    ids = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(layout.columns)
        for row in rows:
            writer.writerow([row[column] for column in layout.columns])
            ids.append(layout.row_id(row))
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest(chunk)
    return _File(layout, path, ids)


PartRow = tuple[int, int, dict[str, str]]  # (record index, part index, the part's row)


def write_upload(layout: FileLayout, batch: Sequence[Outgoing], folder: Path, lines_per_file: int) -> _Upload:
    digest = hashlib.sha256(layout.sub_operation.encode())
    files = [_write_csv(folder / "records.csv", layout, (record.data["row"] for record in batch), digest.update)]
    part_rows: list[tuple[int, int]] = []
    child = CHILD_FILE.get(layout.sub_operation)
    if child is not None:
        parts = [(i, j, part) for i, record in enumerate(batch) for j, part in enumerate(record.data["parts"])]
        for n, chunk in enumerate(chunked(parts, lines_per_file), start=1):
            files.append(_write_csv(folder / f"parts_{n}.csv", child, (part for _, _, part in chunk), digest.update))
            part_rows += [(i, j) for i, j, _ in chunk]
    return _Upload(files, part_rows, digest.hexdigest())


class EbillConnector:
    def __init__(self, settings: EbillSettings) -> None:
        self.name = settings.target_name
        self.settings = settings
        self.policy = settings.policy
        self.http = EbillHttp(settings.base_url, settings.company_id, settings.api_key,
                              key_variable=settings.api_key_variable, timeout_seconds=settings.timeout_seconds,
                              policy=settings.policy)
        self.answers = self.http.answers  # every answer it got, by status (the load's metadata)
        self.journal = UploadJournal(settings.journal_path)

    def binding(self, entity: str) -> Binding:
        return find_binding(BINDINGS, "eBill", entity)

    def lookup(self, binding: Binding, reference_ids: list[str], day: str) -> dict[str, str]:
        """eBill keeps no records to ask for: nothing is found, and the resent batch resumes its upload."""
        return {}

    def send_batch(self, binding: Binding, batch: Sequence[Outgoing], label: BatchLabel) -> list[RecordOutcome]:
        with tempfile.TemporaryDirectory(prefix="ebill_") as folder:
            upload = write_upload(FILES[binding.endpoint], batch, Path(folder), self.settings.lines_per_file)
            base = f"bo-{binding.entity}-{label.day}-{label.recorded_before}-{upload.digest[:20]}"
            job, status = self._settle(upload, base)
            return self._outcomes(batch, upload, status, job, Path(folder))

    def carry_forward(self, job_id: str, request: CarryForward) -> dict[str, int]:
        """``BatchInit``: carry the requested document types forward (and zero customer balances).

        It changes every open document of the company, so it is never part of a load (the operator's
        job in ``carry_forward_job.py``). Safe to repeat under one ``job_id``: eBill is asked for it
        first, and it is sent only when eBill has none. Returns the documents carried forward per type.
        """
        def once() -> ET.Element:
            found = self.http.document(job_id)
            return found if found is not None else self.http.batch_init(request.fields(job_id))

        answer = self.policy.retrying((NotApplied, AmbiguousOutcome))(once)
        counts = {}
        for kind, tag in CARRY_FORWARD_ANSWERS.items():
            node = answer.find(f"child/{tag}/successCount")
            counts[kind] = int(node.text) if node is not None and (node.text or "").strip().isdigit() else 0
        return counts

    # -- the steps ---------------------------------------------------------------------------------

    def _settle(self, upload: _Upload, base: str) -> tuple[str, BatchStatus]:
        """The processed batch of this content: carried on, or created when there is none to carry on.

        A generation given up on (an empty Draft whose upload URL was lost or expired) is skipped from
        then on; only the batches this call creates and has to give up count towards its bound.
        """
        given_up, generation = 0, 0
        while True:
            generation += 1
            job = base if generation == 1 else f"{base}-g{generation}"
            if self.journal.abandoned(job):
                continue
            try:
                return job, self._carry_on(upload, job)
            except _Abandoned as why:
                self.journal.abandon(job)
                log.warning("eBill batch %s cannot be carried on (%s); a new batch takes its place", job, why)
                given_up += why.created_now
                if given_up >= _ABANDONS:
                    raise TargetRefused(409, f"eBill: {given_up} upload batches of {base} created in a row could not "
                                        f"be filled ({why})") from None

    def _carry_on(self, upload: _Upload, job: str) -> BatchStatus:
        status = self.http.status(job)
        created_now = status is None
        if status is None:
            status = self._create(upload.files[0], job, parent=None, created_now=True)
            log.info("eBill batch %s created for %d records", job, len(upload.files[0].row_ids))
        else:
            log.info("eBill batch %s found (%s): carrying on", job, status.status)
        if status.status == "Draft":
            jobs = [file_job_id(job, i) for i in range(len(upload.files))]
            urls = [self._upload_url(job, created_now)]  # no child batches under a batch that cannot be filled
            for file, file_job in zip(upload.files[1:], jobs[1:], strict=True):
                if status.child(file_job) is None:
                    self._create(file, file_job, parent=job, created_now=created_now)
                urls.append(self._upload_url(file_job, created_now))
            reached("ebill_created")
            for file, file_job, url in zip(upload.files, jobs, urls, strict=True):
                self._upload(file, file_job, url, created_now)
            reached("ebill_uploaded")
            try:
                self.http.finalize(job)
            except EbillRefused as refused:
                if refused.code != "ALREADY_FINALIZED":  # an earlier finalize whose answer was lost
                    raise
            reached("ebill_finalized")
        status = self._poll(job)
        reached("ebill_processed")
        return status

    def _create(self, file: _File, job: str, parent: str | None, created_now: bool) -> BatchStatus:
        fields = [*([("parentBatchProcessJobId", parent)] if parent else []), ("jobId", job), ("inputType", "API"),
                  ("operation", OPERATION), ("subOperation", file.layout.sub_operation),
                  ("inputFilename", f"{job}.csv")]
        try:
            created = self.http.create_upload(fields)
        except EbillRefused as refused:
            if refused.code == "DUPLICATE_JOB_ID":  # created by a request whose answer was lost
                raise _Abandoned(f"{job} exists, but its upload URL was never received", created_now) from None
            raise
        self.journal.remember(job, created.upload_url)
        return created

    def _upload_url(self, job: str, created_now: bool) -> str:
        url = self.journal.upload_url(job)
        if not url:
            raise _Abandoned(f"the upload URL of {job} was lost with the request or run that created it", created_now)
        return url

    def _upload(self, file: _File, job: str, url: str, created_now: bool) -> None:
        try:
            self.http.upload(url, file.path)
        except TargetRefused as refused:
            raise _Abandoned(f"the upload URL of {job} was refused: {refused}", created_now) from None

    def _poll(self, job: str) -> BatchStatus:
        """The batch's status once eBill has processed it (3, 4 or 5)."""
        def status() -> BatchStatus:
            found = self.http.status(job)
            if found is None:
                raise AmbiguousOutcome(f"eBill has no batch {job} any more")
            return found

        return poll_until(status, lambda s: s.finished, lambda s: s.status, f"eBill batch {job}", self.settings.poll)

    # -- the outcomes ------------------------------------------------------------------------------

    def _rows(self, file: _File, status: BatchStatus | None, job: str, folder: Path) -> list[tuple[bool, str]]:
        """(succeeded, eBill's message) per row of one file, from its output file."""
        if status is None or not status.download_url:
            raise AmbiguousOutcome(f"eBill reports no output file for {job}")
        output = folder / f"output_{job}.csv"
        self.http.download(status.download_url, output)
        with output.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not set(file.layout.key) <= set(reader.fieldnames or ()):
                raise _Unreadable(next(reader, {}).get("errorMessage") or status.error_message)
            rows = [(row, row.get("status") == "Success", row.get("errorMessage") or "") for row in reader]
        if [file.layout.row_id(row) for row, _, _ in rows] != file.row_ids:
            raise AmbiguousOutcome(f"eBill's output of {job} does not list the rows that were uploaded")
        return [(ok, message) for _, ok, message in rows]

    def _part_rows(self, file: _File, status: BatchStatus, job: str, folder: Path) -> list[tuple[bool, str]]:
        """A child file's rows; a child file eBill could not read fails each of its rows with the reason
        (its parent's rows were imported: the records are rejected, not the batch refused)."""
        try:
            return self._rows(file, status.child(job), job, folder)
        except _Unreadable as unreadable:
            return [(False, f"eBill could not read the file {job}: {unreadable}")] * len(file.row_ids)

    def _outcomes(self, batch: Sequence[Outgoing], upload: _Upload, status: BatchStatus, job: str,
                  folder: Path) -> list[RecordOutcome]:
        records_file = upload.files[0]
        try:
            own = self._rows(records_file, status, job, folder)
        except _Unreadable as unreadable:  # nothing of the batch was imported
            raise TargetRefused(422, f"eBill could not read the {records_file.layout.sub_operation} file of "
                                f"batch {job}: {unreadable}") from None
        parts: list[list[tuple[str, bool, str]]] = [[] for _ in batch]
        child_rows: list[tuple[str, tuple[bool, str]]] = []
        for index, file in enumerate(upload.files[1:], start=1):
            file_job = file_job_id(job, index)
            child_rows += zip(file.row_ids, self._part_rows(file, status, file_job, folder), strict=True)
        for (record_index, _), (row_id, (ok, message)) in zip(upload.part_rows, child_rows, strict=True):
            parts[record_index].append((row_id, ok, message))
        outcomes = []
        for record, row_id, (ok, message), its_parts in zip(batch, records_file.row_ids, own, parts, strict=True):
            failed = [(part_id, part_message) for part_id, part_ok, part_message in its_parts if not part_ok]
            if not ok:
                outcomes.append(RecordOutcome(record.reference_id, False, code="ROW_FAILED", message=message))
            elif failed:
                part_id, part_message = failed[0]
                outcomes.append(RecordOutcome(record.reference_id, False, code="PART_FAILED",
                                              message=reject_code("PART_FAILED").message(key=part_id,
                                                                                         reason=part_message)))
            else:
                outcomes.append(RecordOutcome(record.reference_id, True, target_id=row_id,
                                              part_ids=tuple(part_id for part_id, _, _ in its_parts)))
        log.info("eBill batch %s: %d of %d records loaded", job, sum(o.success for o in outcomes), len(outcomes))
        return outcomes

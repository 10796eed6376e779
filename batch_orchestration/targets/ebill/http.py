"""HTTP to eBill's ``/rest/batchProcess``: XML requests and answers, files to and from signed URLs.

Writes (creating an upload batch, finalizing it) are sent once and their answer classified, as for
BigLedger: NotApplied, AmbiguousOutcome or a refusal carrying eBill's ``errorCode``; the connector
decides what happens next. Reads (status, output files) and file uploads (a PUT to the same key
writes the same object again) are retried here under the one retry policy. Answers are parsed with
defusedxml: they are untrusted input. The API key is sent only to the API, never to a file URL, and
never logged; upload and download URLs are credentials too and are not logged either.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from defusedxml import ElementTree as SafeET

from batch_orchestration.targets.base import AmbiguousOutcome, NotApplied, TargetRefused
from batch_orchestration.targets.retry import DEFAULT_POLICY, RetryPolicy, send
from batch_orchestration.targets.session import AnswerTally, api_session

PATH = "/rest/batchProcess"
FINISHED = ("Success", "PartialSuccess", "Failed")  # statuses 3, 4 and 5: the output file is ready


class EbillRefused(TargetRefused):
    """A final answer, with eBill's ``errorCode`` (``DUPLICATE_JOB_ID``, ``ALREADY_FINALIZED``...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.code = code


@dataclass(frozen=True)
class BatchStatus:
    """One ``<batchProcess>`` answer: an upload batch, with its ITM children for an Invoice batch."""

    job_id: str
    status: str
    error_message: str
    upload_url: str = field(default="", repr=False)
    download_url: str = field(default="", repr=False)
    children: tuple[BatchStatus, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def child(self, job_id: str) -> BatchStatus | None:
        return next((c for c in self.children if c.job_id == job_id), None)


def _text(node: ET.Element, tag: str) -> str:
    found = node.find(tag)
    return (found.text or "").strip() if found is not None else ""


def parse_status(node: ET.Element) -> BatchStatus:
    children = node.find("child")
    return BatchStatus(
        job_id=_text(node, "jobId"), status=_text(node, "status"), error_message=_text(node, "errorMessage"),
        upload_url=_text(node, "uploadUrl"), download_url=_text(node, "downloadUrl"),
        children=tuple(parse_status(child) for child in children.findall("batchProcess"))
        if children is not None else (),
    )


def request_document(fields: Sequence[tuple[str, str]]) -> bytes:
    """``<batchProcess>`` with one element per field; ElementTree escapes every value."""
    root = ET.Element("batchProcess")
    for name, value in fields:
        ET.SubElement(root, name).text = value
    return ET.tostring(root, encoding="utf-8")


@dataclass
class EbillHttp:
    base_url: str
    company_id: str
    api_key: str = field(repr=False)
    key_variable: str = "EBILL_API_KEY"
    timeout_seconds: float = 60.0
    policy: RetryPolicy = DEFAULT_POLICY

    answers: AnswerTally = field(default_factory=AnswerTally, repr=False)

    def __post_init__(self) -> None:
        self._api = api_session(self.api_key, self.company_id, self.answers)
        self._files = requests.Session()  # signed URLs carry their own authority: no key goes there

    # -- the API -----------------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, str], body: bytes | None = None) -> ET.Element:
        what = f"{method} {PATH}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        response = send(self._api, method, self.base_url.rstrip("/") + PATH, what, params=params, data=body,
                        timeout=self.timeout_seconds,
                        headers={"Content-Type": "application/xml", "X-Request-ID": f"req_{uuid.uuid4().hex[:16]}"})
        status = response.status_code
        try:
            node = SafeET.fromstring(response.content)
        except (SafeET.ParseError, ValueError) as exc:  # defusedxml's refusals are ValueErrors
            if status >= 400:
                raise TargetRefused(status, f"{what}: HTTP {status} {response.text[:200]}") from None
            raise AmbiguousOutcome(f"{what}: HTTP {status} with a body that is not XML ({exc})") from None
        if status >= 400:
            hint = (f" (check the API key in ${self.key_variable} and company {self.company_id})"
                    if status == 401 else "")
            code = _text(node, "errorCode")
            raise EbillRefused(status, code, f"{what}: HTTP {status} {code}: {_text(node, 'errorMessage')}{hint}")
        return node

    def create_upload(self, fields: Sequence[tuple[str, str]]) -> BatchStatus:
        """``S3FileUpload``, sent once: a Draft batch and its upload URL."""
        return parse_status(self._call("POST", {"mode": "S3FileUpload"}, request_document(fields)))

    def finalize(self, job_id: str) -> None:
        """``BatchFinalize``, sent once."""
        self._call("PUT", {"mode": "BatchFinalize"}, request_document([("jobId", job_id)]))

    def batch_init(self, fields: Sequence[tuple[str, str]]) -> ET.Element:
        """``BatchInit``, sent once: the carry-forward document as eBill answered it."""
        return self._call("POST", {"mode": "BatchInit"}, request_document(fields))

    def document(self, job_id: str) -> ET.Element | None:
        """eBill's document of the batch process ``job_id``, or None when it has none; retried (a read)."""
        def once() -> ET.Element | None:
            try:
                return self._call("GET", {"jobId": job_id})
            except EbillRefused as refused:
                if refused.code == "NOT_FOUND":
                    return None
                raise

        return self.policy.retrying((NotApplied, AmbiguousOutcome))(once)

    def status(self, job_id: str) -> BatchStatus | None:
        """The upload batch of ``job_id``, or None when eBill has none."""
        node = self.document(job_id)
        return parse_status(node) if node is not None else None

    # -- the files ---------------------------------------------------------------------------------

    def upload(self, url: str, path: Path) -> None:
        """PUT the file (streamed from disk) to its signed URL; retried: the same key is written again."""
        def once() -> None:
            with path.open("rb") as handle:
                self._file_request("PUT", url, data=handle, headers={"Content-Type": "text/csv"})

        self.policy.retrying((NotApplied, AmbiguousOutcome))(once)

    def download(self, url: str, destination: Path) -> None:
        """GET an output file to disk, streamed; retried."""
        def once() -> None:
            with self._file_request("GET", url, stream=True) as response, destination.open("wb") as handle:
                try:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        handle.write(chunk)
                except requests.RequestException as exc:  # the answer broke off: read it again
                    raise AmbiguousOutcome(f"GET of an eBill output file: {type(exc).__name__}") from None

        self.policy.retrying((NotApplied, AmbiguousOutcome))(once)

    def _file_request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        what = f"{method} of an eBill {'upload' if method == 'PUT' else 'output'} file"
        try:
            response = send(self._files, method, url, what, timeout=self.timeout_seconds, **kwargs)
        except (requests.RequestException, ValueError) as exc:  # a URL it cannot use; its text names the URL
            raise TargetRefused(0, f"{what}: eBill gave a URL that cannot be used ({type(exc).__name__})") from None
        if response.status_code >= 400:  # an expired or wrong signature: the URL's query is not shown
            raise TargetRefused(response.status_code, f"{what}: HTTP {response.status_code} (the signed URL was "
                                "refused: expired, or not this file's)")
        return response

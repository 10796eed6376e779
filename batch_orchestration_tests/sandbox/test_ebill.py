"""eBill Batch File Upload API (seed 001) over real HTTP: every documented request, the statuses,
the signed uploads of the sandbox itself and S3 presigning against moto's server."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox

# -- the seed's request payloads, as written -------------------------------------------------------

SEED_INIT = b"""<batchProcess>
<jobId>AUGUST_2020_INIT</jobId>
<carryForwardInvoices>true</carryForwardInvoices>
<carryForwardCreditMemos>true</carryForwardCreditMemos>
<carryForwardDebitMemos>true</carryForwardDebitMemos>
<zeroOutCustomerBalance>true</zeroOutCustomerBalance>
</batchProcess>"""
SEED_CUSTOMER_UPLOAD = b"""<batchProcess>
<jobId>AUGUST_2020_CUS</jobId>
<inputType>API</inputType>
<operation>eBill-Import</operation>
<subOperation>Customer</subOperation>
<inputFilename>CUS_AUG_2020_100RECORDS.csv</inputFilename>
</batchProcess>"""
SEED_CUSTOMER_FINALIZE = b"""<batchProcess>
<id>3</id>
<jobId>AUGUST_2020_CUS</jobId>
</batchProcess>"""
SEED_INVOICE_UPLOAD = b"""<batchProcess>
<jobId>AUG_2020_INV</jobId>
<inputType>API</inputType>
<operation>eBill-Import</operation>
<subOperation>Invoice</subOperation>
<inputFilename>INV_AUG_2020_100RECORDS.csv</inputFilename>
</batchProcess>"""
SEED_ITM_UPLOAD = b"""<batchProcess>
<parentBatchProcess>4</parentBatchProcess>
<parentBatchProcessJobId>AUG_2020_INV</parentBatchProcessJobId>
<jobId>AUG_2020_ITM_1</jobId>
<inputType>API</inputType>
<operation>eBill-Import</operation>
<subOperation>Invoice Line Item</subOperation>
<inputFilename>ITM_AUG_2020_200RECORDS_1.csv</inputFilename>
</batchProcess>"""
SEED_INVOICE_FINALIZE = b"""<batchProcess>
<id>4</id>
<jobId>AUG_2020_INV</jobId>
</batchProcess>"""

COMMON = ["id", "jobId", "status", "operation", "subOperation", "successCount", "successMessage",
          "errorMessage", "failCount"]

CUSTOMERS_CSV = (
    "customerNumber,name,email,phone,balance\n"
    "C-1,Acme,ap@acme.test,555-0100,100.50\n"
    "C-2,Globex,billing@globex.test,,20\n"
)
INVOICES_CSV = (
    "invoiceNumber,customerNumber,invoiceType,invoiceDate,dueDate,amount,currency\n"
    "INV-1,C-1,Invoice,2020-08-01,2020-08-31,150.00,USD\n"
    "CM-1,C-2,CreditMemo,2020-08-02,,-20.00,USD\n"
    "DM-1,C-1,DebitMemo,2020-08-03,,5.00,USD\n"
)
ITM_CSV_1 = (
    "invoiceNumber,lineNumber,description,quantity,unitPrice,amount\n"
    "INV-1,1,Widget,2,50.00,100.00\n"
    "INV-1,2,Gadget,1,50.00,\n"
)
ITM_CSV_2 = (
    "invoiceNumber,lineNumber,description,quantity,unitPrice,amount\n"
    "CM-1,1,Return,1,-20.00,-20.00\n"
    "NOPE-1,1,Orphan,1,1.00,1.00\n"
)


# -- helpers ---------------------------------------------------------------------------------------

class Ebill:
    """A thin client of ``/rest/batchProcess``."""

    def __init__(self, sandbox: RunningSandbox, headers: dict[str, str]) -> None:
        self.url = f"{sandbox.url}/rest/batchProcess"
        self.headers = {**headers, "Content-Type": "application/xml"}

    def post(self, mode: str, body: bytes) -> requests.Response:
        return requests.post(self.url, params={"mode": mode}, data=body, headers=self.headers, timeout=10)

    def put(self, mode: str, body: bytes) -> requests.Response:
        return requests.put(self.url, params={"mode": mode}, data=body, headers=self.headers, timeout=10)

    def get(self, **params: str) -> requests.Response:
        return requests.get(self.url, params=params, headers=self.headers, timeout=10)

    def upload(self, job_id: str, sub_operation: str, filename: str, content: str | None,
               parent_job_id: str | None = None) -> dict[str, Any]:
        """Create an upload batch and PUT ``content`` (unless None) to its uploadUrl."""
        parent = f"<parentBatchProcessJobId>{parent_job_id}</parentBatchProcessJobId>" if parent_job_id else ""
        body = (f"<batchProcess>{parent}<jobId>{job_id}</jobId><inputType>API</inputType>"
                f"<operation>eBill-Import</operation><subOperation>{sub_operation}</subOperation>"
                f"<inputFilename>{filename}</inputFilename></batchProcess>").encode()
        response = self.post("S3FileUpload", body)
        assert response.status_code == 200, response.text
        created = fields(response)
        if content is not None:
            assert requests.put(created["uploadUrl"], data=content.encode(), timeout=10).status_code == 200
        return created

    def finalize(self, job_id: str) -> requests.Response:
        return self.put("BatchFinalize", f"<batchProcess><jobId>{job_id}</jobId></batchProcess>".encode())

    def wait_finished(self, job_id: str) -> ET.Element:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            root = ET.fromstring(self.get(jobId=job_id).content)
            if root.findtext("status") not in ("Draft", "Queued"):
                return root
            time.sleep(0.05)
        raise AssertionError(f"batch {job_id} did not finish")


def fields(response: requests.Response | ET.Element) -> dict[str, str]:
    root = response if isinstance(response, ET.Element) else ET.fromstring(response.content)
    return {child.tag: (child.text or "") for child in root if len(child) == 0}


def tags(node: ET.Element) -> list[str]:
    return [child.tag for child in node]


def error(response: requests.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = fields(response)
    assert body["status"] == "Error" and body["errorMessage"]
    return body


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def records(db: Path, entity: str) -> dict[str, str]:
    """Read what the sandbox stored, straight from its SQLite file (read-only)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id, data FROM records WHERE company = ? AND entity = ?",
                            (DEMO_COMPANY, entity)).fetchall()
    return dict(rows)


@pytest.fixture
def ebill(sandbox: RunningSandbox, demo_headers: dict[str, str]) -> Ebill:
    return Ebill(sandbox, demo_headers)


def load_customers_and_invoices(client: Ebill) -> None:
    client.upload("CUS", "Customer", "cus.csv", CUSTOMERS_CSV)
    assert client.finalize("CUS").status_code == 200
    client.wait_finished("CUS")
    client.upload("INV", "Invoice", "inv.csv", INVOICES_CSV)
    assert client.finalize("INV").status_code == 200
    assert client.wait_finished("INV").findtext("status") == "Success"


# -- the documented flow ---------------------------------------------------------------------------

def test_seed_requests_as_written_give_the_documented_responses(ebill: Ebill) -> None:
    init = ebill.post("BatchInit", b"<batchProcess><jobId>PRE</jobId>"
                      b"<carryForwardInvoices>true</carryForwardInvoices></batchProcess>")
    assert init.status_code == 200 and fields(init)["id"] == "1"  # ids 1 and 2, as in the seed

    created = ebill.post("S3FileUpload", SEED_CUSTOMER_UPLOAD)
    assert created.status_code == 200
    assert tags(ET.fromstring(created.content)) == [*COMMON, "uploadUrl"]
    assert {k: v for k, v in fields(created).items() if k != "uploadUrl"} == {
        "id": "3", "jobId": "AUGUST_2020_CUS", "status": "Draft", "operation": "eBill-Import",
        "subOperation": "Customer", "successCount": "0", "successMessage": "BatchProcess is created",
        "errorMessage": "", "failCount": "0"}
    assert "/in/3_CUS_AUG_2020_100RECORDS.csv" in fields(created)["uploadUrl"]
    assert requests.put(fields(created)["uploadUrl"], data=CUSTOMERS_CSV.encode(), timeout=10).status_code == 200

    queued = ebill.put("BatchFinalize", SEED_CUSTOMER_FINALIZE)
    assert queued.status_code == 200
    assert tags(ET.fromstring(queued.content)) == [*COMMON, "downloadUrl"]
    assert fields(queued) == {
        "id": "3", "jobId": "AUGUST_2020_CUS", "status": "Queued", "operation": "eBill-Import",
        "subOperation": "Customer", "successCount": "0", "successMessage": "BatchProcess is in Queue",
        "errorMessage": "", "failCount": "0", "downloadUrl": ""}

    done = fields(ebill.wait_finished("AUGUST_2020_CUS"))
    assert done["status"] == "Success" and done["successCount"] == "2" and done["failCount"] == "0"
    assert done["successMessage"] == "Success, 2 records successfully processed, 0 failed"
    assert fields(ebill.get(id="3")) == fields(ebill.get(jobId="AUGUST_2020_CUS"))
    output = read_csv(requests.get(done["downloadUrl"], timeout=10).text)
    assert [row["status"] for row in output] == ["Success", "Success"]

    invoice = ebill.post("S3FileUpload", SEED_INVOICE_UPLOAD)
    assert fields(invoice)["id"] == "4" and fields(invoice)["subOperation"] == "Invoice"
    requests.put(fields(invoice)["uploadUrl"], data=INVOICES_CSV.encode(), timeout=10)
    itm = ebill.post("S3FileUpload", SEED_ITM_UPLOAD)
    assert itm.status_code == 200 and fields(itm)["id"] == "5"
    assert fields(itm)["subOperation"] == "Invoice Line Item" and fields(itm)["status"] == "Draft"
    requests.put(fields(itm)["uploadUrl"], data=ITM_CSV_1.encode(), timeout=10)

    finalized = ebill.put("BatchFinalize", SEED_INVOICE_FINALIZE)
    assert finalized.status_code == 200 and fields(finalized)["status"] == "Queued"
    root = ebill.wait_finished("AUG_2020_INV")
    assert tags(root) == [*COMMON, "downloadUrl", "child"]
    assert fields(root)["status"] == "Success" and fields(root)["successCount"] == "3"
    children = root.find("child")
    assert children is not None and tags(children) == ["batchProcess"]
    child = children[0]
    assert tags(child) == [*COMMON, "downloadUrl"]
    assert fields(child) | {"downloadUrl": ""} == {
        "id": "5", "jobId": "AUG_2020_ITM_1", "status": "Success", "operation": "eBill-Import",
        "subOperation": "Invoice Line Item", "successCount": "2",
        "successMessage": "Success, 2 records successfully processed, 0 failed", "errorMessage": "",
        "failCount": "0", "downloadUrl": ""}
    assert fields(child)["downloadUrl"].startswith("http")


def test_batch_init_example_carries_forward_and_zeroes_balances(
        sandbox_factory: Callable[..., RunningSandbox], demo_headers: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite"
    client = Ebill(sandbox_factory(db_path=str(db)), demo_headers)
    load_customers_and_invoices(client)

    response = client.post("BatchInit", SEED_INIT)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert tags(root) == ["id", "jobId", "child"]
    assert fields(root) == {"id": "3", "jobId": "AUGUST_2020_INIT"}
    child = root.find("child")
    assert child is not None
    assert tags(child) == ["carryForwardInvoice", "carryForwardCreditMemo", "carryForwardDebitMemo"]
    for node, sub_operation in zip(child, ("Invoice", "CreditMemo", "DebitMemo"), strict=True):
        assert tags(node) == COMMON
        assert fields(node) | {"id": ""} == {
            "id": "", "jobId": "", "status": "Success", "operation": "CarryForward", "subOperation": sub_operation,
            "successCount": "1", "successMessage": "Success, 1 records successfully processed,0failed",
            "errorMessage": "", "failCount": "0"}
    assert sorted(fields(node)["id"] for node in child) == ["4", "5", "6"]

    invoices = {k: json.loads(v) for k, v in records(db, "ebill_invoices").items()}
    assert {invoice["status"] for invoice in invoices.values()} == {"CarriedOver"}
    customers = [json.loads(v) for v in records(db, "ebill_customers").values()]
    assert [c["balance"] for c in customers] == ["0.00", "0.00"]
    # Already carried over: a second init changes nothing, and is reported with a zero count.
    again = client.post("BatchInit", SEED_INIT.replace(b"AUGUST_2020_INIT", b"AGAIN"))
    assert ET.fromstring(again.content).findtext("child/carryForwardInvoice/successCount") == "0"


def test_batch_init_leaves_types_not_requested_empty(ebill: Ebill) -> None:
    response = ebill.post("BatchInit", b"<batchProcess><jobId>ONLY_CM</jobId>"
                          b"<carryForwardCreditMemos>true</carryForwardCreditMemos></batchProcess>")
    child = ET.fromstring(response.content).find("child")
    assert child is not None
    assert fields(child.find("carryForwardCreditMemo"))["status"] == "Success"  # type: ignore[arg-type]
    for tag in ("carryForwardInvoice", "carryForwardDebitMemo"):
        node = child.find(tag)
        assert node is not None and tags(node) == COMMON and set(fields(node).values()) == {""}
    # The init batch answers status requests with the same document.
    assert ebill.get(jobId="ONLY_CM").content == response.content


def test_invoice_batch_with_two_itm_files_and_failing_rows(ebill: Ebill, demo_headers: dict[str, str],
                                                         sandbox: RunningSandbox) -> None:
    ebill.upload("CUS", "Customer", "cus.csv", CUSTOMERS_CSV)
    ebill.finalize("CUS")
    ebill.wait_finished("CUS")
    bad_invoices = INVOICES_CSV + "INV-9,C-404,Invoice,2020-08-01,,10.00,USD\n"
    parent = ebill.upload("INV", "Invoice", "inv.csv", bad_invoices)
    # either parent reference will do, as the seed says
    ebill.upload("ITM1", "Invoice Line Item", "itm1.csv", ITM_CSV_1, parent_job_id="INV")
    body = (f"<batchProcess><parentBatchProcess>{parent['id']}</parentBatchProcess><jobId>ITM2</jobId>"
            "<inputType>API</inputType><operation>eBill-Import</operation>"
            "<subOperation>Invoice Line Item</subOperation><inputFilename>itm2.csv</inputFilename>"
            "</batchProcess>").encode()
    itm2 = fields(ebill.post("S3FileUpload", body))
    requests.put(itm2["uploadUrl"], data=ITM_CSV_2.encode(), timeout=10)

    assert ebill.finalize("INV").status_code == 200
    root = ebill.wait_finished("INV")
    assert fields(root)["status"] == "PartialSuccess"
    assert (fields(root)["successCount"], fields(root)["failCount"]) == ("3", "1")
    assert fields(root)["errorMessage"] == "1 of 4 rows failed, see the output file"
    children = [fields(child) for child in root.iterfind("child/batchProcess")]
    assert [(c["jobId"], c["status"], c["successCount"], c["failCount"]) for c in children] == [
        ("ITM1", "Success", "2", "0"), ("ITM2", "PartialSuccess", "1", "1")]
    output = read_csv(requests.get(children[1]["downloadUrl"], timeout=10).text)
    assert [(row["invoiceNumber"], row["status"]) for row in output] == [("CM-1", "Success"),
                                                                         ("NOPE-1", "Failed")]
    assert output[1]["errorMessage"] == "unknown invoiceNumber 'NOPE-1'"

    counts = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/counts", headers=demo_headers,
                          timeout=10).json()["counts"]
    assert counts["ebill_customers"] == 2
    assert counts["ebill_invoices"] == 3
    assert counts["ebill_invoice_line_items"] == 3


def test_a_file_without_required_columns_fails_with_an_output_file(ebill: Ebill) -> None:
    ebill.upload("BAD", "Customer", "bad.csv", "name,email\nAcme,a@b.test\n")
    ebill.finalize("BAD")
    result = fields(ebill.wait_finished("BAD"))
    assert result["status"] == "Failed"
    assert result["errorMessage"] == "File rejected: missing required columns: customerNumber"
    assert read_csv(requests.get(result["downloadUrl"], timeout=10).text)[0]["status"] == "Failed"


def test_invalid_rows_are_reported_per_row(ebill: Ebill) -> None:
    content = ("customerNumber,name,email,balance\n"
               ",NoNumber,,\nC-1,,,\nC-2,Bad Mail,not-an-email,\nC-3,Bad Balance,,abc\nC-4,Good,,1\n")
    ebill.upload("ROWS", "Customer", "rows.csv", content)
    ebill.finalize("ROWS")
    result = fields(ebill.wait_finished("ROWS"))
    assert (result["status"], result["successCount"], result["failCount"]) == ("PartialSuccess", "1", "4")
    output = read_csv(requests.get(result["downloadUrl"], timeout=10).text)
    assert [row["errorMessage"] for row in output] == [
        "customerNumber is required", "name is required", "email is not a valid address: 'not-an-email'",
        "balance must be a decimal number, got 'abc'", ""]


# -- errors ----------------------------------------------------------------------------------------

def test_errors_are_xml_with_a_4xx_status(ebill: Ebill, sandbox: RunningSandbox) -> None:
    assert error(ebill.post("Bogus", SEED_INIT), 400)["errorCode"] == "UNKNOWN_MODE"
    assert error(ebill.post("BatchFinalize", SEED_CUSTOMER_FINALIZE), 405)["errorCode"] == "METHOD_NOT_ALLOWED"
    assert error(ebill.post("BatchInit", b"<batchProcess><jobId>"), 400)["errorCode"] == "INVALID_XML"
    assert error(ebill.post("BatchInit", b"<other/>"), 400)["errorCode"] == "INVALID_XML"
    assert error(ebill.post("BatchInit", b""), 400)["errorCode"] == "MISSING_BODY"
    entity = b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY x "boom">]><batchProcess><jobId>&x;</jobId></batchProcess>'
    assert error(ebill.post("BatchInit", entity), 400)["errorCode"] == "UNSAFE_XML"
    assert error(ebill.get(id="999"), 404)["errorCode"] == "NOT_FOUND"
    assert error(ebill.get(jobId="NOPE"), 404)["errorCode"] == "NOT_FOUND"
    assert error(ebill.get(), 400)["errorCode"] == "MISSING_ID"
    assert error(ebill.put("BatchFinalize", b"<batchProcess><id>42</id></batchProcess>"), 404)
    bad_flag = b"<batchProcess><jobId>X</jobId><carryForwardInvoices>yes</carryForwardInvoices></batchProcess>"
    assert error(ebill.post("BatchInit", bad_flag), 400)["errorCode"] == "INVALID_VALUE"
    assert error(ebill.post("S3FileUpload", SEED_CUSTOMER_UPLOAD.replace(b"Customer", b"Vendor")), 400)
    assert error(ebill.post("S3FileUpload", SEED_ITM_UPLOAD), 404)["errorCode"] == "NOT_FOUND"  # no parent 4

    unauthenticated = requests.post(ebill.url, params={"mode": "BatchInit"}, data=SEED_INIT, timeout=10)
    assert error(unauthenticated, 401)["errorCode"] == "UNAUTHORIZED"
    wrong_company = {"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": "someone-else"}
    assert requests.get(ebill.url, params={"id": "1"}, headers=wrong_company, timeout=10).status_code == 401


def test_finalize_rules(ebill: Ebill) -> None:
    ebill.upload("EMPTY", "Customer", "c.csv", None)
    assert error(ebill.finalize("EMPTY"), 409)["errorCode"] == "FILE_NOT_UPLOADED"
    assert error(ebill.post("S3FileUpload", SEED_CUSTOMER_UPLOAD.replace(b"AUGUST_2020_CUS", b"EMPTY")),
                 409)["errorCode"] == "DUPLICATE_JOB_ID"

    ebill.upload("INV", "Invoice", "inv.csv", INVOICES_CSV)
    ebill.upload("ITM", "Invoice Line Item", "itm.csv", None, parent_job_id="INV")
    missing_child = error(ebill.finalize("INV"), 409)
    assert missing_child["errorCode"] == "FILE_NOT_UPLOADED" and "itm.csv" in missing_child["errorMessage"]
    assert error(ebill.finalize("ITM"), 400)["errorCode"] == "FINALIZE_PARENT"
    mismatch = b"<batchProcess><id>1</id><jobId>INV</jobId></batchProcess>"
    assert error(ebill.put("BatchFinalize", mismatch), 400)["errorCode"] == "ID_MISMATCH"

    ebill.upload("OK", "Customer", "ok.csv", CUSTOMERS_CSV)
    assert ebill.finalize("OK").status_code == 200
    assert error(ebill.finalize("OK"), 409)["errorCode"] == "ALREADY_FINALIZED"


def test_an_itm_file_needs_an_open_invoice_parent(ebill: Ebill) -> None:
    ebill.upload("CUS", "Customer", "c.csv", CUSTOMERS_CSV)
    no_parent = SEED_ITM_UPLOAD.replace(b"<parentBatchProcess>4</parentBatchProcess>", b"").replace(
        b"<parentBatchProcessJobId>AUG_2020_INV</parentBatchProcessJobId>", b"")
    assert error(ebill.post("S3FileUpload", no_parent), 400)["errorCode"] == "MISSING_PARENT"
    wrong_parent = no_parent.replace(b"<jobId>", b"<parentBatchProcessJobId>CUS</parentBatchProcessJobId><jobId>")
    assert error(ebill.post("S3FileUpload", wrong_parent), 400)["errorCode"] == "INVALID_PARENT"


# -- signed URLs -----------------------------------------------------------------------------------

def test_signed_upload_urls_reject_tampering_and_expiry(sandbox_factory: Callable[..., RunningSandbox],
                                                        demo_headers: dict[str, str]) -> None:
    client = Ebill(sandbox_factory(), demo_headers)
    url = client.upload("A", "Customer", "a.csv", None)["uploadUrl"]
    tampered = url.replace("/in/1_a.csv", "/in/1_b.csv")
    assert requests.put(tampered, data=b"x", timeout=10).status_code == 403
    assert requests.put(url[: -4] + "0000", data=b"x", timeout=10).status_code == 403
    assert requests.get(url, timeout=10).status_code == 403  # signed for PUT only

    expired_client = Ebill(sandbox_factory(upload_url_ttl_seconds=0), demo_headers)
    expired = expired_client.upload("B", "Customer", "b.csv", None)["uploadUrl"]
    assert requests.put(expired, data=b"x", timeout=10).status_code == 403


# -- S3 through moto's server ----------------------------------------------------------------------

def test_flow_with_s3_presigned_urls(sandbox_factory: Callable[..., RunningSandbox], demo_headers: dict[str, str],
                                     moto_s3_endpoint: str, moto_s3_bucket: str) -> None:
    client = Ebill(sandbox_factory(s3_endpoint_url=moto_s3_endpoint, s3_bucket=moto_s3_bucket), demo_headers)
    created = client.upload("S3CUS", "Customer", "Customers Aug/2020.csv", None)
    upload_url = created["uploadUrl"]
    assert upload_url.startswith(f"{moto_s3_endpoint}/{moto_s3_bucket}/{DEMO_COMPANY}/in/1_2020.csv")
    assert "X-Amz-Signature=" in upload_url and "X-Amz-Expires=" in upload_url

    assert requests.put(upload_url, data=CUSTOMERS_CSV.encode(), timeout=10).status_code == 200
    s3 = boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1")
    stored = s3.get_object(Bucket=moto_s3_bucket, Key=f"{DEMO_COMPANY}/in/1_2020.csv")["Body"].read()
    assert stored.decode() == CUSTOMERS_CSV

    assert client.finalize("S3CUS").status_code == 200
    result = fields(client.wait_finished("S3CUS"))
    assert result["status"] == "Success" and result["successCount"] == "2"
    assert result["downloadUrl"].startswith(f"{moto_s3_endpoint}/{moto_s3_bucket}/{DEMO_COMPANY}/out/")
    output = read_csv(requests.get(result["downloadUrl"], timeout=10).text)
    assert [(row["customerNumber"], row["status"]) for row in output] == [("C-1", "Success"), ("C-2", "Success")]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=moto_s3_bucket)["Contents"]]
    assert f"{DEMO_COMPANY}/out/1_2020_output.csv" in keys


def test_a_finalized_batch_resumes_after_a_restart(sandbox_factory: Callable[..., RunningSandbox],
                                                   demo_headers: dict[str, str], tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite")
    first = sandbox_factory(db_path=db, job_record_delay_seconds=0.3)
    client = Ebill(first, demo_headers)
    rows = "".join(f"C-{i},Customer {i}\n" for i in range(6))
    client.upload("SLOW", "Customer", "slow.csv", "customerNumber,name\n" + rows)
    client.finalize("SLOW")
    deadline = time.monotonic() + 20
    while fields(client.get(jobId="SLOW"))["successCount"] == "0":
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)
    first.stop()

    result = fields(Ebill(sandbox_factory(db_path=db), demo_headers).wait_finished("SLOW"))
    assert (result["status"], result["successCount"], result["failCount"]) == ("Success", "6", "0")
    assert len(records(Path(db), "ebill_customers")) == 6
    output = read_csv(requests.get(result["downloadUrl"], timeout=10).text)
    assert [row["customerNumber"] for row in output] == [f"C-{i}" for i in range(6)]

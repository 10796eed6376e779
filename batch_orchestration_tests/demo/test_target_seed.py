"""What the targets hold before the migration, created in a real sandbox over HTTP: Bulk Payables' collaborators."""

from __future__ import annotations

import csv
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from batch_orchestration.demo import GenerationSummary, generate_export
from batch_orchestration.demo.layout import Row
from batch_orchestration.demo.target_seed import seed_collaborators
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox

DAYS = [date(2024, 3, 1), date(2024, 3, 2)]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    root = tmp_path_factory.mktemp("export")
    return root, generate_export(root, days=DAYS, customers=60, invoices_per_customer=2, lines_per_invoice=(1, 2),
                                 sizes={"payables": 30})


@pytest.fixture
def directory(export: tuple[Path, GenerationSummary]) -> list[dict[str, str]]:
    return export[1].collaborators


def call(sandbox: RunningSandbox, headers: dict[str, str], method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(method, f"{sandbox.url}{path}", json=body, headers=headers, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]


def held(sandbox: RunningSandbox, headers: dict[str, str]) -> list[tuple[str, str | None]]:
    return sorted((c["email"], c["externalId"]) for c in call(sandbox, headers, "GET", "/v1/collaborators"))


def seed(sandbox: RunningSandbox, directory: list[dict[str, str]], api_key: str = DEMO_API_KEY) -> int:
    return seed_collaborators(sandbox.url, DEMO_COMPANY, api_key, directory)


def test_the_directory_is_created_once_however_often_it_is_seeded(
    sandbox: RunningSandbox, demo_headers: dict[str, str], directory: list[dict[str, str]],
) -> None:
    assert len(directory) == 10
    assert seed(sandbox, directory) == 10
    created = call(sandbox, demo_headers, "GET", "/v1/collaborators")
    assert sorted((c["email"], c["name"], c["externalId"]) for c in created) == sorted(
        (c["email"].lower(), c["name"], c["externalId"]) for c in directory)
    assert seed(sandbox, directory) == 10
    assert len(held(sandbox, demo_headers)) == 10  # nothing sent twice


def test_collaborators_held_already_are_not_sent_again(
    sandbox: RunningSandbox, demo_headers: dict[str, str], directory: list[dict[str, str]],
) -> None:
    first = directory[0]
    call(sandbox, demo_headers, "POST", "/v1/collaborators", {**first, "email": first["email"].upper()})
    assert seed(sandbox, directory) == 10  # one email whatever its case: the target keeps it lower-case
    assert held(sandbox, demo_headers) == sorted((c["email"].lower(), c["externalId"]) for c in directory)


def test_a_collaborator_the_target_refuses_is_not_counted_as_held(
    sandbox: RunningSandbox, demo_headers: dict[str, str], directory: list[dict[str, str]],
) -> None:
    other = {"email": "someone.else@example.com", "externalId": directory[1]["externalId"]}
    call(sandbox, demo_headers, "POST", "/v1/collaborators", other)
    assert seed(sandbox, directory) == 9  # its external id is another's there (409): not this one
    assert len(held(sandbox, demo_headers)) == 10


def test_a_wrong_key_is_an_error(sandbox: RunningSandbox, directory: list[dict[str, str]]) -> None:
    with pytest.raises(requests.HTTPError):
        seed(sandbox, directory, api_key="not-the-key")


def _vouchers(root: Path) -> list[Row]:
    return [row for path in sorted((root / "payables").glob("*/*.csv"))
            for row in csv.DictReader(path.open(encoding="utf-8", newline=""))]


def _item(row: Row) -> dict[str, str]:
    """A voucher as a Bulk Payables item of a Merge batch on its statement (what a connector sends)."""
    fields = {"amount": row["AMOUNT"], "payableStatus": row["STATUS"].capitalize(),
              "collaboratorEmail": row["COLLAB_EMAIL"], "collaboratorExternalId": row["COLLAB_REF"],
              "dueDate": row["DUE_DATE"], "paidDate": row["PAID_DATE"], "lineItemDescription": row["DESCRIPTION"],
              "bulkPayableItemMergeKey": row["STATEMENT_NO"]}
    return {name: value for name, value in fields.items() if value}


def test_the_vouchers_merged_on_their_statement_become_one_payable_each(
    sandbox: RunningSandbox, demo_headers: dict[str, str], export: tuple[Path, GenerationSummary],
) -> None:
    """With the directory seeded, every voucher the pipeline sends resolves but the unknown collaborator's,
    and each statement is one payable of the statement's sum."""
    root, summary = export
    assert seed(sandbox, summary.collaborators) == len(summary.collaborators)
    held_back = {r.key for r in summary.bad_records if r.kind != "payable_unknown_collaborator"}
    sent = [row for row in _vouchers(root) if row["VOUCHER_NO"] not in held_back]
    batch = call(sandbox, demo_headers, "POST", "/v1/bulk-payables/batches", {"processingStrategy": "Merge"})
    path = f"/v1/bulk-payables/batches/{batch['bulkPayableBatchId']}"
    call(sandbox, demo_headers, "POST", f"{path}/items", {"items": [_item(row) for row in sent]})
    call(sandbox, demo_headers, "POST", f"{path}/submit")
    deadline = time.monotonic() + 20
    while call(sandbox, demo_headers, "GET", path)["status"] not in ("Complete", "Failed"):
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(0.05)

    items = call(sandbox, demo_headers, "GET", f"{path}/items")
    unknown = {r.key for r in summary.bad_records if r.kind == "payable_unknown_collaborator"}
    failed = {row["VOUCHER_NO"] for row, item in zip(sent, items, strict=True) if item["status"] == "Failed"}
    assert failed == unknown
    payables = call(sandbox, demo_headers, "GET", f"/v1/payables?bulkPayableBatchId={batch['bulkPayableBatchId']}")
    loaded = [row for row in sent if row["VOUCHER_NO"] not in unknown]
    sums: dict[str, int] = {}
    for row in loaded:
        sums[row["STATEMENT_NO"]] = sums.get(row["STATEMENT_NO"], 0) + int(Decimal(row["AMOUNT"]) * 100)
    assert sorted((p["bulkPayableItemMergeKey"], round(p["amount"] * 100)) for p in payables) == sorted(sums.items())
    assert all(p["amount"] > 0 for p in payables)

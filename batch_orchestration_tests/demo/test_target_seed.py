"""What the targets hold before the migration, created in a real sandbox over HTTP: Bulk Payables' collaborators."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from batch_orchestration.demo import GenerationSummary, generate_export
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

"""A prepared warehouse and a connector to a real sandbox, for the loader's own tests."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
import yaml

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.ingest.mapping import MAPPINGS_DIR, OPERATION_FIELD
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration.targets.base import BatchLabel, Outgoing, RecordOutcome
from batch_orchestration.targets.bigledger import BigLedgerConnector, BigLedgerSettings
from batch_orchestration.targets.retry import RetryPolicy
from batch_orchestration.warehouse import Warehouse, open_warehouse
from batch_orchestration.warehouse.schema import ensure_schema, validated_table

DAY = "2024-03-01"
# Fast enough for tests, with the same shape as the default policy.
TEST_POLICY = RetryPolicy(max_attempts=4, max_seconds=20.0, backoff_seconds=0.05, backoff_cap_seconds=0.2)


@pytest.fixture
def warehouse(warehouse_url: str) -> Warehouse:
    opened = open_warehouse(warehouse_url)
    ensure_schema(opened)
    return opened


def connector_for(sandbox: RunningSandbox, home: Path, **overrides: Any) -> BigLedgerConnector:
    settings = BigLedgerSettings(base_url=sandbox.url, company_id=DEMO_COMPANY, api_key=DEMO_API_KEY,
                                 rate_window_seconds=sandbox.config.window_seconds,
                                 rate_state_path=home / "rate.sqlite", timeout_seconds=5.0, policy=TEST_POLICY)
    return BigLedgerConnector(replace(settings, **overrides))


def create_in_target(connector: BigLedgerConnector, entity: str, reference: str,
                     data: dict[str, Any]) -> RecordOutcome:
    """A record created in the target outside the migration (by another system, before it)."""
    (outcome,) = connector.send_batch(connector.binding(entity), [Outgoing("create", reference, None, data)],
                                        BatchLabel(DAY, 0))
    return outcome


def put_validated(warehouse: Warehouse, entity: str, rows: list[dict[str, Any]], day: str = DAY) -> None:
    """Validated rows as the validation stage writes them: lineage, source key, typed fields."""
    spec = ENTITIES[entity]
    records = []
    for number, row in enumerate(rows, start=1):
        content = "\x00".join(f"{k}={row[k]}" for k in sorted(row))
        records.append({"partition_day": day, "source_file": f"{entity}.csv", "source_row": number,
                        "content_hash": hashlib.sha256(content.encode()).hexdigest(),
                        "source_key": spec.source_key(row), **row})
    with warehouse.session() as session:
        table = validated_table(entity)
        session.execute(f'DELETE FROM "{table}" WHERE partition_day = ?', (day,))
        session.append_df(table, pd.DataFrame(records))


def declare_sync(mappings: Path, mode: str, *entities: str) -> None:
    """The packaged mappings in ``mappings`` (copied there once), with ``entities`` exported as ``mode``: a
    snapshot or upserts export has no operation column, a changes one keeps the packaged one."""
    if not mappings.exists():
        shutil.copytree(MAPPINGS_DIR, mappings)
    for entity in entities:
        path = mappings / f"{entity}.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        document["sync"] = mode
        if mode != "changes":
            document["columns"].pop(OPERATION_FIELD, None)
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def customer(key: str, email: str | None = None) -> dict[str, Any]:
    return {"customer_key": key, "name": f"Customer {key}", "email": email or f"{key.lower()}@example.com",
            "country": "MY", "credit_limit": Decimal("1000.00"), "payment_terms": 30, "status": "active"}


def invoice(key: str, customer_key: str, total: str) -> dict[str, Any]:
    return {"invoice_key": key, "customer_key": customer_key, "invoice_date": "2024-02-15",
            "total_amount": Decimal(total)}


def line(invoice_key: str, number: int, quantity: str, unit_price: str) -> dict[str, Any]:
    return {"invoice_key": invoice_key, "line_number": number, "description": f"Line {number}",
            "quantity": Decimal(quantity), "unit_price": Decimal(unit_price)}


def sent(sandbox: RunningSandbox, method: str, path: str) -> list[dict[str, str]]:
    """The requests the sandbox's journal holds for the demo company, as its client sent them."""
    answer = requests.get(f"{sandbox.url}/_sandbox/companies/{DEMO_COMPANY}/requests", timeout=10,
                          headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
    answer.raise_for_status()
    return [r for r in answer.json()["requests"] if r["method"] == method and r["path"] == path]

"""One company's view of the store during a batch, with the indexed look-ups the rules need."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from batch_orchestration.sandbox.config import SandboxConfig
from batch_orchestration.sandbox.store import Store

# Expression indexes for the look-ups a batch makes per record; the SQL below must repeat these
# expressions exactly for SQLite to use them.
_KEYS = {
    "email": "lower(json_extract(data, '$.email'))",
    "itemCode": "lower(json_extract(data, '$.itemCode'))",
    "code": "lower(json_extract(data, '$.code'))",
    "referenceId": "json_extract(data, '$.referenceId')",
}
SCHEMA = "\n".join(
    f"CREATE INDEX IF NOT EXISTS bigledger_by_{name} ON records (company, entity, {expression});"
    for name, expression in _KEYS.items()
)
_CASE_INSENSITIVE = {"email", "itemCode", "code"}


@dataclass
class Session:
    store: Store
    company: str
    config: SandboxConfig

    @property
    def today(self) -> date:
        return datetime.now(UTC).date()

    def get(self, entity: str, record_id: Any) -> dict[str, Any] | None:
        if not isinstance(record_id, str):
            return None
        return self.store.get(self.company, entity, record_id)

    def ids_by_key(self, entity: str, key: str, values: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        """(id, record) of records whose indexed ``key`` is one of ``values`` (case-insensitive keys folded)."""

        if not values:
            return []
        if key in _CASE_INSENSITIVE:
            values = [str(v).lower() for v in values]
        marks = ",".join("?" for _ in values)
        rows = self.store.execute(
            f"SELECT id, data FROM records WHERE company = ? AND entity = ? AND {_KEYS[key]} IN ({marks}) ORDER BY seq",
            (self.company, entity, *values),
        )
        return [(row["id"], json.loads(row["data"])) for row in rows]

    def by_ids(self, entity: str, record_ids: list[str]) -> list[dict[str, Any]]:
        """The records of these ids that exist, in the order they were created (the primary key's index)."""
        if not record_ids:
            return []
        marks = ",".join("?" for _ in record_ids)
        rows = self.store.execute(
            f"SELECT data FROM records WHERE company = ? AND entity = ? AND id IN ({marks}) ORDER BY seq",
            (self.company, entity, *record_ids),
        )
        return [json.loads(row["data"]) for row in rows]

    def taken(self, entity: str, key: str, value: Any, own_id: str | None) -> bool:
        """Whether another record of ``entity`` already has ``value`` as its ``key``."""
        return any(found != own_id for found, _ in self.ids_by_key(entity, key, [value]))

    def referenced(self, entity: str, field: str, record_id: str) -> bool:
        rows = self.store.execute(
            "SELECT 1 FROM records WHERE company = ? AND entity = ? AND json_extract(data, ?) = ? LIMIT 1",
            (self.company, entity, f"$.{field}", record_id),
        )
        return bool(rows)

"""What a demo export holds: counts per entity and day, and every deliberately bad record."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field

ENTITIES = ("customers", "items", "invoices", "invoice_line_items")

# kind -> the entity whose record is bad.
BAD_KINDS = {
    "invalid_email": "customers",
    "duplicate_email": "customers",
    "missing_customer_name": "customers",
    "negative_credit_limit": "customers",
    "orphan_invoice": "invoices",
    "invalid_invoice_date": "invoices",
    "future_invoice_date": "invoices",
    "invoice_without_lines": "invoices",
    "negative_line_amount": "invoice_line_items",
    "orphan_line": "invoice_line_items",
}


def line_key(invoice_no: str, line_no: int | str) -> str:
    """The key of a line item, as the pipeline builds it from its key fields: ``INV-000012/3``."""
    return f"{invoice_no}/{line_no}"


@dataclass(frozen=True)
class BadRecord:
    """One deliberately bad record, and the records that must be rejected because of it."""

    kind: str
    entity: str
    key: str
    day: str
    detail: str
    # [entity, key] pairs rejected as a consequence (e.g. the lines of an orphan invoice).
    cascade: tuple[tuple[str, str], ...] = ()


@dataclass
class GenerationSummary:
    """Counts per entity per day, the customer re-exports, and the bad records by kind."""

    root: str
    seed: int
    days: list[str]
    files: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # entity -> day -> relative paths
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # entity -> day -> data rows
    new_customers: dict[str, int] = field(default_factory=dict)  # day -> first-time customers
    customer_updates: dict[str, dict[str, str]] = field(default_factory=dict)  # day -> key -> changed column
    customer_repeats: dict[str, list[str]] = field(default_factory=dict)  # day -> keys re-sent unchanged
    bad_records: list[BadRecord] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        """Data rows per entity over all days."""
        return {entity: sum(per_day.values()) for entity, per_day in self.rows.items()}

    @property
    def bad(self) -> dict[str, dict[str, list[str]]]:
        """kind -> entity -> keys of the deliberately bad records."""
        out: dict[str, dict[str, list[str]]] = {kind: {entity: []} for kind, entity in BAD_KINDS.items()}
        for record in self.bad_records:
            out[record.kind][record.entity].append(record.key)
        return out

    @property
    def bad_counts(self) -> dict[str, int]:
        """kind -> number of bad records of that kind."""
        return {kind: len(keys) for kind, by_entity in self.bad.items() for keys in by_entity.values()}

    @property
    def cascaded(self) -> dict[str, list[str]]:
        """entity -> keys of good-looking records that must be rejected because a related record is bad."""
        out: dict[str, list[str]] = {entity: [] for entity in ENTITIES}
        for record in self.bad_records:
            for entity, key in record.cascade:
                out[entity].append(key)
        return out

    def expected_rejects(self) -> dict[str, list[str]]:
        """entity -> sorted keys the pipeline must reject: the bad records plus their cascade."""
        out: dict[str, set[str]] = defaultdict(set)
        for record in self.bad_records:
            out[record.entity].add(record.key)
        for entity, keys in self.cascaded.items():
            out[entity].update(keys)
        return {entity: sorted(out[entity]) for entity in ENTITIES}

    def to_json(self) -> str:
        """The summary and its derived views (totals, bad by kind, expected rejects) as JSON."""
        data = asdict(self)
        data.update(totals=self.totals, bad=self.bad, bad_counts=self.bad_counts,
                    expected_rejects=self.expected_rejects())
        return json.dumps(data, indent=2, ensure_ascii=False)

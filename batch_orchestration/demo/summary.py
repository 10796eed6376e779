"""What a demo export holds: counts per entity and day, and every deliberately bad record."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from batch_orchestration.demo.documents import SUPPLIER_DOCUMENTS
from batch_orchestration.targets.systems import SYSTEMS

# Every entity of the export, in the registry's dependency order.
ENTITIES = ("customers", "suppliers", "items", "accounts", "invoice_line_items", "invoices", "bill_line_items",
            "bills", "journal_entry_lines", "journal_entries", "stock_adjustments", "purchase_order_lines",
            "purchase_orders", "item_receipt_lines", "item_receipts", "payments", "payables")

# kind -> (the entity whose record is bad, the reject code the pipeline gives that record). The codes
# of the cascade vary (HEADER_NOT_VALID, PARENT_REJECTED...); the records themselves are in ``cascade``.
BAD_KIND_CODES = {
    "invalid_email": ("customers", "INVALID_EMAIL"),
    "duplicate_email": ("customers", "DUPLICATE_EMAIL"),
    "missing_customer_name": ("customers", "REQUIRED"),
    "negative_credit_limit": ("customers", "INVALID_AMOUNT"),
    # The target already holds a customer with this email (one the export does not know): refused at load.
    "email_taken_in_target": ("customers", "DUPLICATE_ERROR"),
    "invalid_supplier_tax_number": ("suppliers", "INVALID_TAX_NUMBER"),
    "missing_supplier_name": ("suppliers", "REQUIRED"),
    "invalid_supplier_phone": ("suppliers", "INVALID_PHONE"),
    "invalid_unit_of_measure": ("items", "INVALID_VALUE"),
    "negative_selling_price": ("items", "INVALID_AMOUNT"),
    # Another item's code in other case: one code, as the target holds them; the first one stands.
    "item_code_case_clash": ("items", "DUPLICATE_KEY"),
    "invalid_account_type": ("accounts", "INVALID_VALUE"),
    "account_code_case_clash": ("accounts", "DUPLICATE_KEY"),
    "orphan_invoice": ("invoices", "PARENT_UNKNOWN"),
    "invalid_invoice_date": ("invoices", "INVALID_DATE"),
    "future_invoice_date": ("invoices", "FUTURE_DATE"),
    "invoice_without_lines": ("invoices", "NO_LINES"),
    "negative_line_amount": ("invoice_line_items", "INVALID_AMOUNT"),
    "orphan_line": ("invoice_line_items", "HEADER_NOT_VALID"),
    **{kind: codes for documents in SUPPLIER_DOCUMENTS for kind, codes in documents.bad_kind_codes.items()},
    "unbalanced_entry": ("journal_entries", "UNBALANCED"),
    "single_line_entry": ("journal_entries", "NO_LINES"),
    "invalid_entry_date": ("journal_entries", "INVALID_DATE"),
    "line_with_debit_and_credit": ("journal_entry_lines", "INVALID_LINE"),
    "line_unknown_account": ("journal_entry_lines", "PARENT_UNKNOWN"),
    "invalid_adjustment_type": ("stock_adjustments", "INVALID_VALUE"),
    "adjustment_unknown_item": ("stock_adjustments", "PARENT_UNKNOWN"),
    "future_adjustment_date": ("stock_adjustments", "FUTURE_DATE"),
    "payment_with_both_parties": ("payments", "REQUIRED"),
    "zero_payment_amount": ("payments", "INVALID_AMOUNT"),
    "payment_unknown_invoice": ("payments", "PARENT_UNKNOWN"),
    "zero_payable_amount": ("payables", "INVALID_AMOUNT"),
    "payable_without_collaborator": ("payables", "REQUIRED"),
    "paid_payable_without_date": ("payables", "INVALID_PAID_DATE"),
    # An email or external id no collaborator of the directory has: Bulk Payables fails the item.
    "payable_unknown_collaborator": ("payables", "PAYABLE_FAILED"),
    # Three decimals: the pipeline keeps four, Bulk Payables two, so the loader holds it back.
    "payable_sub_cent_amount": ("payables", "NOT_REPRESENTABLE"),
}
# kind -> the one target system that refuses its records: BigLedger holds the customer whose email the
# export reuses, and keeps emails unique; Bulk Payables resolves collaborators and keeps 2 decimals.
# Loaded elsewhere (or nowhere: validated only), these records and their cascade are not rejects.
REFUSED_ONLY_BY = {"email_taken_in_target": "bigledger", "payable_unknown_collaborator": "payables",
                   "payable_sub_cent_amount": "payables"}
# The systems the demo loads into (``targets.systems.SYSTEMS``): the summary's expected rejects per system.
DEMO_SYSTEMS = ("bigledger", "ebill", "import", "payables")
# kind -> the entity whose record is bad.
BAD_KINDS = {kind: entity for kind, (entity, _) in BAD_KIND_CODES.items()}


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
    """Counts per entity per day, the customer re-exports, the bad records by kind, and what the targets
    hold before the migration."""

    root: str
    seed: int
    days: list[str]
    files: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # entity -> day -> relative paths
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # entity -> day -> data rows
    new_customers: dict[str, int] = field(default_factory=dict)  # day -> first-time customers
    customer_updates: dict[str, dict[str, str]] = field(default_factory=dict)  # day -> key -> changed column
    customer_repeats: dict[str, list[str]] = field(default_factory=dict)  # day -> keys re-sent unchanged
    customer_deletes: dict[str, list[str]] = field(default_factory=dict)  # day -> keys its rows delete
    bad_records: list[BadRecord] = field(default_factory=list)
    # Records the target holds before the migration, unknown to the export (entity -> batch operations
    # to create them): the demo and the tests create them first (``target_seed.seed_target``).
    target_records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The collaborators Bulk Payables holds before the migration (email, name, externalId), whom the
    # payables name: the demo and the tests create them first (``target_seed.seed_collaborators``).
    collaborators: list[dict[str, str]] = field(default_factory=list)

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

    def expected_rejects(self, system: str) -> dict[str, list[str]]:
        """entity -> sorted keys the pipeline must reject when the demo loads into ``system``: the bad
        records plus their cascade, but for those only another system refuses (``REFUSED_ONLY_BY``); and
        the customers deleted, where ``system`` takes customers but not their deletes (``NOT_DELETABLE``)."""
        out: dict[str, set[str]] = defaultdict(set)
        customers = SYSTEMS[system].bindings.get("customers")
        if customers is not None and not customers.deletable:
            out["customers"].update(key for keys in self.customer_deletes.values() for key in keys)
        for record in self.bad_records:
            if REFUSED_ONLY_BY.get(record.kind, system) == system:
                out[record.entity].add(record.key)
                for entity, key in record.cascade:
                    out[entity].add(key)
        return {entity: sorted(out[entity]) for entity in ENTITIES}

    def to_json(self) -> str:
        """The summary and its derived views (totals, bad by kind, expected rejects per system) as JSON."""
        data = asdict(self)
        data.update(totals=self.totals, bad=self.bad, bad_counts=self.bad_counts,
                    expected_rejects={system: self.expected_rejects(system) for system in DEMO_SYSTEMS})
        return json.dumps(data, indent=2, ensure_ascii=False)

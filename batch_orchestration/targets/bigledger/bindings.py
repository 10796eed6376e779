"""BigLedger's batch entities (seed 000, "Batch Entities"): one binding per entity it takes.

The largest batch and the operations are the seed's table. Line items, bill lines and journal lines
have no endpoint of their own: they travel inside their header (``items``, ``lines``).
"""

from __future__ import annotations

from batch_orchestration.targets.base import Binding
from batch_orchestration.targets.bigledger import payloads

CREATE_ONLY = frozenset({"create"})

BINDINGS: dict[str, Binding] = {
    binding.entity: binding
    for binding in (
        Binding("customers", "customers", 500, payloads.party_data),
        Binding("suppliers", "suppliers", 500, payloads.party_data),
        Binding("items", "items", 1000, payloads.item_data),
        Binding("accounts", "accounts", 200, payloads.account_data),
        Binding("invoices", "invoices", 100, payloads.document_data(
            "customers", "customerId", "customer_key", "invoiceDate", "invoice_date", "invoice_key")),
        Binding("bills", "bills", 100, payloads.document_data(
            "suppliers", "supplierId", "supplier_key", "billDate", "bill_date", "bill_key")),
        Binding("journal_entries", "journal-entries", 100, payloads.journal_entry_data, CREATE_ONLY),
        Binding("stock_adjustments", "stock-adjustments", 500, payloads.stock_adjustment_data, CREATE_ONLY),
        Binding("payments", "payments", 200, payloads.payment_data, CREATE_ONLY),
    )
}

"""The demo's routing: every unit the chosen target system takes goes there, the others nowhere.

Bulk Payables merges the vouchers of one legacy statement into one payable (``Merge`` on
``statement_key``), the strategy that shows the lineage of a payable made of several source rows.
"""

from __future__ import annotations

from typing import Any

from batch_orchestration.entities.registry import units
from batch_orchestration.sandbox.ebill.csv_files import CUSTOMERS, INVOICES, LINE_ITEMS
from batch_orchestration.sandbox.import_schemas import IMPORT_TYPES
from batch_orchestration.targets.batch_import.bindings import BINDINGS as IMPORT_BINDINGS
from batch_orchestration.targets.bigledger.bindings import BINDINGS as BIGLEDGER_BINDINGS
from batch_orchestration.targets.payables.bindings import BINDINGS as PAYABLES_BINDINGS
from batch_orchestration.targets.systems import SYSTEMS

# What the sandbox's inspection (``/_sandbox/companies/<id>/counts``) calls each entity a system holds.
# BigLedger keeps lines inside their header, so they have no count of their own.
INSPECTED: dict[str, dict[str, str]] = {
    "bigledger": {entity: binding.endpoint for entity, binding in BIGLEDGER_BINDINGS.items()},
    "ebill": {"customers": CUSTOMERS, "invoices": INVOICES, "invoice_line_items": LINE_ITEMS},
    "import": {entity: IMPORT_TYPES[binding.endpoint].entity for entity, binding in IMPORT_BINDINGS.items()},
    # Payables made, which a Merge makes fewer of than the rows it loads: compared with the distinct
    # payable ids the ID map holds.
    "payables": {entity: "payables" for entity in PAYABLES_BINDINGS},
}
DEMO_OPTIONS: dict[str, dict[str, Any]] = {"payables": {"strategy": "Merge", "merge_key": ["statement_key"]}}


def key_variable(system: str) -> str:
    return f"{system.upper()}_API_KEY"


def demo_routing(system: str, base_url: str, company_id: str, window_seconds: float,
                 options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The routing file's content: one target of ``system`` at the sandbox, with the demo's options for
    it unless ``options`` are given."""
    takes = SYSTEMS[system].bindings
    return {
        "targets": {system: {"system": system, "base_url": base_url, "company_id": company_id,
                             "api_key_env": key_variable(system), "rate_window_seconds": window_seconds,
                             "options": DEMO_OPTIONS.get(system, {}) if options is None else options}},
        "entities": {root.name: system if root.name in takes else None for root in units()},
    }

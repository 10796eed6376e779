"""The documents bought from suppliers that the demo writes alike: bills, purchase orders, item receipts.

Each has a header with its lines, a supplier, a date and a total, and the same four kinds of bad record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SupplierDocuments:
    entity: str
    part: str
    name: str  # in the bad records' kinds: ``orphan_<name>``...
    prefix: str  # of the legacy keys: ``B-000001``
    key: str  # the legacy columns
    date: str
    reference: str
    total: str
    reference_prefix: str  # the supplier's own number: ``INV/2024/00042``
    receives: bool = False  # its lines say how many were received (``QTY_RECEIVED``)

    @property
    def bad_kind_codes(self) -> dict[str, tuple[str, str]]:
        """kind -> (the entity whose record is bad, its reject code): see ``summary.BAD_KIND_CODES``."""
        return {f"orphan_{self.name}": (self.entity, "PARENT_UNKNOWN"),
                f"{self.name}_total_mismatch": (self.entity, "TOTAL_MISMATCH"),
                f"future_{self.name}_date": (self.entity, "FUTURE_DATE"),
                f"{self.name}_line_unknown_item": (self.part, "PARENT_UNKNOWN")}


BILLS = SupplierDocuments("bills", "bill_line_items", "bill", "B", "BILL_NO", "BILL_DATE", "SUPP_INV_REF",
                          "BILL_TOTAL", "INV")
PURCHASE_ORDERS = SupplierDocuments("purchase_orders", "purchase_order_lines", "purchase_order", "PO", "PO_NO",
                                    "PO_DATE", "PO_REF", "PO_TOTAL", "REQ")
ITEM_RECEIPTS = SupplierDocuments("item_receipts", "item_receipt_lines", "item_receipt", "GRN", "GRN_NO",
                                  "GRN_DATE", "GRN_REF", "GRN_TOTAL", "DO", receives=True)
SUPPLIER_DOCUMENTS = (BILLS, PURCHASE_ORDERS, ITEM_RECEIPTS)

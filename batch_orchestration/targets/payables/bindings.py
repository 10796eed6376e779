"""How Bulk Payables takes payables: one bulk payable item per source record, and the target's options.

The processing strategy is the target's configuration (``options`` in the routing file):
``Single`` makes one payable of each item; ``Merge`` one payable of all items of a batch that share
a ``bulkPayableItemMergeKey``, built here from the configured payables fields. The key is part of the
item, so changing the strategy of a target changes what would be sent for the records it holds
(which the target takes only as creates: such a change is a ``NOT_UPDATABLE`` reject, never resent).

What the API refuses although the ledger's rules take it is held back (CannotRepresent), never sent or
changed: an amount with more than 2 decimals or 12 digits before the point, an email the API does not
read as one. A single refused item would make the API refuse the whole add, and the day with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, model_validator

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.entities.rules import PAYABLE_STATUSES
from batch_orchestration.targets.base import Binding, CannotRepresent, PayloadBuilder, Record, TargetIds
from batch_orchestration.targets.wire import cents

# Items of one bulk payable batch: the loader's batch, one intent and one batch label. The seed sets
# no limit; a day of up to this many payables is one batch, as the issue asks, and more make several.
ITEMS_PER_BATCH = 10_000
MAX_AMOUNT = Decimal(10) ** 12  # 14 digits with 2 decimals (docs/target-apis.md, the item's amount)
PAYABLE_STATUS = {status: status.capitalize() for status in PAYABLE_STATUSES}  # the API's ``payableStatus``


class PayablesOptions(BaseModel):
    """A Bulk Payables target's ``options`` in the routing file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Literal["Single", "Merge"] = "Single"
    merge_key: tuple[str, ...] = Field(default=(), description="Merge: the payables fields whose values, "
                                       "together, name the payable an item goes into")

    @model_validator(mode="after")
    def _key_fits_strategy(self) -> PayablesOptions:
        if (self.strategy == "Merge") != bool(self.merge_key):
            raise ValueError("merge_key is given with strategy Merge, and only then")
        unknown = [column for column in self.merge_key if column not in ENTITIES["payables"].fields]
        if unknown:
            raise ValueError(f"merge_key names fields payables do not have: {', '.join(unknown)}; they have "
                             f"{', '.join(ENTITIES['payables'].fields)}")
        return self


def merge_key(record: Record, columns: Sequence[str]) -> str:
    """The values of ``columns`` as one text (JSON: two different lists of values never meet). A row with
    all of them blank (a voucher on no statement) is merged with nothing: its key is its own."""
    values = [None if record.get(c) is None else str(record[c]) for c in columns]
    if all(value is None for value in values):
        return json.dumps({"payable_key": record["payable_key"]}, ensure_ascii=False)
    return json.dumps(values, ensure_ascii=False)


def _amount(value: Any) -> Decimal:
    amount = cents(value, "amount", "Bulk Payables")
    if abs(amount) >= MAX_AMOUNT:
        raise CannotRepresent(f"amount {amount} has more than 12 digits before the point; Bulk Payables takes 12")
    return amount


def _email(value: str | None) -> str | None:
    """The collaborator's email, if the target reads it as one (its rule, stricter than the ledger's: no
    ``a..b@``, no special-use domains such as ``.local``)."""
    if value is None:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise CannotRepresent(f"collaborator email {value!r} is not one Bulk Payables takes: {exc}") from None
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _item_builder(options: PayablesOptions) -> PayloadBuilder:
    def build(record: Record, _: Sequence[Record], __: TargetIds) -> dict[str, Any]:
        item: dict[str, Any] = {
            "amount": _amount(record["amount"]),
            "payableStatus": PAYABLE_STATUS[record["status"]],
            "collaboratorEmail": _email(record.get("collaborator_email")),
            "collaboratorId": record.get("collaborator_id"),
            "collaboratorExternalId": record.get("collaborator_external_id"),
            "dueDate": _text(record.get("due_date")),
            "paidDate": _text(record.get("paid_date")),
            "lineItemDescription": record.get("description"),
        }
        if options.strategy == "Merge":
            item["bulkPayableItemMergeKey"] = merge_key(record, options.merge_key)
        return {name: value for name, value in item.items() if value is not None}

    return build


def payables_binding(options: PayablesOptions) -> Binding:
    """Payables as a target with these options takes them: creates only (the API has no update)."""
    return Binding("payables", "payables", ITEMS_PER_BATCH, _item_builder(options), frozenset({"create"}))


BINDINGS: dict[str, Binding] = {"payables": payables_binding(PayablesOptions())}

"""CSV templates of seed 000 (customers, items, suppliers, accounts), also the default CSV mapping.

Excel templates need a spreadsheet library the sandbox does not carry: they answer 501.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from batch_orchestration.sandbox.bigledger.auth import Authenticated
from batch_orchestration.sandbox.bigledger.entities import ENTITIES
from batch_orchestration.sandbox.bigledger.envelope import BigLedgerError
from batch_orchestration.sandbox.bigledger.models import ERROR_RESPONSES
from batch_orchestration.sandbox.bigledger.routing import router as make_router


@dataclass(frozen=True)
class Column:
    name: str  # CSV header
    field: str  # record field; dots reach into nested objects
    kind: str = "text"  # text | number | integer | boolean


_ADDRESS = (
    Column("street", "address.street"),
    Column("city", "address.city"),
    Column("state", "address.state"),
    Column("postal_code", "address.postalCode"),
    Column("country", "address.country"),
)
_PARTY = (
    Column("name", "name"),
    Column("email", "email"),
    Column("phone", "phone"),
    Column("credit_limit", "creditLimit", "number"),
    Column("payment_terms", "paymentTerms", "integer"),
    Column("tax_number", "taxNumber"),
    *_ADDRESS,
)

TEMPLATES: dict[str, tuple[Column, ...]] = {
    "customers": _PARTY,
    "suppliers": _PARTY,
    "items": (
        Column("item_code", "itemCode"),
        Column("name", "name"),
        Column("description", "description"),
        Column("category", "category"),
        Column("type", "type"),
        Column("unit_of_measure", "unitOfMeasure"),
        Column("cost_price", "costPrice", "number"),
        Column("selling_price", "sellingPrice", "number"),
        Column("tax_code", "taxCode"),
        Column("reorder_level", "reorderLevel", "number"),
        Column("reorder_quantity", "reorderQuantity", "number"),
        Column("track_serial", "trackSerial", "boolean"),
        Column("track_batch", "trackBatch", "boolean"),
    ),
    "accounts": (
        Column("code", "code"),
        Column("name", "name"),
        Column("type", "type"),
        Column("parent_id", "parentId"),
        Column("description", "description"),
    ),
}


def _csv_endpoint(entity: str) -> Callable[..., Response]:
    def endpoint(request: Request, caller: Authenticated) -> Response:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(column.name for column in TEMPLATES[entity])
        return Response(
            buffer.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{entity}-template.csv"'},
        )

    endpoint.__name__ = f"csv_template_{entity}"
    return endpoint


def _excel(entity: str, caller: Authenticated) -> Response:
    if entity not in ENTITIES:
        raise BigLedgerError(404, "NOT_FOUND", f"No template for entity {entity!r}")
    csv_url = f"/v1/batch/{entity}/template.csv" if entity in TEMPLATES else None
    raise BigLedgerError(
        501,
        "NOT_IMPLEMENTED",
        "Excel templates are not available in the sandbox",
        details={"entity": entity, "csvTemplate": csv_url},
    )


def build() -> APIRouter:
    router = make_router(prefix="/v1/batch", tags=["BigLedger templates"], responses=ERROR_RESPONSES)
    for entity in TEMPLATES:
        router.add_api_route(
            f"/{entity}/template.csv",
            _csv_endpoint(entity),
            methods=["GET"],
            response_class=Response,
            summary=f"CSV template for {entity}",
            responses={200: {"content": {"text/csv": {}}}},
        )
    router.add_api_route(
        "/templates/excel/{entity}",
        _excel,
        methods=["GET"],
        summary="Excel template (501 in the sandbox)",
        responses={501: {"description": "Not available in the sandbox"}},
    )
    return router

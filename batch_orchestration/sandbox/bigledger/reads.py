"""``GET /v1/<entity>`` (filters, search, sort, cursor pagination) and ``GET /v1/<entity>/{id}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from batch_orchestration.sandbox.bigledger import query
from batch_orchestration.sandbox.bigledger.auth import Authenticated
from batch_orchestration.sandbox.bigledger.entities import ENTITIES, EntitySpec
from batch_orchestration.sandbox.bigledger.envelope import not_found, ok
from batch_orchestration.sandbox.bigledger.models import ERROR_RESPONSES, Envelope
from batch_orchestration.sandbox.bigledger.routing import router as make_router
from batch_orchestration.sandbox.bigledger.runtime import Runtime
from batch_orchestration.sandbox.bigledger.session import Session

_LIST_DESCRIPTION = (
    "Filters: `field=value` or `field[op]=value` with op in eq, ne, gt, gte, lt, lte, in, nin, contains, "
    "startswith, endswith (dotted names reach nested fields; numbers compare numerically); `fromDate`/"
    "`toDate` on the entity's date; `search` with `searchFields`; `sort=a:asc,b:desc`."
)


def _candidates(session: Session, spec: EntitySpec, filters: list[query.Filter]) -> list[dict[str, Any]]:
    """All records of the entity, or only those an indexed ``id`` or ``referenceId`` filter can select (the
    filters are applied to them all the same)."""
    for item in filters:
        if item.field in ("id", "referenceId") and item.operator in ("eq", "in"):
            values = item.value.split(",") if item.operator == "in" else [item.value]
            if item.field == "id":
                return session.by_ids(spec.name, values)
            return [record for _, record in session.ids_by_key(spec.name, "referenceId", values)]
    return session.store.all(session.company, spec.name)


def _list_endpoint(spec: EntitySpec) -> Callable[..., JSONResponse]:
    def endpoint(
        request: Request,
        caller: Authenticated,
        runtime: Runtime,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
        search: Annotated[str | None, Query()] = None,
        searchFields: Annotated[str | None, Query(description="Comma-separated fields")] = None,
        sort: Annotated[str | None, Query(description="e.g. createdAt:desc,total:asc")] = None,
    ) -> JSONResponse:
        session = Session(runtime.ctx.store, caller.company, runtime.ctx.config)
        filters = query.parse_filters(request.query_params.multi_items(), spec.date_field)
        found = [r for r in _candidates(session, spec, filters) if all(f.matches(r) for f in filters)]
        if search:
            fields = searchFields.split(",") if searchFields else spec.search_fields
            found = query.search(found, search, fields)
        found = query.sort(found, sort)
        start = query.page_start(found, cursor)
        page = found[start : start + limit]
        more = start + limit < len(found)
        pagination = {
            "hasMore": more,
            "nextCursor": query.encode_cursor(page[-1]["id"], start + limit) if more and page else None,
            "limit": limit,
            "total": len(found),
        }
        return ok(request, page, pagination=pagination)

    endpoint.__name__ = f"list_{spec.name.replace('-', '_')}"
    return endpoint


def _get_endpoint(spec: EntitySpec) -> Callable[..., JSONResponse]:
    def endpoint(request: Request, record_id: str, caller: Authenticated, runtime: Runtime) -> JSONResponse:
        record = runtime.ctx.store.get(caller.company, spec.name, record_id)
        if record is None:
            raise not_found(spec.label, record_id)
        return ok(request, record)

    endpoint.__name__ = f"get_{spec.name.replace('-', '_')}"
    return endpoint


def build() -> APIRouter:
    router = make_router(prefix="/v1", tags=["BigLedger records"], responses=ERROR_RESPONSES)
    for spec in ENTITIES.values():
        router.add_api_route(
            f"/{spec.name}",
            _list_endpoint(spec),
            methods=["GET"],
            response_model=Envelope,
            summary=f"List {spec.label.lower()} records",
            description=_LIST_DESCRIPTION,
        )
        router.add_api_route(
            f"/{spec.name}/{{record_id}}",
            _get_endpoint(spec),
            methods=["GET"],
            response_model=Envelope,
            summary=f"Get one {spec.label.lower()} record",
        )
    return router

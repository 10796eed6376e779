"""Endpoints for tests and operators: what a company holds and was sent, resetting it, and the faults."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field

from batch_orchestration.sandbox.config import FaultConfig
from batch_orchestration.sandbox.context import SandboxContext, sandbox_context

router = APIRouter(prefix="/_sandbox", tags=["sandbox inspection"])

Context = Annotated[SandboxContext, Depends(sandbox_context)]


def _require_company_key(ctx: SandboxContext, company: str, authorization: str | None) -> None:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key or ctx.config.companies.get(company) != key:
        raise HTTPException(status_code=401, detail="Bearer key of this company required")


class CompanyCounts(BaseModel):
    company: str
    counts: dict[str, int] = Field(description="Records held per entity")


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/companies/{company}/counts", response_model=CompanyCounts)
def company_counts(company: str, ctx: Context, authorization: Annotated[str | None, Header()] = None):
    _require_company_key(ctx, company, authorization)
    return CompanyCounts(company=company, counts=ctx.store.counts(company))


class CompanyRequests(BaseModel):
    company: str
    requests: list[dict[str, str]] = Field(description="The newest requests, oldest first: method, path, query, body")


@router.get("/companies/{company}/requests", response_model=CompanyRequests)
def company_requests(company: str, ctx: Context, authorization: Annotated[str | None, Header()] = None):
    """What the company's client sent, as sent (the Authorization header is never kept)."""
    _require_company_key(ctx, company, authorization)
    return CompanyRequests(company=company, requests=ctx.journal.of_company(company))


class CompanyResponses(BaseModel):
    company: str
    statuses: dict[int, int] = Field(description="Response status -> how many of the company's requests got it")


@router.get("/companies/{company}/responses", response_model=CompanyResponses)
def company_responses(company: str, ctx: Context, authorization: Annotated[str | None, Header()] = None):
    """How the company's requests were answered, counted by status since the sandbox started (429s...)."""
    _require_company_key(ctx, company, authorization)
    return CompanyResponses(company=company, statuses=ctx.journal.statuses(company))


class CompanyTimeline(BaseModel):
    company: str
    answers: list[dict[str, str | int | float]] = Field(
        description="The newest answers, oldest first: method, path, status, received_at, answered_at (epoch s)")


@router.get("/companies/{company}/timeline", response_model=CompanyTimeline)
def company_timeline(company: str, ctx: Context, authorization: Annotated[str | None, Header()] = None):
    """When each of the company's requests came and was answered, and how (no bodies): pacing, 429s."""
    _require_company_key(ctx, company, authorization)
    return CompanyTimeline(company=company, answers=ctx.journal.timeline(company))


@router.delete("/companies/{company}", status_code=204)
def reset_company(company: str, ctx: Context, authorization: Annotated[str | None, Header()] = None) -> None:
    _require_company_key(ctx, company, authorization)
    ctx.store.reset(company)


class FaultSettings(BaseModel):
    spec: str = Field("", description="e.g. 5xx=0.1,429=0.05,lost=0.02,latency=0.5,latency_ms=200")
    seed: int | None = None


@router.put("/faults")
def set_faults(settings: FaultSettings, ctx: Context, authorization: Annotated[str | None, Header()] = None):
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or ctx.company_for_key(key) is None:
        raise HTTPException(status_code=401, detail="A configured bearer key is required")
    try:
        config = FaultConfig.parse(settings.spec)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    ctx.faults.configure(config, settings.seed)
    return {"enabled": config.enabled}

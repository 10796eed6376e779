"""Bearer-key authentication shared by the eBill, Batch Import and Bulk Payables families."""

from __future__ import annotations

from batch_orchestration.sandbox.context import SandboxContext


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or None."""
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def company_for_key(ctx: SandboxContext, authorization: str | None) -> str | None:
    """The company owning the bearer key (for APIs that send no company header)."""
    key = bearer_key(authorization)
    return ctx.company_for_key(key) if key else None


def company_for_headers(ctx: SandboxContext, authorization: str | None, company_id: str | None) -> str | None:
    """The company named by ``X-Company-Id`` when the bearer key is that company's, else None."""
    key = bearer_key(authorization)
    if key is None or not company_id or ctx.config.companies.get(company_id) != key:
        return None
    return company_id

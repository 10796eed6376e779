"""The target API families the sandbox serves; each module has ``install(app, ctx)``."""

from __future__ import annotations

from fastapi import FastAPI

from batch_orchestration.sandbox.context import SandboxContext


def install_families(app: FastAPI, ctx: SandboxContext) -> None:
    # Imported here so a family's import cost is paid only when an app is built.
    from batch_orchestration.sandbox import batch_import, bigledger, ebill, payables

    for family in (bigledger, ebill, batch_import, payables):
        family.install(app, ctx)

"""Placeholder until this API family is built (issue 2)."""

from fastapi import FastAPI

from batch_orchestration.sandbox.context import SandboxContext


def install(app: FastAPI, ctx: SandboxContext) -> None:
    """Nothing yet."""

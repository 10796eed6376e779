"""What every request handler of the sandbox can reach: settings, store, job runner, faults, journal."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from batch_orchestration.sandbox.config import SandboxConfig
from batch_orchestration.sandbox.faults import FaultInjector
from batch_orchestration.sandbox.jobs import JobRunner
from batch_orchestration.sandbox.journal import RequestJournal
from batch_orchestration.sandbox.store import Store


@dataclass
class SandboxContext:
    config: SandboxConfig
    store: Store
    jobs: JobRunner
    faults: FaultInjector
    journal: RequestJournal

    def company_for_key(self, api_key: str) -> str | None:
        """The company an API key belongs to, or None for an unknown key."""
        for company, key in self.config.companies.items():
            if key == api_key:
                return company
        return None


def sandbox_context(request: Request) -> SandboxContext:
    """FastAPI dependency: the context of the app serving this request."""
    return request.app.state.sandbox

"""The HTTP session of a target's API client: the key as a Bearer token, and the company where the API
names one (all but Batch Import, whose key alone names the company)."""

from __future__ import annotations

import requests

USER_AGENT = "batch_orchestration/0.1"


def api_session(api_key: str, company_id: str | None = None) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT})
    if company_id is not None:
        session.headers["X-Company-Id"] = company_id
    return session

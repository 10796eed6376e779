"""The HTTP session of a target's API client: the key as a Bearer token, and the company where the API
names one (all but Batch Import, whose key alone names the company); and the tally of its answers."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests

USER_AGENT = "batch_orchestration/0.1"


class AnswerTally:
    """Every answer a client's session got from its target, by HTTP status: what a step spent of the
    target's request budget, and the 429s among them (the client's own pacing should leave none)."""

    def __init__(self) -> None:
        self.by_status: Counter[int] = Counter()

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.by_status[response.status_code] += 1
        return response

    @property
    def requests(self) -> int:
        return sum(self.by_status.values())

    @property
    def rate_limited(self) -> int:
        return self.by_status[429]


def api_session(api_key: str, company_id: str | None = None, answers: AnswerTally | None = None) -> requests.Session:
    session = requests.Session()
    if answers is not None:
        session.hooks["response"].append(answers)
    session.headers.update({"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT})
    if company_id is not None:
        session.headers["X-Company-Id"] = company_id
    return session

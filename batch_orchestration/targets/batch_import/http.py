"""HTTP to the Batch Import API: one JSON ``POST /v1/import`` a batch, sent once and its answer classified.

The key alone names the company (the seed has no company header). A refusal (401, 415 and the
documented 400 messages) is final and is worded with the API's ``msg`` and what to check; the key
is sent, never logged or raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batch_orchestration.targets.base import AmbiguousOutcome, TargetRefused
from batch_orchestration.targets.retry import send
from batch_orchestration.targets.session import AnswerTally, api_session
from batch_orchestration.targets.wire import encode_json

PATH = "/v1/import"
_HINTS = {401: "check the API key in ${variable}", 415: "the request must be application/json",
          400: "the batch is not what seed 003 documents"}


@dataclass
class BatchImportHttp:
    base_url: str
    api_key: str = field(repr=False)
    key_variable: str = "IMPORT_API_KEY"
    timeout_seconds: float = 30.0

    answers: AnswerTally = field(default_factory=AnswerTally, repr=False)

    def __post_init__(self) -> None:
        self._session = api_session(self.api_key, answers=self.answers)

    def post_import(self, import_type: str, data: list[dict[str, Any]],
                    content_type: str = "application/json") -> dict[str, Any]:
        """``result`` of one import (``accepted``, ``rejected[{index, msg}]``), sent once."""
        what = f"POST {PATH} ({import_type}, {len(data)} records)"
        response = send(self._session, "POST", self.base_url.rstrip("/") + PATH, what,
                        data=encode_json({"type": import_type, "data": data}), timeout=self.timeout_seconds,
                        headers={"Content-Type": content_type})
        try:
            body = response.json()
        except ValueError:
            if response.status_code >= 400:
                raise TargetRefused(response.status_code, f"{what}: HTTP {response.status_code} "
                                    f"{response.text[:200]}") from None
            raise AmbiguousOutcome(f"{what}: HTTP {response.status_code} with a body that is not JSON") from None
        if response.status_code >= 400:
            hint = _HINTS.get(response.status_code, "").replace("{variable}", self.key_variable)
            said = body.get("msg", "") if isinstance(body, dict) else ""
            raise TargetRefused(response.status_code, f"{what}: HTTP {response.status_code} {said}"
                                + (f" ({hint})" if hint else ""))
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("rejected"), list):
            raise AmbiguousOutcome(f"{what}: HTTP {response.status_code} without a result")
        return result

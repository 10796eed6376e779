"""HTTP to the Bulk Payables API (seed 004, our REST design in docs/target-apis.md): JSON in the
``{"success", "data" | "error"}`` envelope of seed 002.

Writes (create a batch, add items, submit) are sent once and their answer classified; the connector
decides what happens next. Reads (a batch, its items, the batches with a label) are retried here under
the one retry policy. A refusal carries the API's code, message and field details, and for 401 what
to check; the key is sent, never logged or raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from batch_orchestration.targets.base import AmbiguousOutcome, NotApplied, TargetRefused
from batch_orchestration.targets.retry import DEFAULT_POLICY, RetryPolicy, send
from batch_orchestration.targets.session import AnswerTally, api_session
from batch_orchestration.targets.wire import encode_json

BATCHES = "/v1/bulk-payables/batches"
FINISHED = ("Complete", "Failed")

Record = dict[str, Any]


_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def batch_path(batch_id: str, tail: str = "") -> str:
    """A batch's path. Its id is the target's text: one that is not a plain id (``..`` would leave its
    segment even quoted) is refused rather than sent."""
    if not _BATCH_ID.fullmatch(batch_id):
        raise TargetRefused(0, f"Bulk Payables answered a batch id that is not an id: {batch_id[:40]!r}")
    return f"{BATCHES}/{batch_id}{tail}"


class PayablesRefused(TargetRefused):
    """A final answer, with the API's error ``code`` (``BATCH_NOT_OPEN``, ``VALIDATION_ERROR``...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.code = code


@dataclass
class PayablesHttp:
    base_url: str
    company_id: str
    api_key: str = field(repr=False)
    key_variable: str = "PAYABLES_API_KEY"
    timeout_seconds: float = 30.0
    policy: RetryPolicy = DEFAULT_POLICY

    answers: AnswerTally = field(default_factory=AnswerTally, repr=False)

    def __post_init__(self) -> None:
        self._session = api_session(self.api_key, self.company_id, self.answers)

    def _call(self, method: str, path: str, what: str, body: Any = None,
              params: dict[str, str] | None = None) -> Any:
        """The answer's ``data``, sent once."""
        kwargs: dict[str, Any] = {"params": params, "timeout": self.timeout_seconds}
        if body is not None:
            kwargs.update(data=encode_json(body), headers={"Content-Type": "application/json"})
        response = send(self._session, method, self.base_url.rstrip("/") + path, what, **kwargs)
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            if status >= 400:
                raise TargetRefused(status, f"{what}: HTTP {status} {response.text[:200]}") from None
            raise AmbiguousOutcome(f"{what}: HTTP {status} with a body that is not JSON") from None
        if status >= 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            error = error if isinstance(error, dict) else {}
            details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.get("details") or []
                                if isinstance(d, dict))
            hint = (f" (check the API key in ${self.key_variable} and company {self.company_id})"
                    if status == 401 else "")
            raise PayablesRefused(status, str(error.get("code", "")), f"{what}: HTTP {status} {error.get('code', '')}: "
                                  f"{error.get('message', '')}{f' ({details})' if details else ''}{hint}")
        if not isinstance(answer, dict) or "data" not in answer:
            raise AmbiguousOutcome(f"{what}: HTTP {status} without data")
        return answer["data"]

    def _read(self, path: str, what: str, params: dict[str, str] | None = None) -> Any:
        return self.policy.retrying((NotApplied, AmbiguousOutcome))(lambda: self._call("GET", path, what,
                                                                                       params=params))

    # -- writes: sent once -------------------------------------------------------------------------

    def create_batch(self, strategy: str, labels: dict[str, str]) -> Record:
        return self._call("POST", BATCHES, f"POST {BATCHES}", {"processingStrategy": strategy, "labels": labels})

    def add_items(self, batch_id: str, items: list[Record]) -> None:
        path = batch_path(batch_id, "/items")
        self._call("POST", path, f"POST {path} ({len(items)} items)", {"items": items})

    def submit(self, batch_id: str) -> None:
        path = batch_path(batch_id, "/submit")
        self._call("POST", path, f"POST {path}")

    # -- reads: retried ----------------------------------------------------------------------------

    def batches_labelled(self, labels: dict[str, str]) -> list[Record]:
        """The company's batches carrying all these labels, oldest first."""
        return self._read(BATCHES, f"GET {BATCHES} by label",
                          {f"label.{key}": value for key, value in labels.items()})

    def batch(self, batch_id: str) -> Record:
        path = batch_path(batch_id)
        return self._read(path, f"GET {path}")

    def items(self, batch_id: str) -> list[Record]:
        path = batch_path(batch_id, "/items")
        return self._read(path, f"GET {path}")

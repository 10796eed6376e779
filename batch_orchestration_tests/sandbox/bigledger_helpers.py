"""A small BigLedger client for the sandbox tests: paced under the per-second limit, retrying 429s."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import requests

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY


class Client:
    """Talks to one sandbox as one company over real HTTP."""

    def __init__(self, url: str, api_key: str = DEMO_API_KEY, company: str = DEMO_COMPANY,
                 retry_rate_limits: bool = True) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {api_key}", "X-Company-Id": company}
        self.retry_rate_limits = retry_rate_limits
        self.http = requests.Session()
        self._sent: deque[float] = deque()

    def _pace(self) -> None:
        """Stay under the 10 requests per second of seed 002."""
        now = time.monotonic()
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()
        if len(self._sent) >= 9:
            time.sleep(self._sent[0] + 1.0 - now + 0.01)
        self._sent.append(time.monotonic())

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        for _ in range(30):
            self._pace()
            response = self.http.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
            if response.status_code != 429 or not self.retry_rate_limits:
                return response
            time.sleep(int(response.headers["Retry-After"]))
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def batch(self, entity: str, operations: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        """POST a batch and return its ``data``, asserting the request itself succeeded."""
        response = self.post(f"/v1/batch/{entity}", json={"operations": operations, "options": options})
        assert response.status_code in (200, 202), response.text
        return response.json()["data"]

    def create(self, entity: str, records: list[dict[str, Any]]) -> list[str]:
        """Create records that must all be valid; returns their ids."""
        data = self.batch(entity, [{"operation": "create", "data": record} for record in records])
        assert data["failedRecords"] == 0, data["results"]
        return [result["data"]["id"] for result in data["results"]]

    def listing(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for_job(self, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/v1/batch/jobs/{job_id}").json()["data"]
            if job["status"] in ("completed", "failed"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish")


def create_op(data: dict[str, Any], reference_id: str | None = None) -> dict[str, Any]:
    return {"operation": "create", "referenceId": reference_id, "data": data}


def customer(n: int, **fields: Any) -> dict[str, Any]:
    return {"name": f"Customer {n}", "email": f"customer{n}@example.com", "phone": "+60123456789", **fields}


def invoice(customer_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "customerId": customer_id,
        "invoiceDate": "2024-01-15",
        "items": [{"description": "Services", "quantity": 2, "unitPrice": 50.0}],
        **fields,
    }


def item(code: str, **fields: Any) -> dict[str, Any]:
    return {"itemCode": code, "name": f"Item {code}", "unitOfMeasure": "pieces", "costPrice": 1.0,
            "sellingPrice": 2.0, **fields}


def error_codes(data: dict[str, Any]) -> list[str | None]:
    """The error code of every result (None for successes)."""
    return [None if r["success"] else r["error"]["code"] for r in data["results"]]


def detail_codes(result: dict[str, Any]) -> set[str]:
    return {detail["code"] for detail in result["error"]["details"]}

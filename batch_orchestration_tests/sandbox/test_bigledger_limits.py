"""Authentication, and a 429 with an honest Retry-After for every rate limit of seeds 000 and 002."""

from __future__ import annotations

import time
from typing import Any

import requests

from batch_orchestration.sandbox.bigledger.ratelimit import Limits, RateLimited
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.sandbox.bigledger_helpers import Client, create_op, customer


def _assert_429(response: requests.Response, maximum_wait: float) -> int:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= maximum_wait
    assert body["error"]["details"]["retryAfter"] == retry_after
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Response-Time"):
        assert name in response.headers
    return retry_after


def test_authentication(sandbox_factory: Any) -> None:
    running = sandbox_factory(companies={"alpha": "key-a", "beta": "key-b"}, window_seconds=2.0)
    url = f"{running.url}/v1/customers"
    cases = [
        ({}, 401, "UNAUTHORIZED"),
        ({"Authorization": "Bearer wrong", "X-Company-Id": "alpha"}, 401, "UNAUTHORIZED"),
        ({"Authorization": "Basic key-a", "X-Company-Id": "alpha"}, 401, "UNAUTHORIZED"),
        ({"Authorization": "Bearer key-a"}, 403, "PERMISSION_ERROR"),
        ({"Authorization": "Bearer key-a", "X-Company-Id": "beta"}, 403, "PERMISSION_ERROR"),
        ({"Authorization": "Bearer key-a", "X-Company-Id": "alpha"}, 200, None),
    ]
    for headers, status, code in cases:
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == status, (headers, response.text)
        assert "X-RateLimit-Limit" in response.headers and "X-Request-ID" in response.headers
        if code:
            assert response.json()["error"]["code"] == code and "meta" in response.json()
    post = requests.post(f"{running.url}/v1/batch/customers", json={"operations": [create_op(customer(1))]},
                         timeout=10)
    assert post.status_code == 401


def test_batches_per_window(sandbox_factory: Any) -> None:
    client = Client(sandbox_factory(window_seconds=3.0).url, retry_rate_limits=False)
    body = {"operations": [create_op({"name": "x"})]}
    for _ in range(10):
        assert client.post("/v1/batch/customers", json=body).status_code == 200
    retry_after = _assert_429(client.post("/v1/batch/customers", json=body), 3)
    assert client.post("/v1/bulk/customers", json=body).status_code == 200  # bulk is not a batch
    time.sleep(retry_after)
    assert client.post("/v1/batch/customers", json=body).status_code == 200


def test_large_batches_count_against_both_limits(sandbox_factory: Any) -> None:
    client = Client(sandbox_factory(window_seconds=4.0).url, retry_rate_limits=False)
    large = {"operations": [create_op({"name": f"n{i}"}) for i in range(101)]}
    small = {"operations": [create_op({"name": "small"})]}
    for _ in range(5):
        assert client.post("/v1/batch/customers", json=large).status_code == 200
    response = client.post("/v1/batch/customers", json=large)
    _assert_429(response, 4)
    assert response.json()["error"]["details"]["limit"] == "large_batches_per_window"
    for _ in range(5):  # the five large batches used five of the ten standard slots
        assert client.post("/v1/batch/customers", json=small).status_code == 200
    response = client.post("/v1/batch/customers", json=small)
    _assert_429(response, 4)
    assert response.json()["error"]["details"]["limit"] == "batches_per_window"


def test_three_concurrent_async_jobs(sandbox_factory: Any) -> None:
    client = Client(sandbox_factory(window_seconds=2.0, job_record_delay_seconds=0.05).url,
                    retry_rate_limits=False)
    body = {"operations": [create_op({"name": f"n{i}"}) for i in range(10)], "options": {"async": True}}
    jobs = [client.post("/v1/batch/customers", json=body) for _ in range(3)]
    assert [r.status_code for r in jobs] == [202, 202, 202]
    metrics = client.get("/v1/batch/metrics").json()["data"]
    assert metrics["activeBatches"] + metrics["queuedBatches"] == 3
    _assert_429(client.post("/v1/batch/customers", json=body), 60)
    assert client.post("/v1/batch/customers", json={"operations": body["operations"]}).status_code == 200
    Client(client.url).wait_for_job(jobs[0].json()["data"]["jobId"])
    assert client.post("/v1/batch/customers", json=body).status_code == 202


def test_requests_per_second(sandbox: RunningSandbox, demo_headers: dict[str, str]) -> None:
    with requests.Session() as http:
        statuses = [http.get(f"{sandbox.url}/v1/auth/verify", headers=demo_headers, timeout=10)
                    for _ in range(25)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, "25 back-to-back requests must exceed 10 per second"
    assert _assert_429(limited[0], 1) == 1
    assert limited[0].json()["error"]["details"]["limit"] == "requests_per_second"


def test_hourly_budget_is_reported_in_headers(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.url)
    remaining = [int(client.get("/v1/company").headers["X-RateLimit-Remaining"]) for _ in range(3)]
    assert remaining == [999, 998, 997]
    reset = int(client.get("/v1/company").headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 60 * 2.0 + 1


def test_hourly_limit_rejects_the_1001st_request() -> None:
    """Over HTTP the 10/s burst limit makes 1000 requests take 100 s, so this checks the limiter itself."""
    limits = Limits(window_seconds=60.0)
    limits.per_second.limit = 10_000  # lift the burst limit only
    for _ in range(1000):
        limits.admit_request("key")
    try:
        limits.admit_request("key")
    except RateLimited as exc:
        assert exc.details["limit"] == "requests_per_hour"
        assert 3500 <= exc.retry_after <= 3601 and exc.headers["X-RateLimit-Remaining"] == "0"
    else:
        raise AssertionError("the 1001st request in an hour must be rejected")


def test_hourly_limit_over_http(sandbox_factory: Any, demo_headers: dict[str, str]) -> None:
    """The same limit end to end, with a small hourly budget and the burst limit lifted."""
    running = sandbox_factory(window_seconds=1.0, requests_per_second=1_000, requests_per_hour=15)
    answers = [requests.get(f"{running.url}/v1/company", headers=demo_headers, timeout=10) for _ in range(16)]
    assert [a.status_code for a in answers[:15]] == [200] * 15
    assert answers[14].headers["X-RateLimit-Remaining"] == "0"
    retry_after = _assert_429(answers[15], maximum_wait=61)
    assert answers[15].json()["error"]["details"]["limit"] == "requests_per_hour"
    assert retry_after >= 50  # the hour is 60 windows of 1 s; the oldest request frees a slot then

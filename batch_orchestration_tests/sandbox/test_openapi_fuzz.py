"""Property-based requests from the sandbox's own OpenAPI document: no 5xx with faults off.

Schemathesis generates the requests of every operation; hypothesis drives them (schemathesis's own
pytest plugin does not run under this pytest version).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration_tests.conftest import SandboxFactory

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}", "X-Company-Id": DEMO_COMPANY}
EXAMPLES_PER_OPERATION = 12


def test_no_server_error_on_any_operation(sandbox_factory: SandboxFactory) -> None:
    # Limits out of the way, so the generated requests reach the handlers instead of a 429.
    running = sandbox_factory(window_seconds=0.05, requests_per_second=100_000, requests_per_hour=1_000_000)
    schema = schemathesis.openapi.from_url(f"{running.url}/openapi.json")
    server_errors: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the OpenAPI document should describe every endpoint"

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH, timeout=30)
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                     f"{response.text[:200]}")

        call()
    assert not server_errors, "\n".join(server_errors[:10])

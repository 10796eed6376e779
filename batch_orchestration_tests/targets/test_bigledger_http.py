"""Each kind of answer the BigLedger client can get, classified for the retry policy (sandbox on loopback)."""

from __future__ import annotations

import socket
from decimal import Decimal
from pathlib import Path

import pytest

from batch_orchestration.sandbox.config import FaultConfig
from batch_orchestration.targets.base import AmbiguousOutcome, NotApplied, TargetRefused
from batch_orchestration.targets.wire import encode_json
from batch_orchestration_tests.conftest import SandboxFactory
from batch_orchestration_tests.load.conftest import connector_for, sent

ONE = {"operations": [{"operation": "create", "referenceId": "r1", "data": {"name": "Acme"}}]}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(("faults", "expected"), [
    (FaultConfig(p_429=1.0), NotApplied),
    (FaultConfig(p_5xx=1.0), AmbiguousOutcome),
    (FaultConfig(p_lost=1.0), AmbiguousOutcome),
])
def test_a_write_is_sent_once_and_its_failure_classified(faults: FaultConfig, expected: type[Exception],
                                                         sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    http = connector_for(sandbox_factory(window_seconds=1.0, faults=faults), tmp_path).http
    with pytest.raises(expected) as raised:
        http.post_batch("/v1/batch/customers", ONE, large=False)
    if expected is NotApplied:
        assert raised.value.retry_after is not None  # the sandbox says how long to wait


def test_a_refused_connection_is_not_applied(sandbox, tmp_path: Path) -> None:
    http = connector_for(sandbox, tmp_path, base_url=f"http://127.0.0.1:{_free_port()}").http
    with pytest.raises(NotApplied, match="refused the connection"):
        http.post_batch("/v1/batch/customers", ONE, large=False)


def test_reads_are_retried_within_the_policy(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sandbox = sandbox_factory(window_seconds=1.0, faults=FaultConfig(p_5xx=1.0))
    http = connector_for(sandbox, tmp_path).http
    with pytest.raises(AmbiguousOutcome):
        http.get("/v1/customers")
    assert len(sent(sandbox, "GET", "/v1/customers")) == http.policy.max_attempts


def test_a_write_is_sent_exactly_once_per_call(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sandbox = sandbox_factory(window_seconds=1.0, faults=FaultConfig(p_5xx=1.0))
    with pytest.raises(AmbiguousOutcome):
        connector_for(sandbox, tmp_path).http.post_batch("/v1/batch/customers", ONE, large=False)
    assert len(sent(sandbox, "POST", "/v1/batch/customers")) == 1


def test_final_answers_carry_the_targets_words_and_what_to_check(sandbox, tmp_path: Path) -> None:
    wrong_key = connector_for(sandbox, tmp_path, api_key="wrong-key-7731").http
    with pytest.raises(TargetRefused) as unauthorised:
        wrong_key.get("/v1/customers")
    assert unauthorised.value.status == 401
    assert "$BIGLEDGER_API_KEY" in str(unauthorised.value) and "wrong-key-7731" not in str(unauthorised.value)

    http = connector_for(sandbox, tmp_path).http
    with pytest.raises(TargetRefused) as not_found:
        http.get("/v1/no-such-entity")
    assert not_found.value.status == 404
    too_big = {"operations": [{"operation": "create", "referenceId": f"r{n}", "data": {"name": f"N{n}"}}
                              for n in range(501)]}
    with pytest.raises(TargetRefused) as bad_request:
        http.post_batch("/v1/batch/customers", too_big, large=True)
    assert bad_request.value.status in (400, 413, 422)


def test_decimals_go_over_the_wire_as_exact_numbers() -> None:
    assert encode_json({"a": Decimal("12345678.905"), "b": Decimal("0.10")}) == '{"a":12345678.905,"b":0.10}'

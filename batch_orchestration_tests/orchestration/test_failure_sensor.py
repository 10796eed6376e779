"""The run-failure sensor (issue 13, "what an operator watches"): a run that failed against the sandbox (a
wrong key) is reported in one message naming the day, the step and what to check; to a webhook on
loopback when one is configured, whose URL (it holds a token) is never said."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.orchestration.failure_sensor import WEBHOOK_VARIABLE, run_failure_alert
from batch_orchestration.orchestration.runner import QUIET_LOGS
from batch_orchestration.sandbox.server import RunningSandbox
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, write_export

pytestmark = pytest.mark.slow

TOKEN_PATH = "/hooks/T0KEN-1234"


class Webhook:
    """An incoming webhook on loopback: what it was posted, and the status it answers."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, object]]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append((self.path, json.loads(body)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}{TOKEN_PATH}"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


def test_a_failed_run_is_reported_once_clearly_and_to_the_webhook(
        tmp_path: Path, sandbox: RunningSandbox, webhook: Webhook, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    day = DAY_KEYS[0]
    write_export(tmp_path / "landing", day, {"customers": ["CUST_NO,CUST_NAME,EMAIL_ADDR,COUNTRY",
                                                          "C1,Acme,ap@acme.example,MY"]})
    monkeypatch.setenv("BIGLEDGER_API_KEY", "wrong-key-5150")
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    with dg.DagsterInstance.ephemeral() as instance:
        failed = pipeline.defs.resolve_job_def("migration_job").execute_in_process(
            partition_key=day, instance=instance, run_config=QUIET_LOGS, raise_on_error=False,
            asset_selection=[dg.AssetKey(f"customers_{stage}") for stage in ("staged", "validated", "loaded")])
        assert not failed.success

        def report() -> None:
            run_failure_alert(dg.build_run_status_sensor_context(
                sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=failed.dagster_run,
                dagster_event=failed.get_run_failure_event()).for_run_failure())

        report()  # no webhook: the sensor's log only
        monkeypatch.setenv(WEBHOOK_VARIABLE, webhook.url)
        report()
        webhook.status = 500
        with pytest.raises(RuntimeError, match=f"\\${WEBHOOK_VARIABLE}\\) answered HTTP 500") as refused:
            report()
        webhook.server.shutdown()
        webhook.server.server_close()  # nothing listens there now: requests' own error would quote the path
        with pytest.raises(RuntimeError, match="could not be reached: ConnectionError") as unreachable:
            report()

    (path, posted), _ = webhook.posts  # the first report posted nothing; the third was posted, and refused
    assert path == TOKEN_PATH
    assert posted["job"] == "migration_job" and posted["day"] == day and posted["run_id"] == failed.run_id
    assert [step["step"] for step in posted["failed_steps"]] == ["customers_load"]  # type: ignore[index]
    text = str(posted["text"])
    assert text.startswith(f"migration_job for {day} failed (run {failed.run_id}).")
    assert "- customers_load: " in text and "HTTP 401" in text and "BIGLEDGER_API_KEY" in text
    assert "wrong-key-5150" not in json.dumps(posted)
    logged = capfd.readouterr().err  # the sensor's log: the message, each time
    said = logged + str(refused.value) + str(unreachable.value)
    assert logged.count(f"migration_job for {day} failed (run") == 4
    assert "T0KEN" not in said and "wrong-key-5150" not in said

"""``batch-orchestration sandbox serve`` as a real subprocess: it answers, and keeps data across a restart."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ITEMS = {"type": "Items", "data": [{"id": "I-1", "name": "Widget"}]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command() -> list[str]:
    script = Path(sys.executable).parent / "batch-orchestration"
    return [str(script)] if script.exists() else [sys.executable, "-m", "batch_orchestration.cli"]


@contextmanager
def serve(db: Path, *extra: str) -> Iterator[str]:
    port = _free_port()
    args = [*_command(), "sandbox", "serve", "--port", str(port), "--db", str(db),
            "--company", "a=k1", "--company", "b=k2", *extra]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                if requests.get(f"{url}/_sandbox/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_answers_injects_faults_and_keeps_data_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite"
    with serve(db, "--faults", "429=1", "--fault-seed", "3") as url:
        assert requests.post(f"{url}/v1/import", json=ITEMS, headers={"Authorization": "Bearer k2"},
                             timeout=10).status_code == 429
        assert requests.put(f"{url}/_sandbox/faults", json={"spec": ""}, headers={"Authorization": "Bearer k1"},
                            timeout=10).ok
        accepted = requests.post(f"{url}/v1/import", json=ITEMS, headers={"Authorization": "Bearer k2"}, timeout=10)
        assert accepted.json()["result"] == {"accepted": 1, "rejected": []}

    with serve(db) as url:
        counts = requests.get(f"{url}/_sandbox/companies/b/counts", headers={"Authorization": "Bearer k2"},
                              timeout=10)
        assert counts.json()["counts"] == {"import_items": 1}
        assert requests.get(f"{url}/_sandbox/companies/a/counts", headers={"Authorization": "Bearer k1"},
                            timeout=10).json()["counts"] == {}

"""Running the sandbox: blocking (the CLI) or on an ephemeral port in a thread (tests, the demo)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from batch_orchestration.sandbox.app import create_app
from batch_orchestration.sandbox.config import SandboxConfig


@dataclass
class RunningSandbox:
    url: str
    config: SandboxConfig
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def _uvicorn_server(config: SandboxConfig, log_level: str) -> uvicorn.Server:
    app = create_app(config)
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on"))


def serve(config: SandboxConfig, host: str, port: int, log_level: str = "info") -> None:
    server = _uvicorn_server(config, log_level)
    server.config.host, server.config.port = host, port
    server.run()


def start_in_thread(config: SandboxConfig, host: str = "127.0.0.1", port: int = 0,
                    log_level: str = "warning") -> RunningSandbox:
    """Start the sandbox on ``host:port`` (0 = any free port) and wait until it answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = _uvicorn_server(config, log_level)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="sandbox")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.01)
    return RunningSandbox(url=f"http://{host}:{bound_port}", config=config, _server=server, _thread=thread)

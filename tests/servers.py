"""Real server processes for tests that need sockets: `python -m api serve` on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from api.settings import PROJECT_ROOT
from api.ws_protocol import LeanWebSocketsProtocol

STARTUP_TIMEOUT_S = 60.0
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
SETTINGS_VARIABLES = (
    "DATABASE_URL",
    "HOST",
    "PORT",
    "WORKERS",
    "SEED_DEMO",
    "VOISINAGE_DATA_DIR",
    "PASSWORD_HASHING",
)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.http_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server was not healthy within {STARTUP_TIMEOUT_S:.0f} s:\n{server.output()}")


@contextlib.contextmanager
def running_server(database_url: str, log: Path, **settings: str) -> Iterator[Server]:
    """A server process on `database_url`, killed on exit whatever happens."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(DATABASE_URL=database_url, HOST="127.0.0.1", PASSWORD_HASHING="fast", **settings)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--no-seed"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, port=port, log=log)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def receive_json(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """The next protocol message that is not a keep-alive ping/pong."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] not in {"ping", "pong"}:
            return message


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any, **config: Any) -> AsyncIterator[uvicorn.Server]:
    """`app` under a real uvicorn server in this process, on a free port (`server.config.port`),
    with the server's own WebSocket protocol; stopped on exit."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": free_port(),
        "ws": LeanWebSocketsProtocol,
        "log_config": None,
        "access_log": False,
    }
    server = uvicorn.Server(uvicorn.Config(app, **(settings | config)))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)

"""The real thing: `python -m api serve` in its own process, spoken to over real sockets.

One server serves the whole module (start-up costs a couple of seconds); the last test stops it
with SIGINT, as Ctrl-C would, and the fixture kills it whatever happens.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from api.settings import PROJECT_ROOT
from db.migrate import head_revision

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 10.0
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
SETTINGS_VARIABLES = ("DATABASE_URL", "HOST", "PORT", "WORKERS", "SEED_DEMO", "VOISINAGE_DATA_DIR")


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


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(DATABASE_URL=database_url, HOST="127.0.0.1")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--no-seed"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Server(process=process, port=port, log=log)
    try:
        wait_until_healthy(running)
        yield running
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


def test_post_graphql_over_a_real_socket(server: Server) -> None:
    response = httpx.post(
        f"{server.http_url}/graphql", json={"query": "{ __typename }"}, timeout=10
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_ready_when_the_database_is_migrated(server: Server) -> None:
    response = httpx.get(f"{server.http_url}/readyz", timeout=10)

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": head_revision()}


async def test_websocket_runs_a_single_result_operation(server: Server) -> None:
    async with connect(server.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await receive_json(ws))["type"] == "connection_ack"

        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        )

        assert await receive_json(ws) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert await receive_json(ws) == {"id": "1", "type": "complete"}


async def test_websocket_without_connection_init_is_closed_with_4408(server: Server) -> None:
    started = time.monotonic()
    async with connect(server.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=15)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4408
    assert 9 <= time.monotonic() - started <= 12


def test_sigint_stops_the_server_cleanly(server: Server) -> None:
    """Last in the module: Ctrl-C drains and exits 0 (the embedded path also stops PostgreSQL)."""
    server.process.send_signal(signal.SIGINT)

    returncode = server.process.wait(timeout=SHUTDOWN_TIMEOUT_S)

    assert returncode == 0, server.output()
    assert "Traceback" not in server.output()

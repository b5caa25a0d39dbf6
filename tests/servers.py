"""Real server processes for tests that need sockets: `python -m api serve` on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
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

from api.fastpaths import websocket_protocol
from api.settings import PROJECT_ROOT, Settings

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
GROUP_EXIT_TIMEOUT_S = 10.0

server_groups: set[int] = set()
"""Process groups of every server started in this run, for the end-of-run leftover check
(tests/leftovers.py): a worker whose parent died is no longer a descendant of pytest."""


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
    """A server process on `database_url`, killed on exit whatever happens, with its workers.

    It leads a process group of its own: with WORKERS=2 uvicorn's worker processes outlive
    a parent killed alone, so the whole group is killed. `settings` may override any default
    here (PASSWORD_HASHING=standard, for one)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update({"DATABASE_URL": database_url, "HOST": "127.0.0.1", "PASSWORD_HASHING": "fast"})
    env["MAIL_OUTBOX"] = str(log.parent / "outbox")  # its e-mails beside its log, not in .data
    env.update(settings)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--no-seed"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server_groups.add(process.pid)
    server = Server(process=process, port=port, log=log)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        kill_group(process.pid)
        process.wait(timeout=GROUP_EXIT_TIMEOUT_S)


def kill_group(pgid: int) -> None:
    """SIGKILL every process of the group and return once none is left (its ports are free).

    Orphaned workers are reparented and reaped by init; a zombie holds no port, so it counts as
    gone."""
    deadline = time.monotonic() + GROUP_EXIT_TIMEOUT_S
    while True:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        if not group_members(pgid):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {group_members(pgid)} of group {pgid} survived SIGKILL")
        time.sleep(0.05)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of the process group `pgid`: a server and its workers."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


async def receive_json(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """The next protocol message that is not a keep-alive ping/pong."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] not in {"ping", "pong"}:
            return message


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any, **config: Any) -> AsyncIterator[uvicorn.Server]:
    """`app` under a real uvicorn server in this process, on a free port (`server.config.port`),
    with the server's own WebSocket protocol (`api.fastpaths.websocket_protocol` of the app's
    settings); stopped on exit."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": free_port(),
        "ws": websocket_protocol(
            getattr(getattr(app, "state", None), "settings", None) or Settings()
        ),
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

"""The real thing: `python -m api serve` in its own process, spoken to over real sockets.

One server serves the whole module (start-up costs a couple of seconds); the last test stops it
with SIGINT, as Ctrl-C would, and the fixture kills it whatever happens.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from db.migrate import head_revision
from tests.servers import GRAPHQL_TRANSPORT_WS, Server, receive_json, running_server

SHUTDOWN_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with running_server(database_url, log) as running:
        yield running


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

"""When the database is away, a signed-in request gets a JSON 503 it can retry, never a bare 500."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.live_transport import BUSY_REASON
from api.settings import Settings
from tests.servers import GRAPHQL_TRANSPORT_WS, free_port, uvicorn_serving


async def test_authenticating_without_a_database_is_a_json_503() -> None:
    app = create_app(
        Settings(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ me { email } }"},
                headers={"authorization": "Bearer some-token"},
            )
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "retry" in body["errors"][0]["message"]


async def test_a_websocket_that_cannot_authenticate_is_told_to_try_again_later() -> None:
    """The token is checked at `connection_init`; with the database away the socket closes
    with 1013 (Try Again Later), which clients retry, and the server keeps serving."""
    app = create_app(
        Settings(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    )
    async with uvicorn_serving(app) as server:
        port = server.config.port
        async with connect(
            f"ws://127.0.0.1:{port}/graphql", subprotocols=[GRAPHQL_TRANSPORT_WS]
        ) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer x"}})
            )
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 15)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1013, BUSY_REASON)
    assert health.status_code == 200

"""Idle subscribers get WebSocket ping frames from a real server process (WS_PING_INTERVAL_SECONDS).

graphql-transport-ws has no server-side ping of its own; the WebSocket layer's ping frames are
what keeps an idle subscription open through proxies. A client library answers them silently,
so this test speaks the protocol itself (websockets' sans-I/O client over a raw TCP stream) to
see the frames arrive.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from tests.servers import GRAPHQL_TRANSPORT_WS, running_server


async def ping_times(port: int, *, seconds: float) -> tuple[int | None, list[float]]:
    """The handshake's status and when (seconds after `connection_ack`) ping frames came."""
    protocol = ClientProtocol(
        parse_uri(f"ws://127.0.0.1:{port}/graphql"),
        subprotocols=[Subprotocol(GRAPHQL_TRANSPORT_WS)],
    )
    protocol.send_request(protocol.connect())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    status: int | None = None
    acked_at: float | None = None
    pings: list[float] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for data in protocol.data_to_send():
                writer.write(data)
            await writer.drain()
            try:
                chunk = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
            except TimeoutError:
                break
            if not chunk:
                break
            protocol.receive_data(chunk)
            for event in protocol.events_received():
                if isinstance(event, Response):
                    status = event.status_code
                    protocol.send_text(json.dumps({"type": "connection_init"}).encode())
                elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    if json.loads(bytes(event.data))["type"] == "connection_ack":
                        acked_at = time.monotonic()
                elif isinstance(event, Frame) and event.opcode is Opcode.PING:
                    assert acked_at is not None, "ping before the connection was acknowledged"
                    pings.append(time.monotonic() - acked_at)
    finally:
        writer.close()
    return status, pings


async def test_idle_subscribers_get_websocket_pings_at_the_configured_interval(
    database_url: str, tmp_path: Path
) -> None:
    with running_server(
        database_url, tmp_path / "ping.log", WS_PING_INTERVAL_SECONDS="1"
    ) as server:
        status, pings = await ping_times(server.port, seconds=3.6)
    assert status == 101
    assert len(pings) >= 2  # about one a second, and none before the interval
    assert pings[0] > 0.3

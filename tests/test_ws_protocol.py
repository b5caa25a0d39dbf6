"""The trimmed WebSocket protocol (api.fastpaths.ws_protocol): same conversation, less held per socket."""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import connect

from api.fastpaths.inbox import Inbox
from api.fastpaths.ws_protocol import Gate, LeanWebSocketsProtocol
from tests.servers import uvicorn_serving


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts, then sends back each text message upper-cased until the client leaves."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message["text"].upper()})


async def test_a_conversation_over_the_lean_protocol_keeps_no_handshake() -> None:
    async with (
        uvicorn_serving(echo, lifespan="off") as server,
        connect(f"ws://127.0.0.1:{server.config.port}/") as ws,
    ):
        replies = []
        for text in ("bonjour", "les", "voisins"):
            await ws.send(text)
            replies.append(await ws.recv())
        (protocol,) = server.server_state.connections
        assert isinstance(protocol, LeanWebSocketsProtocol)
        held = sorted({"request", "response"} & set(vars(protocol)))
        kinds = (type(protocol.queue).__name__, type(protocol.writable).__name__)
    assert replies == ["BONJOUR", "LES", "VOISINS"]
    assert held == []
    assert kinds == ("Inbox", "Gate")


async def test_the_inbox_hands_items_over_in_order_to_a_waiting_consumer() -> None:
    inbox: Inbox[dict[str, str]] = Inbox()
    consumer = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert inbox.waiter is not None
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": "2"})
    first = await consumer
    assert first == {"type": "websocket.connect"}
    assert (inbox.qsize(), inbox.empty(), inbox.waiter is None) == (1, False, True)
    assert await inbox.get() == {"type": "websocket.receive", "text": "2"}
    assert inbox.empty()


async def test_the_gate_holds_every_sender_until_it_opens() -> None:
    gate = Gate()
    gate.set()
    await asyncio.wait_for(gate.wait(), 1)  # open: no wait
    gate.clear()
    senders = [asyncio.create_task(gate.wait()) for _ in range(3)]
    await asyncio.sleep(0.01)
    waiting = [not sender.done() for sender in senders]
    gate.set()
    await asyncio.wait_for(asyncio.gather(*senders), 1)
    assert waiting == [True, True, True]
    assert (gate.is_set(), gate.waiters) == (True, None)

"""uvicorn's sans-I/O WebSocket protocol, trimmed of what an idle connection need not hold.

Replaces: uvicorn's own `WebSocketsSansIOProtocol` (`ws="websockets-sansio"`, what runs with
FAST_PATHS=off; `websocket_protocol(settings)` gives either).
Figure (commit c769c93; bench/README.md, "subscriptions"): 56.4 -> 49.0 KiB per idle live
subscription, under the issue's budget of 50 KiB.
Tested with: uvicorn 0.55.0 (`api.fastpaths.TESTED_WITH`): it subclasses a protocol class and
replaces two of its private attributes (`queue`, `writable`), and deletes two (`request`,
`response`).

A live-post subscriber keeps its connection for hours while doing nothing, so what each idle
connection holds is what a server's memory is made of (the issue's budget: 50 KiB per idle
subscription, everything included). uvicorn's `WebSocketsSansIOProtocol`, measured with
tracemalloc, holds two things it does not need to:
- the opening handshake (the websockets `Request` and `Response` with their header objects),
  which it never reads again once the handshake is complete: ~5 KiB per connection, dropped;
- an `asyncio.Queue` for incoming messages and an `asyncio.Event` for write flow control: five
  deques (~3 KiB) for a queue that is empty and an event that is set nearly all the time,
  replaced by `api.inbox.Inbox` and `Gate`, which allocate only while somebody waits.
Measured on the subscriptions benchmark: 56.4 KiB per idle subscription before, see
bench/README.md for after.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from api.fastpaths.inbox import Inbox


class Gate:
    """The part of `asyncio.Event` the protocol uses (set, clear, is_set, wait), for any number
    of waiting senders; the list of their futures exists only while the transport is paused."""

    __slots__ = ("is_open", "waiters")

    def __init__(self) -> None:
        self.is_open = False
        self.waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self.is_open

    def set(self) -> None:
        self.is_open = True
        waiters, self.waiters = self.waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.is_open = False

    async def wait(self) -> None:
        while not self.is_open:
            waiter = asyncio.get_running_loop().create_future()
            if self.waiters is None:
                self.waiters = []
            self.waiters.append(waiter)
            await waiter


class LeanWebSocketsProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue: Inbox[ASGIReceiveEvent] = Inbox()  # type: ignore[assignment]
        gate = Gate()
        gate.set()
        self.writable = gate  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete and "request" in self.__dict__:
            # Only the handshake (`handle_connect`, then the first `send`) reads these two.
            del self.request
            del self.response

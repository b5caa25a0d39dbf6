"""The subscriber side of the live-posts benchmark: many WebSockets in a process of their own.

Why a separate process: 1,000 sockets receiving 10,000 messages a second keep an event loop
busy; sharing one with the publisher would delay the stamps of the mutation responses and of
the raw LISTEN baseline. `time.monotonic()` is CLOCK_MONOTONIC, one clock for every process of
the machine, so stamps taken here and in the publisher's process subtract directly.

A message is stamped when its frame is parsed off the socket (`process_event`, called from
`data_received`), not when a coroutine gets round to `recv()`: this process's own backlog is not
counted as server latency.

The parent drives the worker with (command, argument) tuples over a pipe; see `serve`.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, cast

import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event
from websockets.typing import Subprotocol

GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
SUBSCRIBE = """subscription ($nid: ID) {
  postCreated(neighbourhoodId: $nid) {
    id cursor kind title excerpt authorName neighbourhood { id name } createdAt distanceMeters
  } }"""
OPEN_CONCURRENCY = 50
"""Handshakes in flight at once: each costs the server a token lookup and a clock read."""

Delivery = tuple[int, float]
"""(post id, monotonic arrival time in seconds)."""


class StampedConnection(ClientConnection):
    """A client connection that notes the arrival time of every data frame, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: collections.deque[float] = collections.deque()

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
            self.arrivals.append(time.monotonic())
        super().process_event(event)


@dataclass
class Subscription:
    nid: str
    deliveries: list[Delivery] = field(default_factory=list)
    close_code: int | None = None
    errors: list[str] = field(default_factory=list)
    ws: StampedConnection | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class Tally:
    """Deliveries counted across every subscription, with waiters on a target count."""

    count: int = 0
    target: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self) -> None:
        self.count += 1
        if self.target and self.count >= self.target:
            self.reached.set()

    async def wait_for(self, target: int, timeout_s: float) -> int:
        self.target = target
        self.reached.clear()
        if self.count < target:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.reached.wait(), timeout_s)
        self.target = 0
        return self.count


def post_number(global_id: str) -> int:
    """The database id inside a Relay global ID ("Post:123", base64)."""
    padded = global_id + "=" * (-len(global_id) % 4)
    return int(base64.b64decode(padded).decode().partition(":")[2])


async def open_subscription(
    url: str, token: str, subscription: Subscription, *, compression: bool
) -> StampedConnection:
    ws = cast(
        StampedConnection,
        await connect(
            url,
            subprotocols=[GRAPHQL_TRANSPORT_WS],
            create_connection=StampedConnection,
            compression="deflate" if compression else None,
            ping_interval=None,
            max_queue=None,
            open_timeout=60,
        ),
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        ws.arrivals.popleft()
        if message["type"] == "connection_ack":
            break
        if message["type"] == "ping":
            await ws.send('{"type": "pong"}')
    request = {"query": SUBSCRIBE, "variables": {"nid": subscription.nid}}
    await ws.send(json.dumps({"id": "live", "type": "subscribe", "payload": request}))
    return ws


async def follow(subscription: Subscription, ws: StampedConnection, tally: Tally) -> None:
    """Record (post id, arrival) for every post until the socket closes."""
    try:
        async for raw in ws:
            arrived = ws.arrivals.popleft()
            message = json.loads(raw)
            kind = message["type"]
            if kind == "next" and not message["payload"].get("errors"):
                post_id = post_number(message["payload"]["data"]["postCreated"]["id"])
                subscription.deliveries.append((post_id, arrived))
                tally.add()
            elif kind == "ping":
                await ws.send('{"type": "pong"}')
            elif kind != "pong":
                subscription.errors.append(json.dumps(message)[:300])
    except ConnectionClosed as closed:
        subscription.close_code = closed.rcvd.code if closed.rcvd else 1006


class Worker:
    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []
        self.tally = Tally()

    async def open(
        self,
        url: str,
        members: list[tuple[str, str]],
        compression: bool,
        concurrency: int = OPEN_CONCURRENCY,
    ) -> list[str]:
        """One subscription per (token, neighbourhood global id); the first errors, if any."""
        gate = asyncio.Semaphore(concurrency)
        failures: list[str] = []

        async def start(token: str, subscription: Subscription) -> None:
            async with gate:
                try:
                    ws = await open_subscription(url, token, subscription, compression=compression)
                except Exception as error:
                    failures.append(f"{type(error).__name__}: {error}")
                    return
            subscription.ws = ws
            subscription.task = asyncio.create_task(follow(subscription, ws, self.tally))

        self.subscriptions = [Subscription(nid=nid) for _, nid in members]
        await asyncio.gather(
            *(
                start(token, sub)
                for (token, _), sub in zip(members, self.subscriptions, strict=True)
            )
        )
        return failures[:5] + ([f"... {len(failures)} failures"] if len(failures) > 5 else [])

    def reset(self) -> None:
        for subscription in self.subscriptions:
            subscription.deliveries.clear()
        self.tally.count = 0

    def collect(self) -> dict[str, Any]:
        return {
            "deliveries": [sub.deliveries for sub in self.subscriptions],
            "closed": [sub.close_code for sub in self.subscriptions],
            "errors": [error for sub in self.subscriptions for error in sub.errors][:5],
        }

    async def close(self) -> None:
        async def close_one(subscription: Subscription) -> None:
            if subscription.ws is not None:
                with contextlib.suppress(Exception):
                    await subscription.ws.close()
            if subscription.task is not None:
                subscription.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await subscription.task

        await asyncio.gather(*(close_one(sub) for sub in self.subscriptions))
        self.subscriptions = []


async def serve(pipe: Connection) -> None:
    """Answer the parent's commands one at a time until "exit"."""
    worker = Worker()
    while True:
        command, argument = await asyncio.to_thread(pipe.recv)
        if command == "open":
            reply: Any = await worker.open(
                argument["url"],
                argument["members"],
                argument["compression"],
                argument.get("concurrency", OPEN_CONCURRENCY),
            )
        elif command == "await":
            reply = await worker.tally.wait_for(argument["count"], argument["timeout_s"])
        elif command == "reset":
            worker.reset()
            reply = None
        elif command == "collect":
            reply = worker.collect()
        elif command == "close":
            await worker.close()
            reply = None
        elif command == "exit":
            await worker.close()
            pipe.send(None)
            return
        else:
            reply = ValueError(f"unknown command {command!r}")
        pipe.send(reply)


def main(pipe: Connection) -> None:
    """Process entry point (multiprocessing target)."""
    uvloop.run(serve(pipe))

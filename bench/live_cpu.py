"""CPU per delivery of live posts, in process: the figure a shared, noisy machine cannot blur.

The app (`create_app`) runs in this process and N in-memory WebSocket clients talk to it over
ASGI (no sockets, no uvicorn): each opens `postCreated` like the benchmark's subscribers. Events
shaped like the database's NOTIFY payload are handed to the app's broadcaster one at a time, and
`time.process_time()` is read around "until every subscriber has its `next` message". Twice:
with the app's graphql-transport-ws handler (payload rendered once per group, `api.fastpaths.fanout`) and
with Strawberry's stock handler (the selection set executed per subscriber), in the same run.

What it leaves out: uvicorn's framing and the socket writes (the same in both modes, and outside
the code this measures), and the database (events do not touch it once subscribed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from api.app import VoisinageGraphQL, create_app
from api.pubsub import Broadcaster
from api.settings import Settings
from bench.live_fixtures import Member
from bench.live_subscribers import SUBSCRIBE

FIRST_FAKE_POST_ID = 10**12
"""Far above the profile's ids: these events announce posts that do not exist (nobody reads)."""


@dataclass
class Tally:
    """`next` messages received by all clients, with a waiter on a target count."""

    count: int = 0
    target: int = 0
    reached: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def add(self) -> None:
        self.count += 1
        if self.target and self.count >= self.target:
            self.reached.set()

    async def wait_for(self, target: int, timeout_s: float = 60.0) -> None:
        self.target = target
        self.reached.clear()
        if self.count < target:
            await asyncio.wait_for(self.reached.wait(), timeout_s)


class MemoryClient:
    """One ASGI WebSocket connection driven from this process; counts `next` messages."""

    def __init__(self, app: Starlette, tally: Tally, *, keep: bool = False) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.tally = tally
        self.keep = keep
        self.texts: list[str] = []
        """Every text frame received, when `keep` (tests compare them byte for byte)."""
        self.closed: int | None = None
        self.acked = asyncio.Event()
        self.task = asyncio.create_task(app(self.scope(), self.receive, self.send))

    @staticmethod
    def scope() -> dict[str, Any]:
        return {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "scheme": "ws",
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1:8000")],
            "subprotocols": ["graphql-transport-ws"],
            "state": {},
        }

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        text = message.get("text")
        if message["type"] == "websocket.close":
            self.closed = int(message.get("code", 1000))
        if message["type"] == "websocket.send" and isinstance(text, str):
            if self.keep:
                self.texts.append(text)
            if '"next"' in text:
                self.tally.add()
            elif '"connection_ack"' in text:
                self.acked.set()

    def say(self, message: dict[str, Any]) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "text": json.dumps(message)})

    async def open(
        self,
        token: str,
        nid: str | None,
        *,
        query: str = SUBSCRIBE,
        variables: dict[str, Any] | None = None,
        operation_id: str = "live",
    ) -> None:
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.say({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        await asyncio.wait_for(self.acked.wait(), 30)
        payload = {"query": query, "variables": variables or {"nid": nid}}
        self.say({"id": operation_id, "type": "subscribe", "payload": payload})

    async def close(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        try:
            await asyncio.wait_for(self.task, 10)
        except (TimeoutError, Exception):
            self.task.cancel()


def fake_event(post_id: int, neighbourhood_id: int) -> dict[str, Any]:
    """A `post_created` payload as `db.queries.live` builds it (public point in Paris)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "type": "post_created",
        "id": post_id,
        "neighbourhood_id": neighbourhood_id,
        "neighbourhood_name": "Paris",
        "household_id": 1,
        "author_name": "Foyer Martin",
        "kind": "DISCUSSION",
        "title": f"Échelle de 3 m à prêter ({post_id})",
        "excerpt": "Quelqu'un aurait une échelle de 3 m à prêter samedi matin ?",
        "created_at": now,
        "expires_at": None,
        "lng": 2.3522,
        "lat": 48.8566,
    }


@dataclass(frozen=True)
class CpuFigures:
    mode: str
    deliveries: int
    cpu_s: float
    wall_s: float

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_s / self.deliveries * 1e6

    @property
    def wall_us_per_delivery(self) -> float:
        return self.wall_s / self.deliveries * 1e6


def graphql_view(app: Starlette) -> VoisinageGraphQL:
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, VoisinageGraphQL):
            return endpoint
    raise RuntimeError("no GraphQL view in the app")


async def measure_mode(
    url: str, settings: Settings, members: list[Member], events: int, *, shared: bool
) -> CpuFigures:
    app = create_app(dataclasses.replace(settings, database_url=url))
    if not shared:
        stock: Callable[..., Any] = BaseGraphQLTransportWSHandler
        graphql_view(app).graphql_transport_ws_handler_class = stock  # type: ignore[assignment]
    broadcaster: Broadcaster = app.state.broadcaster
    tally = Tally()
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(broadcaster.listening.wait(), 30)
        clients = [MemoryClient(app, tally) for _ in members]
        for start in range(0, len(members), 50):
            batch = list(zip(clients, members, strict=True))[start : start + 50]
            await asyncio.gather(*(c.open(m.token, m.neighbourhood_gid) for c, m in batch))
        for _ in range(600):  # the subscriptions register asynchronously
            if len(broadcaster.subscribers) >= len(members):
                break
            await asyncio.sleep(0.05)
        nid = members[0].neighbourhood_id
        # One event outside the measure: first-use costs (imports, caches) are not per delivery.
        broadcaster.dispatch(fake_event(FIRST_FAKE_POST_ID, nid))
        await tally.wait_for(len(members))
        cpu, wall = time.process_time(), time.perf_counter()
        for number in range(1, events + 1):
            broadcaster.dispatch(fake_event(FIRST_FAKE_POST_ID + number, nid))
            await tally.wait_for(len(members) * (number + 1))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await asyncio.gather(*(client.close() for client in clients))
    return CpuFigures(
        "shared (api.fastpaths.fanout)" if shared else "per subscriber (stock)",
        events * len(members),
        cpu,
        wall,
    )


async def measure(
    url: str, settings: Settings, members: list[Member], events: int = 30
) -> list[CpuFigures]:
    """Both modes, one neighbourhood (the members must all follow the same one)."""
    quiet = dataclasses.replace(
        settings,
        rate_limit_per_minute=0,
        ws_max_connections_per_viewer=max(len(members), 5),
        subscription_queue_size=events + 256,
        log_level="WARNING",
    )
    return [
        await measure_mode(url, quiet, members, events, shared=True),
        await measure_mode(url, quiet, members, events, shared=False),
    ]

"""In-process fan-out of database events to live subscribers.

Each server process holds ONE listening connection (`LISTEN voisinage_events`) and dispatches every
event to its own subscribers, with their filters applied here, in process. Events come from
`db.queries.events.notify`, i.e. after the writing transaction commits, from any process or
machine on the same database: no broker besides PostgreSQL.

When the listening connection breaks (database restart, network), the listener reconnects with
backoff by itself, and tells every subscriber to *resync*: a subscriber re-reads what it may have
missed from its last cursor, so nothing is lost across the outage.

Each subscriber has a bounded queue: a consumer too slow to keep up is flagged `overflowed` and cut
off by its subscription (a clear close code), instead of letting memory grow without bound.

`access_changed` events (a token revoked, a membership lost...: `api.live_access`) are not
dispatched to subscribers: they mark the connections they concern for a check before anything
more is delivered to them.

Every subscriber an event reaches gets the SAME `Delivery`, whose `frames` cache lets the first
subscriber of a group render the event once for all the others (see `api.fastpaths.fanout`): with 1,000
subscribers on one neighbourhood, the selection set runs once per event, not 1,000 times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg

from api.fastpaths.inbox import Inbox
from db.queries.events import CHANNEL

log = logging.getLogger("voisinage.pubsub")

Event = dict[str, Any]


@dataclass(eq=False, slots=True)
class Delivery:
    """One event as handed to every subscriber it concerns, with a cache shared by all of them.

    `frames` maps a render key (selection, variables that shape it, root value) to the encoded
    payload, or to None when the event could not be shared; it lives as long as the last
    subscriber still holding the delivery, so no eviction is needed.
    """

    event: Event
    frames: dict[Hashable, str | None] = field(default_factory=dict)


class AccessWatch(Protocol):
    """Who learns that rights changed (`api.live_access.AccessRegistry`)."""

    def invalidate(self, event: Event) -> None:
        """An `access_changed` event: check the connections it concerns before any later event."""

    def invalidate_all(self) -> None:
        """Events may have been missed (the listener was away): check every connection."""


ACCESS_CHANGED = "access_changed"
"""Sent by database triggers (migration 0015) when a credential or a right changes."""

RESYNC = Delivery({"type": "__resync__"})
"""Read again from your cursor: the listener reconnected, or your queue overflowed."""


class Subscriber(Inbox[Delivery]):
    """One live subscription's inbox (`api.fastpaths.inbox.Inbox`, in both FAST_PATHS modes),
    bounded: past `capacity` undelivered events the subscriber is flagged `overflowed` and gets
    RESYNC instead of more events.
    `async with` registers it with its broadcaster (before any catch-up is read) and removes it.
    """

    __slots__ = ("accepts", "broadcaster", "capacity", "overflowed")

    def __init__(
        self, accepts: Callable[[Event], bool], broadcaster: Broadcaster, capacity: int = 256
    ) -> None:
        super().__init__()
        self.accepts = accepts
        self.broadcaster = broadcaster
        self.capacity = capacity
        self.overflowed = False

    async def __aenter__(self) -> Subscriber:
        self.broadcaster.subscribers.add(self)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.broadcaster.subscribers.discard(self)

    def offer(self, delivery: Delivery) -> None:
        if self.overflowed:
            return
        if len(self.items) >= self.capacity:
            self.overflowed = True
            # Make room for RESYNC so the consumer notices and closes, rather than waiting.
            self.items.pop(0)
            delivery = RESYNC
        self.put_nowait(delivery)


class Broadcaster:
    """The process-wide listener; started and stopped by the app's lifespan."""

    def __init__(self, dsn: str, *, queue_size: int = 256, max_backoff_s: float = 5.0) -> None:
        self.dsn = dsn
        self.queue_size = queue_size
        self.max_backoff_s = max_backoff_s
        self.subscribers: set[Subscriber] = set()
        self.listening = asyncio.Event()
        self.reconnects = 0
        self.access: AccessWatch | None = None
        """Set by the first authenticated WebSocket (`api.live_access.registry_of`)."""
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="voisinage-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def subscribe(self, accepts: Callable[[Event], bool]) -> Subscriber:
        """`async with` it: registered before reading any catch-up, so nothing committed
        meanwhile is missed; removed on exit."""
        return Subscriber(accepts, self, self.queue_size)

    def dispatch(self, event: Event) -> None:
        delivery = Delivery(event)
        for subscriber in list(self.subscribers):
            try:
                wanted = subscriber.accepts(event)
            except Exception:  # a broken filter must not stop the others
                log.exception("subscriber filter failed")
                continue
            if wanted:
                subscriber.offer(delivery)

    def resync_all(self) -> None:
        for subscriber in list(self.subscribers):
            subscriber.offer(RESYNC)

    async def _listen_forever(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=5
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if not first:
                        self.reconnects += 1
                        log.info("listener reconnected; subscribers resync from their cursors")
                        self.resync_all()
                        if self.access is not None:
                            self.access.invalidate_all()
                    first = False
                    backoff = 0.1
                    async for notification in conn.notifies():
                        self._handle(notification.payload)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as error:
                self.listening.clear()
                log.warning("listener lost the database (%s); retrying", type(error).__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    def _handle(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            log.warning("ignored a malformed event payload")
            return
        if not isinstance(event, dict):
            return
        if event.get("type") == ACCESS_CHANGED:
            # Synchronously, before any later event is dispatched: the channel keeps commit
            # order, so a post written after a revocation finds the connection already stale.
            if self.access is not None:
                self.access.invalidate(event)
            return
        self.dispatch(event)

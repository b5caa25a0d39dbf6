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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from db.queries.events import CHANNEL

log = logging.getLogger("voisinage.pubsub")

Event = dict[str, Any]
RESYNC: Event = {"type": "__resync__"}


@dataclass(eq=False)
class Subscriber:
    """One live subscription's inbox."""

    accepts: Callable[[Event], bool]
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    overflowed: bool = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            # Wake the consumer so it notices and closes, rather than waiting forever.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


class Broadcaster:
    """The process-wide listener; started and stopped by the app's lifespan."""

    def __init__(self, dsn: str, *, queue_size: int = 256, max_backoff_s: float = 5.0) -> None:
        self.dsn = dsn
        self.queue_size = queue_size
        self.max_backoff_s = max_backoff_s
        self.subscribers: set[Subscriber] = set()
        self.listening = asyncio.Event()
        self.reconnects = 0
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

    @contextlib.asynccontextmanager
    async def subscribe(self, accepts: Callable[[Event], bool]) -> AsyncIterator[Subscriber]:
        """Register before reading any catch-up, so nothing committed meanwhile is missed."""
        subscriber = Subscriber(accepts=accepts, queue=asyncio.Queue(maxsize=self.queue_size))
        self.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self.subscribers.discard(subscriber)

    def dispatch(self, event: Event) -> None:
        for subscriber in list(self.subscribers):
            try:
                wanted = subscriber.accepts(event)
            except Exception:  # a broken filter must not stop the others
                log.exception("subscriber filter failed")
                continue
            if wanted:
                subscriber.offer(event)

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
        if isinstance(event, dict):
            self.dispatch(event)

"""A FIFO with one waiting consumer that allocates nothing while nobody waits.

Replaces: `asyncio.Queue`, in uvicorn's WebSocket protocol (`ws_protocol`, switched by
FAST_PATHS) and as each live subscription's inbox (`api.pubsub.Subscriber`, in both modes: it
reaches inside no library, and the subscriber's bounded, overflow-to-RESYNC logic is built on it).
Figure (commit c769c93): part of 56.4 -> 49.0 KiB per idle live subscription.
Tested with: Python 3.11's asyncio (no third-party library).

Why not `asyncio.Queue`: it is four deques (~3 KiB) per instance, and the server holds one per
live subscription and one per WebSocket connection for hours, nearly always empty. This is a
list and, only while the consumer waits, one future (~0.2 KiB).
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """Unbounded; one consumer at a time awaits `get` (the protocol's or subscription's task)."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[T] = []
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: T) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self) -> bool:
        return not self.items

    def qsize(self) -> int:
        return len(self.items)

    async def get(self) -> T:
        """The oldest item, waiting for one if there is none."""
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)

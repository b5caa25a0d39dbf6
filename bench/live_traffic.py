"""The publishing side of the live-posts benchmark, and the raw LISTEN baseline.

Posts are created through the real `createPost` mutation on a fixed schedule (one every
`interval_s`, each in its own task, so a slow response never delays the next post). The raw
baseline is a plain psycopg connection LISTENing on the same channel as the server: it receives
the very NOTIFY the server's broadcaster receives, with nothing between PostgreSQL and Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import psycopg

from api.runtime import libpq_url
from bench.live_fixtures import Member
from bench.live_subscribers import post_number
from db.queries.events import CHANNEL

CREATE_POST = """mutation ($title: String!, $body: String!) {
  createPost(input: {kind: DISCUSSION, title: $title, body: $body}) {
    __typename ... on CreatePostSuccess { post { id } } } }"""
BODY = "Quelqu'un aurait une échelle de 3 m à prêter samedi matin ? Je la rends le soir même."


@dataclass(frozen=True, slots=True)
class Published:
    """One `createPost`, with monotonic times (s) of the request and of its response."""

    neighbourhood_id: int
    sent: float
    responded: float
    post_id: int | None
    error: str | None = None


@dataclass
class RawListener:
    """Arrival time (monotonic, s) of each post's NOTIFY on a plain LISTEN connection."""

    arrivals: dict[int, float] = field(default_factory=dict)

    def reset(self) -> None:
        self.arrivals.clear()


@contextlib.asynccontextmanager
async def raw_listener(url: str) -> AsyncIterator[RawListener]:
    listener = RawListener()
    conn = await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True)

    async def receive() -> None:
        async for notification in conn.notifies():
            arrived = time.monotonic()
            event = json.loads(notification.payload)
            if event.get("type") == "post_created":
                listener.arrivals[int(event["id"])] = arrived

    try:
        await conn.execute(f"LISTEN {CHANNEL}")
        task = asyncio.create_task(receive())
        try:
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                await task
    finally:
        await conn.close()


async def create_post(client: httpx.AsyncClient, url: str, author: Member, title: str) -> Published:
    sent = time.monotonic()
    try:
        response = await client.post(
            url,
            json={"query": CREATE_POST, "variables": {"title": title, "body": BODY}},
            headers={"authorization": f"Bearer {author.token}"},
        )
        responded = time.monotonic()
        body = response.json()
        result = (body.get("data") or {}).get("createPost") or {}
        if result.get("__typename") != "CreatePostSuccess":
            raise RuntimeError(json.dumps(body)[:300])
        post_id: int | None = post_number(result["post"]["id"])
        error = None
    except (httpx.HTTPError, RuntimeError, ValueError) as failure:
        responded, post_id, error = time.monotonic(), None, f"{type(failure).__name__}: {failure}"
    return Published(author.neighbourhood_id, sent, responded, post_id, error)


async def publish(
    url: str, authors: list[Member], *, count: int, interval_s: float
) -> list[Published]:
    """`count` posts, one every `interval_s`, by `authors` in turn (round-robin)."""
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.monotonic() + 0.05
        tasks: list[asyncio.Task[Published]] = []
        for number in range(count):
            delay = start + number * interval_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            author = authors[number % len(authors)]
            tasks.append(asyncio.create_task(create_post(client, url, author, f"Post {number}")))
        return list(await asyncio.gather(*tasks))

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
    title: str
    sent: float
    responded: float
    post_id: int | None
    error: str | None = None
    """What went wrong: the GraphQL error code, or the client-side exception's name."""


@dataclass
class RawListener:
    """Arrival time (monotonic, s) of each post's NOTIFY on a plain LISTEN connection."""

    arrivals: dict[int, float] = field(default_factory=dict)
    titles: dict[str, int] = field(default_factory=dict)
    """Post id by title, to recognise posts whose createPost answered an error."""

    def reset(self) -> None:
        self.arrivals.clear()
        self.titles.clear()


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
                listener.titles[str(event["title"])] = int(event["id"])

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
    except httpx.HTTPError as failure:
        error = type(failure).__name__
        return Published(author.neighbourhood_id, title, sent, time.monotonic(), None, error)
    responded = time.monotonic()
    try:
        body = response.json()
    except ValueError:
        error = f"HTTP {response.status_code} {response.text[:60]!r}"
        return Published(author.neighbourhood_id, title, sent, responded, None, error)
    result = (body.get("data") or {}).get("createPost") or {}
    if result.get("__typename") == "CreatePostSuccess":
        post_id = post_number(result["post"]["id"])
        return Published(author.neighbourhood_id, title, sent, responded, post_id)
    codes = {str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []}
    error = ",".join(sorted(codes)) or str(result.get("__typename"))
    return Published(author.neighbourhood_id, title, sent, responded, None, error)


async def publish(
    url: str, authors: list[Member], *, count: int, interval_s: float
) -> list[Published]:
    """`count` posts, one every `interval_s`, by `authors` in turn (round-robin)."""
    # No pool limit: a request waits in the server (as those of many clients would), not here.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
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

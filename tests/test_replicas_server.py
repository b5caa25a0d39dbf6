"""Two API nodes, one primary, one hot standby, one Redis: the deployment of docs/scale.md.

Both nodes are real server processes (`python -m api serve`) on the tests' own primary with its
standby (tests/replication.py), sharing a Redis under a key prefix of this module's own. Checked:
queries' searches are served by the standby (each server's statements counted by
pg_stat_statements); stopping the standby under load loses no request and restarting it brings
it back; an author reads their own post at once, on either node, while the standby replays it
late; a post created through one node reaches a subscriber on each; a rate limit is shared.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import redis

from api.runtime import libpq_url
from tests.replication import Replicated
from tests.servers import Server, free_port, running_server
from tests.test_cli import assert_one_line_error, run_cli
from tests.test_live_posts import graphql, neighbour, next_post, open_subscription, post

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTS_NEAR = """query { postsNear(near: {lng: 1.99, lat: 48.85}, first: 5) {
  edges { distanceMeters node { title } } } }"""
NEIGHBOURHOODS_NEAR = """query { neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 3) {
  edges { node { name } } } }"""
POST_BY_ID = """query ($id: ID!) { node(id: $id) { ... on Post { id title } } }"""
PROXIMITY_LIMIT = 10
"""Proximity searches a client address may make per minute: the load below comes from many
addresses (X-Forwarded-For, the nodes trusting 127.0.0.1 as their proxy), the shared-limit check
from one."""
ADDRESSES = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"voisinage-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="module")
def nodes(
    replicated: Replicated, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("nodes")
    shared = {
        "DATABASE_REPLICA_URLS": replicated.standby_url,
        "REPLICA_MAX_LAG_SECONDS": "5",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix,
        "PROXIMITY_RATE_LIMIT_PER_MINUTE": str(PROXIMITY_LIMIT),
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    with (
        running_server(replicated.primary_url, logs / "a.log", **shared) as a,
        running_server(replicated.primary_url, logs / "b.log", **shared) as b,
    ):
        for node in (a, b):
            wait_for_standby(node)
        yield a, b


def wait_for_standby(node: Server, timeout_s: float = 30.0) -> dict[str, Any]:
    """/readyz once it reports the standby healthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        ready: dict[str, Any] = httpx.get(f"{node.http_url}/readyz", timeout=5).json()
        if ready.get("replicas") and all(r["healthy"] for r in ready["replicas"]):
            return ready
        if time.monotonic() > deadline:
            pytest.fail(f"the standby was not healthy within {timeout_s:.0f} s: {ready}")
        time.sleep(0.1)


async def ask(
    client: httpx.AsyncClient, node: Server, query: str, address: str | None = None
) -> tuple[int, Any]:
    """POST `query` to `node` as a client at `address` (a new one each time by default)."""
    response = await client.post(
        f"{node.http_url}/graphql",
        json={"query": query},
        headers={"x-forwarded-for": address or next(ADDRESSES)},
    )
    return response.status_code, response.json()


async def test_searches_run_on_the_standby_and_none_is_lost_when_it_stops(
    nodes: tuple[Server, Server], replicated: Replicated
) -> None:
    a, b = nodes
    token, _ = await neighbour(a, replicated.primary_url, "Famille Lenoir")
    await post(a, token, "Tondeuse à prêter")
    replicated.replayed()
    on_primary, on_standby = (
        replicated.search_calls(replicated.primary),
        replicated.search_calls(replicated.standby),
    )

    async with httpx.AsyncClient(timeout=30) as client:
        answers = [await ask(client, (a, b)[n % 2], POSTS_NEAR) for n in range(40)]
    assert all(status == 200 and "errors" not in body for status, body in answers)
    assert answers[0][1]["data"]["postsNear"]["edges"][0]["node"]["title"] == "Tondeuse à prêter"
    served = (
        replicated.search_calls(replicated.standby) - on_standby,
        replicated.search_calls(replicated.primary) - on_primary,
    )
    print(
        f"\n40 postsNear: {served[0]} search statements on the standby, {served[1]} on the primary"
    )
    assert served[0] >= 40
    assert served[1] == 0

    # Under load from 6 clients: the standby stops, then comes back.
    results: list[tuple[int, Any]] = []
    stop = asyncio.Event()

    async def load(client_number: int) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            n = 0
            while not stop.is_set():
                query = (POSTS_NEAR, NEIGHBOURHOODS_NEAR)[n % 2]
                results.append(await ask(client, (a, b)[(client_number + n) % 2], query))
                n += 1

    clients = [asyncio.create_task(load(number)) for number in range(6)]
    try:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(replicated.pause)
        try:
            await asyncio.sleep(2.0)
            during = len(results)
        finally:
            await asyncio.to_thread(replicated.resume)
        before_back = replicated.search_calls(replicated.standby)
        for node in (a, b):
            await asyncio.to_thread(wait_for_standby, node)
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*clients)

    failed = [(status, body) for status, body in results if status != 200 or "errors" in body]
    assert not failed, failed[:3]
    assert len(results) > during > 0
    assert replicated.search_calls(replicated.standby) > before_back  # taken back
    metrics = httpx.get(f"{a.http_url}/metrics", timeout=5).text
    # The label is the standby's host (127.0.0.1, or its socket directory), port and database.
    port = replicated.standby_port
    assert re.search(rf'voisinage_replica_lag_seconds{{replica="[^"]*:{port}(/\w+)?"}} ', metrics)
    assert re.search(rf'voisinage_replica_healthy{{replica="[^"]*:{port}(/\w+)?"}} 1\.0', metrics)
    print(f"\n{len(results)} requests under load, {len(failed)} lost")


async def test_an_author_reads_their_post_at_once_on_either_node(
    nodes: tuple[Server, Server], replicated: Replicated
) -> None:
    a, b = nodes
    token, _ = await neighbour(a, replicated.primary_url, "Famille Morel")
    replicated.standby.set_apply_delay(2500)
    try:
        created = await post(a, token, "Confiture de coings")
        on_b = await graphql(b, POST_BY_ID, {"id": created}, token)  # the mark is in Redis
        on_a = await graphql(a, POST_BY_ID, {"id": created}, token)
        with psycopg.connect(libpq_url(replicated.standby_url), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM posts WHERE title = 'Confiture de coings'")
            replayed = found.fetchone() is not None
    finally:
        replicated.standby.set_apply_delay(0)
    assert on_b["node"] == {"id": created, "title": "Confiture de coings"}
    assert on_a["node"] == on_b["node"]
    assert not replayed  # the standby had not replayed it: both answers came from the primary
    replicated.replayed()


async def test_a_post_through_one_node_reaches_subscribers_on_both_and_limits_are_shared(
    nodes: tuple[Server, Server], replicated: Replicated
) -> None:
    a, b = nodes
    token, nid = await neighbour(a, replicated.primary_url, "Famille Petit")
    on_a = await open_subscription(a, token, {"nid": nid})
    on_b = await open_subscription(b, token, {"nid": nid})
    try:
        created = await post(a, token, "Vide-grenier dimanche")
        heard = [await next_post(on_a), await next_post(on_b)]
    finally:
        await on_a.close()
        await on_b.close()
    assert [live["id"] for live in heard] == [created, created]

    # One proximity budget per address for the deployment: what A granted, B does not again.
    async with httpx.AsyncClient(timeout=30) as client:
        statuses = [
            (await ask(client, (a, b)[n % 2], POSTS_NEAR, "192.0.2.17"))[0] for n in range(16)
        ]
    assert statuses.count(200) == PROXIMITY_LIMIT
    assert statuses.count(429) == 16 - PROXIMITY_LIMIT


def test_serve_replica_is_for_the_embedded_cluster_only(database_url: str) -> None:
    result = run_cli(
        "serve", "--replica", "--port", str(free_port()), "--no-seed",
        DATABASE_URL=database_url, HOST="127.0.0.1",
    )  # fmt: skip

    assert_one_line_error(result, "--replica", "DATABASE_REPLICA_URLS")

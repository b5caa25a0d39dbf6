"""Read routing to a real hot standby (db.replicas): freshness, read-your-writes, failover.

The standby streams from a primary of the tests' own (tests/replication.py); a test that delays
replay or stops the standby puts it back as it found it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.runtime import libpq_url
from db.engine import create_engine
from db.fastpaths.reads import ReadPool
from db.replicas import (
    CHECKOUT_TIMEOUT_S,
    ROUTE,
    MemoryMarks,
    RedisMarks,
    ReplicaSet,
    RoutedEngine,
    RoutedReads,
    lsn_to_int,
)
from db.searches import ReadConnection, Reads
from tests.replication import Replicated

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def primary(replicated: Replicated) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(replicated.primary_url, pool_size=2)
    yield engine.execution_options(isolation_level="AUTOCOMMIT")
    await engine.dispose()


def make_reads(conninfo: str, _engine: AsyncEngine) -> Reads:
    return ReadPool(conninfo, size=2, timeout_s=CHECKOUT_TIMEOUT_S)


@pytest.fixture
async def replicas(replicated: Replicated, primary: AsyncEngine) -> AsyncIterator[ReplicaSet]:
    url = replicated.standby_url
    replica_set = ReplicaSet(
        primary,
        [(url, libpq_url(url))],
        max_lag_s=5.0,
        pool_size=2,
        make_reads=make_reads,
        check_interval_s=0.1,
    )
    await replica_set.start()
    try:
        await until(lambda: replica_set.replicas[0].healthy, "the standby is healthy")
        yield replica_set
    finally:
        await replica_set.stop()


async def until(condition: Any, what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def in_recovery(conn: ReadConnection) -> bool:
    """Which server answered: True for the standby."""
    assert isinstance(conn, psycopg.AsyncConnection)
    row = await (await conn.execute("SELECT pg_is_in_recovery()")).fetchone()
    return bool(row and row[0])


async def write_marker(replicated: Replicated, name: str) -> None:
    with psycopg.connect(libpq_url(replicated.primary_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS replica_markers (name text PRIMARY KEY)")
        conn.execute("INSERT INTO replica_markers VALUES (%s)", (name,))


def standby_has(replicated: Replicated, name: str) -> bool:
    with psycopg.connect(libpq_url(replicated.standby_url), autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('replica_markers')").fetchone() == (None,):
            return False
        found = conn.execute("SELECT 1 FROM replica_markers WHERE name = %s", (name,))
        return found.fetchone() is not None


async def test_the_monitor_sees_a_streaming_standby_and_its_lag(replicas: ReplicaSet) -> None:
    standby = replicas.replicas[0]

    assert standby.healthy and standby.reason is None
    assert standby.lag_s is not None and standby.lag_s < 1.0
    assert standby.replay_lsn > 0
    assert replicas.status()[0]["healthy"] is True
    assert lsn_to_int("16/B374D848") == (0x16 << 32) | 0xB374D848


async def test_a_query_reads_the_standby_a_mutation_the_primary(
    replicated: Replicated, replicas: ReplicaSet, primary: AsyncEngine
) -> None:
    reads = RoutedReads(ReadPool(libpq_url(replicated.primary_url), size=1), replicas)
    routed = RoutedEngine(primary, replicas)
    try:
        ROUTE.set(replicas.route(None))
        assert await reads.run(in_recovery) is True
        async with routed.connect() as conn:
            assert (await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar_one()
        ROUTE.set(replicas.route(None, primary_only=True))
        assert await reads.run(in_recovery) is False
        async with routed.connect() as conn:
            assert not (await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar_one()
        ROUTE.set(None)  # no route (CLI, background work): the primary
        assert await reads.run(in_recovery) is False
    finally:
        await reads.primary.close()


async def test_an_author_reads_the_primary_until_the_standby_replays_the_write(
    replicated: Replicated, replicas: ReplicaSet
) -> None:
    replicated.standby.set_apply_delay(1500)
    try:
        await write_marker(replicated, "ryw")
        await replicas.record_write("account:7")
        author, stranger = replicas.route("account:7"), replicas.route(None)

        assert await replicas.choose(author) is None  # the standby has not replayed it
        assert await replicas.choose(stranger) is replicas.replicas[0]  # healthy, a bit late
        assert not standby_has(replicated, "ryw")  # what the author would have missed

        await until(lambda: standby_has(replicated, "ryw"), "the standby replays the write")
        await asyncio.sleep(0.3)  # the monitor's next checks
        assert await replicas.choose(replicas.route("account:7")) is replicas.replicas[0]
    finally:
        replicated.standby.set_apply_delay(0)
        replicated.replayed()


async def test_a_standby_lagging_beyond_the_limit_is_skipped_then_taken_back(
    replicated: Replicated, replicas: ReplicaSet
) -> None:
    replicas.max_lag_s = 0.5
    standby = replicas.replicas[0]
    replicated.standby.set_apply_delay(2000)
    try:
        await write_marker(replicated, "late")
        await until(lambda: not standby.healthy, "the late standby is skipped")
        assert standby.reason is not None and "lags" in standby.reason
        assert await replicas.choose(replicas.route(None)) is None
    finally:
        replicated.standby.set_apply_delay(0)
    await until(lambda: standby.healthy, "the standby is taken back once it caught up")
    assert await replicas.choose(replicas.route(None)) is standby


async def test_reads_survive_the_standby_stopping_and_come_back_after(
    replicated: Replicated, replicas: ReplicaSet, primary: AsyncEngine
) -> None:
    reads = RoutedReads(ReadPool(libpq_url(replicated.primary_url), size=1), replicas)
    routed = RoutedEngine(primary, replicas)
    standby = replicas.replicas[0]
    ROUTE.set(replicas.route(None))
    try:
        assert await reads.run(in_recovery) is True  # a pooled connection to the standby
        replicated.pause()
        try:
            # Before the monitor notices: the dead connection is found and the read moves.
            assert await reads.run(in_recovery) is False
            async with routed.connect() as conn:
                assert not (await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar_one()
            await until(lambda: not standby.healthy, "the stopped standby is skipped")
            answered = [await reads.run(in_recovery) for _ in range(5)]
            assert answered == [False] * 5
        finally:
            replicated.resume()
        await until(lambda: standby.healthy, "the restarted standby is taken back")
        assert await reads.run(in_recovery) is True
        async with routed.connect() as conn:
            assert (await conn.execute(text("SELECT pg_is_in_recovery()"))).scalar_one()
    finally:
        await reads.primary.close()


async def test_a_viewer_mark_only_moves_forward_in_redis_and_in_memory() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"voisinage-test-{uuid.uuid4().hex[:12]}"
    shared = RedisMarks(REDIS_URL, prefix)
    try:
        for marks in (shared, MemoryMarks()):
            assert await marks.get("account:1") is None
            await marks.put("account:1", lsn_to_int("1/A0"), 30)
            await marks.put("account:1", lsn_to_int("0/FFFFFFFF"), 30)  # recorded late elsewhere
            assert await marks.get("account:1") == lsn_to_int("1/A0")
            await marks.put("account:1", lsn_to_int("2/0"), 30)
            assert await marks.get("account:1") == lsn_to_int("2/0")
    finally:
        await shared.close()
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()

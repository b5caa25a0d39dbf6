"""Rate limits hold per deployment, not per process: servers sharing a Redis count together.

Each test run writes under a prefix of its own (REDIS_KEY_PREFIX) and deletes its keys after,
so runs in parallel, or a developer's server on the same Redis, do not share counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import redis

from api.ratelimit import RateLimits
from api.settings import Settings
from tests.servers import group_members, running_server

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the local Redis, emptied afterwards."""
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
        assert not list(client.scan_iter(match=f"{prefix}:*"))
        client.close()


def keys_under(prefix: str) -> list[bytes]:
    with redis.Redis.from_url(REDIS_URL) as client:
        return list(client.scan_iter(match=f"{prefix}:*"))


def test_two_servers_on_one_redis_grant_one_limit(
    database_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    shared = {
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix,
        "RATE_LIMIT_PER_MINUTE": "8",
    }
    groups = []
    with (
        running_server(database_url, tmp_path / "a.log", **shared) as first,
        running_server(database_url, tmp_path / "b.log", **shared) as second,
    ):
        groups = [first.process.pid, second.process.pid]
        statuses = []
        for n in range(30):
            server = (first, second)[n % 2]
            with httpx.Client(base_url=server.http_url) as client:
                response = client.post("/graphql", json={"query": "{ __typename }"})
                statuses.append(response.status_code)
        assert keys_under(redis_prefix)  # the counts are in Redis, under this run's prefix

    assert statuses.count(200) == 8
    assert statuses.count(429) == 22
    assert all(not group_members(group) for group in groups)  # every process stopped


async def test_a_refusal_says_when_to_retry_and_families_do_not_mix(
    settings: Settings, redis_prefix: str
) -> None:
    limits = RateLimits(
        replace(
            settings,
            redis_url=REDIS_URL,
            redis_key_prefix=redis_prefix,
            rate_limit_per_minute=60,
            proximity_rate_limit_per_minute=2,
        )
    )
    assert limits.operations is not None and limits.proximity is not None
    keys = ["address:192.0.2.7", "account:42"]
    try:
        assert [await limits.proximity.acquire(keys) for _ in range(2)] == [0.0, 0.0]
        wait_s = await limits.proximity.acquire(keys)
        assert 0 < wait_s <= 60  # the window ends within a minute
        assert await limits.operations.acquire(keys) == 0.0  # another limit, other counts
    finally:
        await limits.close()


async def test_an_unreachable_redis_grants_rather_than_fails(settings: Settings) -> None:
    limits = RateLimits(
        replace(settings, redis_url="redis://127.0.0.1:9/0", rate_limit_per_minute=1)
    )
    assert limits.operations is not None
    try:
        assert [await limits.operations.acquire(["address:a"]) for _ in range(3)] == [0.0] * 3
    finally:
        await limits.close()

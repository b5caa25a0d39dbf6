"""Rate limits: token buckets per address and per account, and the stricter proximity limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.context import Viewer
from api.observability import RequestState
from api.ratelimit import TokenBuckets, client_keys
from api.settings import Settings
from tests.api.conftest import SIGN_UP

NEAR = "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 1) { edges { cursor } } }"
TWO_SEARCHES = (
    "{ a: neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 1) { edges { cursor } } "
    "b: neighbourhoods(near: {lng: 2.35, lat: 48.86}, first: 1) { edges { cursor } } }"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_a_minute_of_burst_then_the_steady_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(60, clock=clock)  # one a second

    assert all(buckets.acquire(["a"], 1) == 0 for _ in range(60))
    assert buckets.acquire(["a"], 1) == pytest.approx(1.0)
    clock.now += 0.5
    assert buckets.acquire(["a"], 1) == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.acquire(["a"], 1) == 0
    assert buckets.acquire(["b"], 1) == 0  # other keys are untouched


def test_a_refusal_takes_nothing_from_any_bucket() -> None:
    clock = Clock()
    buckets = TokenBuckets(60, clock=clock)
    assert buckets.acquire(["address"], 59) == 0

    assert buckets.acquire(["address", "account"], 2) > 0

    assert buckets.acquire(["account"], 60) == 0  # the account's bucket was not charged


def test_more_than_a_bucket_holds_waits_at_most_one_full_refill() -> None:
    buckets = TokenBuckets(60, clock=Clock())

    assert buckets.acquire(["a"], 500) == pytest.approx(60.0)


def test_memory_is_bounded_by_forgetting_the_least_recently_seen_keys() -> None:
    buckets = TokenBuckets(60, max_keys=3, clock=Clock())
    for key in "abcd":
        buckets.acquire([key], 1)

    assert list(buckets.buckets) == ["b", "c", "d"]


def test_signed_in_callers_are_counted_by_address_and_by_account() -> None:
    class Ctx:
        request_state = RequestState(request_id="r", client_address="203.0.113.9")
        viewer = Viewer(account_id=42)

    class Anonymous:
        request_state = RequestState(request_id="r", client_address="203.0.113.9")
        viewer = Viewer()

    assert client_keys(Ctx()) == ["address:203.0.113.9", "account:42"]
    assert client_keys(Anonymous()) == ["address:203.0.113.9"]


Client = Callable[[str], httpx.AsyncClient]


@asynccontextmanager
async def app_with(settings: Settings, **limits: Any) -> AsyncIterator[Client]:
    """The app with tight limits; `client(address)` speaks to it from that client address."""
    app = create_app(replace(settings, **limits))
    clients: list[httpx.AsyncClient] = []

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        return clients[-1]

    try:
        yield client
    finally:
        for opened in clients:
            await opened.aclose()
        await app.state.reads.close()
        await app.state.engine.dispose()


async def test_over_the_limit_answers_429_with_retry_after(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with app_with(settings, rate_limit_per_minute=3) as client:
        http = client("198.51.100.1")
        for _ in range(3):
            ok = await http.post("/graphql", json={"query": "{ __typename }"})
            assert ok.status_code == 200

        refused = await http.post("/graphql", json={"query": "{ __typename }"})
        other = await client("198.51.100.2").post("/graphql", json={"query": "{ __typename }"})

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"  # 3 a minute: one token every 20 s
    assert refused.headers["content-type"].startswith("application/json")
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfterSeconds": 20}
    assert other.status_code == 200  # another address has its own bucket


async def test_an_account_is_limited_whatever_address_it_comes_from(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with app_with(settings, rate_limit_per_minute=4) as client:
        signed_up = await client("198.51.100.1").post(
            "/graphql",
            json={"query": SIGN_UP, "variables": {"email": "a@example.org", "name": "A"}},
        )
        headers = {"authorization": f"Bearer {signed_up.json()['data']['signUp']['token']}"}
        statuses = [
            (
                await client(address).post(
                    "/graphql", json={"query": "{ me { id } }"}, headers=headers
                )
            ).status_code
            for address in (
                "198.51.100.2",
                "198.51.100.3",
                "198.51.100.4",
                "198.51.100.5",
                "198.51.100.6",
            )
        ]

    assert statuses == [200, 200, 200, 200, 429]


async def test_proximity_searches_have_their_own_stricter_limit(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with app_with(settings, proximity_rate_limit_per_minute=2) as client:
        http = client("198.51.100.1")
        searches = [
            (await http.post("/graphql", json={"query": NEAR})).status_code for _ in range(3)
        ]
        other_work = await http.post("/graphql", json={"query": "{ __typename }"})

    assert searches == [200, 200, 429]
    assert other_work.status_code == 200


async def test_each_aliased_proximity_search_counts(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with app_with(settings, proximity_rate_limit_per_minute=3) as client:
        http = client("198.51.100.1")
        first = await http.post("/graphql", json={"query": TWO_SEARCHES})
        second = await http.post("/graphql", json={"query": TWO_SEARCHES})

    assert first.status_code == 200
    assert second.status_code == 429
    assert "proximity" in second.json()["errors"][0]["message"]


async def test_a_limit_of_zero_switches_it_off(settings: Settings, clean_db: AsyncEngine) -> None:
    async with app_with(
        settings, rate_limit_per_minute=0, proximity_rate_limit_per_minute=0
    ) as client:
        http = client("198.51.100.1")
        statuses = {
            (await http.post("/graphql", json={"query": NEAR})).status_code for _ in range(5)
        }

    assert statuses == {200}

"""Rate limits: sliding-window counters per address and per account, and the stricter proximity
limit (the `limits` library, in memory here; tests/test_shared_buckets.py runs them on Redis)."""

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
from api.ratelimit import RateLimits, client_keys, seconds_until_free
from api.settings import Settings
from tests.api.conftest import GraphQLClient

NEAR = "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 1) { edges { cursor } } }"
TWO_SEARCHES = (
    "{ a: neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 1) { edges { cursor } } "
    "b: neighbourhoods(near: {lng: 2.35, lat: 48.86}, first: 1) { edges { cursor } } }"
)


WINDOW_S = 60


def test_a_full_minute_waits_until_the_window_turns() -> None:
    # 3 a minute, all taken 15 s into the current minute: room again when it ends, in 45 s.
    assert seconds_until_free(3, WINDOW_S, 1, 0, 0.0, 3, 45.0 + WINDOW_S) == pytest.approx(45.0)


def test_the_previous_minute_s_count_fades_over_the_current_one() -> None:
    # 60 taken last minute and 20 s of this one left: 60 × 20/60 = 20 of them still count, so
    # 40 more fit now; with 50 taken, the next fits once they count for less than 10, in 10 s.
    assert seconds_until_free(60, WINDOW_S, 1, 60, 20.0, 0, 0.0) == 0.0
    assert seconds_until_free(60, WINDOW_S, 1, 60, 20.0, 50, 80.0) == pytest.approx(10.0)


def test_more_than_a_window_holds_waits_one_window() -> None:
    assert seconds_until_free(3, WINDOW_S, 5, 0, 0.0, 0, 0.0) == WINDOW_S


async def test_a_refusal_charges_no_key_and_says_how_long_to_wait(settings: Settings) -> None:
    limits = RateLimits(replace(settings, rate_limit_per_minute=3))
    assert limits.operations is not None
    assert await limits.operations.acquire(["address:a"], 2) == 0
    wait_s = await limits.operations.acquire(["address:a", "account:1"], 2)
    assert 0 < wait_s <= WINDOW_S
    assert await limits.operations.acquire(["account:1"], 3) == 0  # was not charged above
    assert await limits.operations.acquire(["address:b"], 1) == 0  # other keys are untouched


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
    retry_after_s = int(refused.headers["retry-after"])
    assert 1 <= retry_after_s <= 60  # when this minute's window ends
    assert refused.headers["content-type"].startswith("application/json")
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfterSeconds": retry_after_s}
    assert other.status_code == 200  # another address has its own bucket


async def test_an_account_is_limited_whatever_address_it_comes_from(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with app_with(settings, rate_limit_per_minute=4) as client:
        signed_in = await GraphQLClient(client("198.51.100.1")).sign_up("a@example.org")
        headers = signed_in.headers
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

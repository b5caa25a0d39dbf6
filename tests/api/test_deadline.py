"""No work outlives its request: the operation deadline, and a client that hangs up."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import Message

from api.app import create_app
from api.settings import Settings
from db.queries import neighbourhoods as neighbourhood_queries

NEAR = "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 5) { edges { cursor } } }"
SLEEP_S = 20


@pytest.fixture
def slow_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search query sleeps in PostgreSQL (as a query on a cold, huge table would)."""

    async def sleep_in_postgres(conn: AsyncConnection, *_: Any, **__: Any) -> list[Any]:
        await conn.execute(text(f"SELECT pg_sleep({SLEEP_S})"))
        return []

    monkeypatch.setattr(neighbourhood_queries, "nearest_neighbourhoods", sleep_in_postgres)


async def sleeping_queries(engine: AsyncEngine, wait_s: float = 3.0) -> int:
    """Statements still sleeping on the server, once cancellations had `wait_s` to land."""
    deadline = time.monotonic() + wait_s
    while True:
        async with engine.connect() as conn:
            count = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                        "AND query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar_one()
        if count == 0 or time.monotonic() > deadline:
            return int(count)
        await asyncio.sleep(0.1)


@pytest.mark.usefixtures("slow_search")
async def test_an_operation_past_its_deadline_stops_and_answers_timeout(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    app = create_app(replace(settings, operation_timeout_s=0.5))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": NEAR})
            elapsed_s = time.perf_counter() - started
            after = await client.post("/graphql", json={"query": "{ __typename }"})

        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "TIMEOUT", "timeoutSeconds": 0.5}
        assert "0.5 s" in error["message"]
        assert elapsed_s < 2
        assert await sleeping_queries(clean_db) == 0  # cancelled in PostgreSQL too
        assert app.state.engine.pool.checkedout() == 0  # and its connection came back
        assert after.json() == {"data": {"__typename": "Query"}}
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


@pytest.mark.usefixtures("slow_search")
async def test_a_timeout_answers_200_with_null_data_even_as_graphql_response_json(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    """Execution had started: per GraphQL over HTTP it is not a request error (no 4xx)."""
    app = create_app(replace(settings, operation_timeout_s=0.3))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/graphql",
                json={"query": NEAR},
                headers={"accept": "application/graphql-response+json"},
            )
        assert response.status_code == 200
        assert response.json()["data"] is None
        assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


@pytest.mark.usefixtures("slow_search")
async def test_a_client_that_disconnects_cancels_its_operation(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    app = create_app(settings)  # default deadline (10 s): only the disconnect can stop it
    request_body = json.dumps({"query": NEAR}).encode()
    body_sent = False
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": request_body, "more_body": False}
        await asyncio.sleep(0.5)  # the client gives up while the query runs
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    try:
        started = time.perf_counter()
        await asyncio.wait_for(app(scope, receive, send), timeout=5)

        assert time.perf_counter() - started < 3
        assert [message["type"] for message in sent] == []  # nobody left to answer
        assert await sleeping_queries(clean_db) == 0
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()

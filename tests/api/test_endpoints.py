"""The HTTP surface around GraphQL: health, readiness, metrics, GraphQL-over-HTTP, limits, masking."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.errors import INTERNAL_MESSAGE
from api.runtime import libpq_url
from api.settings import Settings
from db.migrate import head_revision
from db.queries import neighbourhoods as neighbourhood_queries
from tests.api.conftest import GraphQLClient

NEIGHBOURHOODS_NEAR_CHAVENAY = """
query Near { neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 5) { edges { cursor } } }
"""
REGISTER_VIA_GET = (
    'mutation { registerHousehold(input: {name: "Sneaky", location: {lng: 1.99, lat: 48.85}}) '
    "{ __typename } }"
)


def free_port() -> int:
    """A port nothing listens on (bound then released, so connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A database that exists but was never migrated, dropped (even if in use) afterwards."""
    name = f"voisinage_unmigrated_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def get_from_app(settings: Settings, path: str) -> httpx.Response:
    """One request to a separately built app, whose engine is disposed afterwards."""
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


async def test_healthz_answers_ok_without_touching_the_database(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_migrated_revision(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": head_revision()}


async def test_readyz_is_unavailable_when_migrations_are_not_at_head(
    settings: Settings, empty_database_url: str
) -> None:
    unmigrated = Settings(database_url=empty_database_url, data_dir=settings.data_dir)

    response = await get_from_app(unmigrated, "/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "migrations not at head",
        "database": None,
        "expected": head_revision(),
    }


async def test_readyz_is_unavailable_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = Settings(
        database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/nothing",
        data_dir=settings.data_dir,
    )

    response = await get_from_app(unreachable, "/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "database unreachable"}


async def test_metrics_count_named_operations_and_show_the_pool(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    assert await gql.data("query Ping { __typename }") == {"__typename": "Query"}

    response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert 'voisinage_graphql_operations_total{operation="Ping",outcome="ok"} 1.0' in lines
    assert any(line.startswith('voisinage_db_pool_connections{state="size"}') for line in lines)
    assert 'voisinage_db_pool_connections{state="in_use"} 0.0' in lines


async def test_get_with_a_query_string_executes_the_query(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "{ __typename }"},
        headers={"accept": "application/graphql-response+json, application/json"},
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_refuses_mutations_and_writes_nothing(
    http: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    response = await http.get(
        "/graphql", params={"query": REGISTER_VIA_GET}, headers={"accept": "application/json"}
    )

    # GraphQL-over-HTTP: 405 for application/graphql-response+json, 400 allowed for legacy JSON.
    assert response.status_code in {400, 405}
    assert "mutations are not allowed" in response.text
    async with clean_db.connect() as conn:
        households = (await conn.execute(text("SELECT count(*) FROM households"))).scalar_one()
    assert households == 0


async def test_get_from_a_browser_serves_graphiql(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_every_response_carries_a_generated_request_id(http: httpx.AsyncClient) -> None:
    first = await http.get("/healthz")
    second = await http.get("/healthz")

    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_valid_incoming_request_id_is_echoed(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={"x-request-id": "partner-req-0001"})

    assert response.headers["x-request-id"] == "partner-req-0001"


async def test_an_unusable_incoming_request_id_is_replaced(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={"x-request-id": "short"})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_a_body_over_the_limit_is_refused_with_413(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    padding = " " * settings.max_body_bytes
    response = await http.post(
        "/graphql",
        content=f'{{"query": "{{ __typename }}{padding}"}}',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "REQUEST_TOO_LARGE"}
    assert "x-request-id" in response.headers


async def test_a_streamed_body_over_the_limit_is_refused_with_413(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    """No Content-Length (chunked upload): the limit is enforced while the body arrives."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }'
        for _ in range(settings.max_body_bytes // 10_000 + 1):
            yield b" " * 10_000
        yield b'"}'

    response = await http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "REQUEST_TOO_LARGE"}


async def test_invalid_json_is_a_client_error(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400


async def test_unexpected_resolver_errors_are_masked(
    http: httpx.AsyncClient, gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("SELECT secret FROM x at /work/main/db/file.py")

    # The resolver calls `neighbourhood_queries.nearest_neighbourhoods` through this module object.
    monkeypatch.setattr(neighbourhood_queries, "nearest_neighbourhoods", explode)

    response = await http.post("/graphql", json={"query": NEIGHBOURHOODS_NEAR_CHAVENAY})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == INTERNAL_MESSAGE
    for leak in ("SELECT", "/work", "RuntimeError", "secret"):
        assert leak not in response.text
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
    }

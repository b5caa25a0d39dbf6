"""GraphQL over HTTP (content negotiation, status codes), introspection policy, CORS, and the
limits that only a real socket shows (uvicorn in this process): 1 MB uploads, WebSocket origins
and message sizes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message
from websockets.asyncio.client import connect
from websockets.typing import Origin, Subprotocol

from api.app import create_app
from api.settings import Settings
from api.transport import negotiate
from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.servers import uvicorn_serving

GRAPHQL_RESPONSE = "application/graphql-response+json"
INTROSPECT = "{ __schema { queryType { name } } }"
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
ALLOWED_ORIGIN = "http://localhost:5173"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", "application/json"),
        (f"{GRAPHQL_RESPONSE};q=0", "application/json"),
        ("text/html", "application/json"),
    ],
)
def test_content_negotiation_prefers_graphql_response_json_only_when_asked(
    accept: str | None, media_type: str
) -> None:
    assert negotiate(accept) == media_type


async def test_graphql_response_json_success_is_200_with_its_media_type(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_graphql_response_json_request_error_is_400_without_data(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_graphql_response_json_field_error_is_200_with_data(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql",
        json={
            "query": "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 0) { edges { cursor } } }"
        },
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["path"] == ["neighbourhoods"]


async def test_plain_json_request_error_stays_200_with_null_data(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"] is None


async def test_a_mutation_by_get_is_405_with_allow_post(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "mutation { logOut { __typename } }"},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


async def test_a_one_megabyte_query_string_is_refused_at_once(settings: Settings) -> None:
    """httpx will not send such a URL, so this speaks ASGI to the app directly."""
    app = create_app(settings)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"query=" + b"%20" * 1_000_000,
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    try:
        started = time.perf_counter()
        await app(scope, receive, send)
        elapsed_s = time.perf_counter() - started
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()

    assert sent[0]["status"] == 414
    assert json.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert elapsed_s < 0.5


# -- introspection and suggestions ---------------------------------------------------------------


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[GraphQLClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http)
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


async def test_development_allows_introspection_and_suggestions(gql: GraphQLClient) -> None:
    assert (await gql.data(INTROSPECT))["__schema"]["queryType"]["name"] == "Query"
    body = await gql.execute("{ neighbourhoodz }")
    assert "Did you mean" in body["errors"][0]["message"]


async def test_production_hides_introspection_and_suggestions_from_anonymous_callers(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with client_for(
        replace(settings, environment="production", password_hashing="standard")
    ) as gql:
        introspection = await gql.execute(INTROSPECT)
        typo = await gql.execute("{ neighbourhoodz }")
        enum_typo = await gql.execute(
            "{ nearestLenders(near: {lng: 1.99, lat: 48.85}, category: TOOL) { edges { cursor } } }"
        )
        member = await gql.sign_up()
        member_introspection = await member.execute(INTROSPECT)

    assert introspection["data"] is None
    assert "introspection has been disabled" in introspection["errors"][0]["message"]
    assert member_introspection["data"] is None
    assert typo["errors"][0]["message"] == "Cannot query field 'neighbourhoodz' on type 'Query'."
    assert enum_typo["errors"]
    for body in (typo, enum_typo):
        assert "Did you mean" not in json.dumps(body)


async def test_production_lets_signed_in_admins_introspect(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with client_for(
        replace(settings, environment="production", password_hashing="standard")
    ) as gql:
        admin = await gql.sign_up()
        await promote_to_admin(clean_db, admin)

        introspection = await admin.data(INTROSPECT)
        typo = await admin.execute("{ neighbourhoodz }")

    assert introspection["__schema"]["queryType"]["name"] == "Query"
    assert "Did you mean" in typo["errors"][0]["message"]


async def test_introspection_switched_off_is_off_for_everyone(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with client_for(replace(settings, introspection=False)) as gql:
        body = await gql.execute(INTROSPECT)
        typename = await gql.data("{ __typename }")

    assert body["data"] is None
    assert typename == {"__typename": "Query"}


# -- CORS ----------------------------------------------------------------------------------------


async def test_cors_preflight_from_the_web_client_is_allowed(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/graphql",
        headers={
            "origin": ALLOWED_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, authorization",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_cors_preflight_from_another_origin_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/graphql",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


# -- over a real socket --------------------------------------------------------------------------


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """The app under uvicorn on a free port (as `serve` runs it, with `ws_max_size`)."""
    async with uvicorn_serving(
        create_app(settings), ws_max_size=settings.max_ws_message_bytes, lifespan="on"
    ) as server:
        yield f"127.0.0.1:{server.config.port}"


@pytest.fixture
async def server(settings: Settings, clean_db: AsyncEngine) -> AsyncIterator[str]:
    async with served(replace(settings, max_ws_message_bytes=10_000)) as address:
        yield address


async def test_a_one_megabyte_upload_is_refused_fast_without_stalling_others(
    server: str,
) -> None:
    huge = json.dumps({"query": "{ __typename " + " " * 1_000_000 + "}"}).encode()

    async with httpx.AsyncClient(base_url=f"http://{server}") as client:

        async def upload() -> tuple[int, float]:
            started = time.perf_counter()
            response = await client.post(
                "/graphql", content=huge, headers={"content-type": "application/json"}
            )
            return response.status_code, time.perf_counter() - started

        async def ordinary() -> tuple[int, float]:
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": "{ __typename }"})
            return response.status_code, time.perf_counter() - started

        (upload_status, upload_s), (ok_status, ok_s) = await asyncio.gather(upload(), ordinary())

    assert upload_status == 413
    assert upload_s < 1
    assert ok_status == 200
    assert ok_s < 1


async def receive_json(ws: Any) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=5))


async def test_websocket_from_the_web_client_origin_is_accepted(server: str) -> None:
    async with connect(
        f"ws://{server}/graphql", subprotocols=[GRAPHQL_TRANSPORT_WS], origin=Origin(ALLOWED_ORIGIN)
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await receive_json(ws))["type"] == "connection_ack"


async def test_websocket_from_another_origin_is_refused_at_the_handshake(server: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(
            f"ws://{server}/graphql",
            subprotocols=[GRAPHQL_TRANSPORT_WS],
            origin=Origin("https://evil.example"),
        ):
            pass

    assert refused.value.response.status_code == 403


async def test_a_websocket_message_over_the_limit_closes_the_connection_with_1009(
    server: str,
) -> None:
    async with connect(f"ws://{server}/graphql", subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await receive_json(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "{ __typename }" + " " * 20_000},
                }
            )
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive_json(ws)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # message too big


async def test_rate_limits_apply_to_operations_over_websocket_too(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with (
        served(replace(settings, rate_limit_per_minute=2)) as address,
        connect(f"ws://{address}/graphql", subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws,
    ):
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await receive_json(ws))["type"] == "connection_ack"
        replies = []
        for operation_id in ("1", "2", "3"):
            await ws.send(
                json.dumps(
                    {
                        "id": operation_id,
                        "type": "subscribe",
                        "payload": {"query": "{ __typename }"},
                    }
                )
            )
            replies.append(await receive_json(ws))
            if replies[-1]["type"] == "next":
                assert (await receive_json(ws))["type"] == "complete"

    assert [reply["type"] for reply in replies] == ["next", "next", "error"]
    assert replies[2]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_syntax_error_over_websocket_closes_with_4400_not_silence(server: str) -> None:
    """graphql-transport-ws: an unparsable operation is a protocol error, told to the client."""
    async with connect(f"ws://{server}/graphql", subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await receive_json(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ a"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive_json(ws)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert closed.value.rcvd.reason.startswith("Syntax Error")

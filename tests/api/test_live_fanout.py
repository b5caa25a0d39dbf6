"""Live posts rendered once per group of identical payloads (`api.fastpaths.fanout`), not per subscriber.

In-process: WebSocket clients speak graphql-transport-ws to `create_app` over ASGI, events are
handed to the app's broadcaster, and the frames are compared byte for byte with what
Strawberry's stock handler sends for the same subscription and event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, parse
from starlette.applications import Starlette
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from api.app import create_app
from api.fastpaths import fanout
from api.settings import Settings
from bench.live_cpu import MemoryClient, Tally, fake_event, graphql_view
from geo.coords import LngLat
from geo.distance import great_circle_m, round_distance_m
from tests.api.conftest import GraphQLClient
from tests.api.helpers import node_id
from tests.api.test_neighbourhoods import REGISTER

CHAVENAY = {"lng": 1.99, "lat": 48.85}
ELSEWHERE = {"lng": 2.35, "lat": 48.86}  # Paris: another neighbourhood
SUBSCRIBE = """subscription ($nid: ID, $after: String) {
  postCreated(neighbourhoodId: $nid, after: $after) {
    id cursor kind title excerpt authorName neighbourhood { id name } createdAt distanceMeters
  } }"""
NEAR = """subscription ($near: LocationInput, $radius: Int) {
  postCreated(near: $near, radiusMeters: $radius) { id title distanceMeters } }"""
WITH_TITLE = """subscription ($nid: ID, $withTitle: Boolean!) {
  postCreated(neighbourhoodId: $nid) { id title @include(if: $withTitle) } }"""


@pytest.fixture
async def live_app(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(dataclasses.replace(settings, ws_max_connections_per_viewer=20))
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.broadcaster.listening.wait(), 10)
        yield app
    await app.state.reads.close()
    await app.state.engine.dispose()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The root values `api.fastpaths.fanout` executed a selection set for (the real method still runs)."""
    seen: list[object] = []
    original = fanout.SharedFrames.render

    async def counted(self: fanout.SharedFrames, root: object) -> str | None:
        seen.append(root)
        return await original(self, root)

    monkeypatch.setattr(fanout.SharedFrames, "render", counted)
    return seen


async def token_and_neighbourhood(gql: GraphQLClient, place: dict[str, float]) -> tuple[str, str]:
    client = await gql.sign_up(name="Foyer Martin")
    result = (await client.data(REGISTER, {"name": "Foyer Martin", **place}))["registerHousehold"]
    assert result["__typename"] == "RegisterHouseholdSuccess", result
    return client.headers["authorization"].removeprefix("Bearer "), result["neighbourhood"]["id"]


async def subscribe_all(
    app: Starlette, tally: Tally, subscriptions: list[tuple[str, str, dict[str, Any]]]
) -> list[MemoryClient]:
    """(token, query, variables) each on its own connection; returns once all are registered."""
    before = len(app.state.broadcaster.subscribers)
    clients = []
    for number, (token, query, variables) in enumerate(subscriptions):
        client = MemoryClient(app, tally, keep=True)
        await client.open(token, None, query=query, variables=variables, operation_id=f"s{number}")
        clients.append(client)
    for _ in range(100):
        if len(app.state.broadcaster.subscribers) - before >= len(subscriptions):
            break
        await asyncio.sleep(0.05)
    return clients


def nexts(client: MemoryClient) -> list[str]:
    return [text for text in client.texts if '"next"' in text]


async def deliver(app: Starlette, tally: Tally, event: dict[str, Any], expected: int) -> None:
    app.state.broadcaster.dispatch(event)
    await tally.wait_for(tally.count + expected, timeout_s=10)
    await asyncio.sleep(0.05)  # anything unexpected would arrive now


async def close(clients: list[MemoryClient]) -> None:
    await asyncio.gather(*(client.close() for client in clients))


async def test_identical_subscriptions_get_byte_identical_frames_rendered_once(
    gql: GraphQLClient, live_app: Starlette, settings: Settings, renders: list[object]
) -> None:
    token, nid = await token_and_neighbourhood(gql, CHAVENAY)
    other, _ = await token_and_neighbourhood(gql, CHAVENAY)
    tally = Tally()
    # Different `after` values: they choose the catch-up, not the payload, so one group.
    clients = await subscribe_all(
        live_app,
        tally,
        [
            (token, SUBSCRIBE, {"nid": nid}),
            (other, SUBSCRIBE, {"nid": nid}),
            (token, SUBSCRIBE, {"nid": nid, "after": None}),
        ],
    )
    event = fake_event(10**12, node_id(nid))
    await deliver(live_app, tally, event, expected=3)
    await close(clients)

    assert len(renders) == 1
    frames = [nexts(client) for client in clients]
    assert [len(sent) for sent in frames] == [1, 1, 1]
    messages = [json.loads(sent[0]) for sent in frames]
    assert [message["id"] for message in messages] == ["s0", "s1", "s2"]
    payloads = {json.dumps(message["payload"]) for message in messages}
    assert len(payloads) == 1
    live = messages[0]["payload"]["data"]["postCreated"]
    assert live["title"] == event["title"]
    assert live["neighbourhood"] == {"id": nid, "name": "Paris"}
    assert live["distanceMeters"] is None
    assert "lng" not in json.dumps(messages[0]) and "lat" not in live

    # Strawberry's own handler sends exactly the same text for the same subscription and event.
    stock_app = create_app(settings)
    stock: Callable[..., Any] = BaseGraphQLTransportWSHandler
    graphql_view(stock_app).graphql_transport_ws_handler_class = stock  # type: ignore[assignment]
    async with stock_app.router.lifespan_context(stock_app):
        stock_tally = Tally()
        [stock_client] = await subscribe_all(
            stock_app, stock_tally, [(token, SUBSCRIBE, {"nid": nid})]
        )
        await deliver(stock_app, stock_tally, event, expected=1)
        await close([stock_client])
    await stock_app.state.reads.close()
    await stock_app.state.engine.dispose()
    assert nexts(stock_client) == frames[0]


async def test_near_subscribers_get_their_own_rounded_distances(
    gql: GraphQLClient, live_app: Starlette, renders: list[object]
) -> None:
    token, nid = await token_and_neighbourhood(gql, CHAVENAY)
    near_paris = {"lng": 2.36, "lat": 48.86}
    near_versailles = {"lng": 2.13, "lat": 48.80}
    tally = Tally()
    clients = await subscribe_all(
        live_app,
        tally,
        [
            (token, NEAR, {"near": near_paris, "radius": 50_000}),
            (token, NEAR, {"near": near_versailles, "radius": 50_000}),
            (token, NEAR, {"near": near_paris, "radius": 20_000}),  # same distance: shared
        ],
    )
    event = fake_event(10**12 + 1, node_id(nid))
    await deliver(live_app, tally, event, expected=3)
    await close(clients)

    post = LngLat(lng=event["lng"], lat=event["lat"])
    expected = [
        round_distance_m(great_circle_m(LngLat(**origin), post))
        for origin in (near_paris, near_versailles, near_paris)
    ]
    got = [json.loads(nexts(c)[0])["payload"]["data"]["postCreated"] for c in clients]
    assert [live["distanceMeters"] for live in got] == expected
    assert expected[0] != expected[1]
    assert len(renders) == 2


async def test_variables_inside_the_selection_make_their_own_groups(
    gql: GraphQLClient, live_app: Starlette, renders: list[object]
) -> None:
    token, nid = await token_and_neighbourhood(gql, CHAVENAY)
    tally = Tally()
    clients = await subscribe_all(
        live_app,
        tally,
        [
            (token, WITH_TITLE, {"nid": nid, "withTitle": True}),
            (token, WITH_TITLE, {"nid": nid, "withTitle": False}),
        ],
    )
    event = fake_event(10**12 + 2, node_id(nid))
    await deliver(live_app, tally, event, expected=2)
    await close(clients)

    with_title, without = (json.loads(nexts(c)[0])["payload"]["data"] for c in clients)
    assert with_title["postCreated"]["title"] == event["title"]
    assert "title" not in without["postCreated"]
    assert len(renders) == 2


async def test_a_subscriber_not_allowed_never_receives(
    gql: GraphQLClient, live_app: Starlette
) -> None:
    token, nid = await token_and_neighbourhood(gql, CHAVENAY)
    outsider, other_nid = await token_and_neighbourhood(gql, ELSEWHERE)
    assert other_nid != nid
    tally = Tally()
    clients = await subscribe_all(
        live_app,
        tally,
        [
            (token, SUBSCRIBE, {"nid": nid}),
            (outsider, SUBSCRIBE, {"nid": nid}),  # refused: not a member
            (outsider, SUBSCRIBE, {"nid": other_nid}),  # its own: another neighbourhood
        ],
    )
    await deliver(live_app, tally, fake_event(10**12 + 3, node_id(nid)), expected=1)
    await close(clients)

    assert len(nexts(clients[0])) == 1
    refused = [json.loads(text) for text in clients[1].texts if '"s1"' in text]
    assert refused and refused[0]["type"] in {"error", "next"}
    assert "postCreated" not in json.dumps(refused[0].get("payload", {}).get("data") or {})
    assert "FORBIDDEN" in json.dumps(refused[0])
    assert nexts(clients[2]) == []


def test_only_variables_inside_the_selection_shape_the_payload() -> None:
    document = parse(
        """subscription ($nid: ID, $kinds: [PostKind!], $t: Boolean!, $d: Boolean!) {
          postCreated(neighbourhoodId: $nid, kinds: $kinds) @include(if: $d) {
            id ...F } }
        fragment F on LivePost { title @skip(if: $t) }"""
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions[1:]
        if hasattr(definition, "name") and definition.name is not None
    }
    assert fanout.shaping_variables(field, fragments) == {"t", "d"}  # type: ignore[arg-type]

"""FAST_PATHS=on and FAST_PATHS=off answer alike, byte for byte (api.fastpaths, db.fastpaths).

Two applications on the same database, one per mode; the same requests (same bearer tokens, same
X-Request-ID) go to both, and the response bodies must be the same bytes: the three nearest-first
searches (first and next pages, filters, refusals), nested fields through DataLoaders, `node`,
errors (validation, user errors, cost and depth refusals, a syntax error), introspection, and
mutations (refusals byte for byte; writes with their generated IDs and timestamps set aside).
Live posts: one real `createPost`, whose NOTIFY both applications' listeners receive, must reach
a subscriber of each as the same text frame (the shared rendering of `api.fastpaths.fanout` on
one side, Strawberry's per-subscriber path on the other).

This is what lets the stock mode stand in for the fast paths at any time (a library upgrade that
breaks them: FAST_PATHS=off or auto). `make test` runs it, and a share of tests/api with
`--fast-paths=off` (Makefile, `pytest-stock`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from strawberry.extensions import ValidationCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api import fastpaths
from api.app import create_app
from api.fastpaths.execution import PlannedExecutor
from api.fastpaths.fanout import SharingTransportWSHandler
from api.fastpaths.ws_protocol import LeanWebSocketsProtocol
from api.live_transport import LiveTransportWSHandler
from api.schema import build_schema, validation_cache
from api.settings import Settings
from bench.live_cpu import MemoryClient, Tally, graphql_view
from db.fastpaths import TESTED_WITH as DB_TESTED_WITH
from db.fastpaths import version_drift
from db.fastpaths.reads import ReadPool
from db.searches import EngineReads
from tests.api.conftest import GraphQLClient

CHAVENAY = {"lng": 1.99, "lat": 48.85}
REGISTER = """
mutation ($name: String!, $lng: Float!, $lat: Float!) {
  registerHousehold(input: {name: $name, location: {lng: $lng, lat: $lat}}) {
    __typename
    ... on RegisterHouseholdSuccess { household { id } neighbourhood { id name kind } }
  }
}"""
CREATE_ITEM = """
mutation ($input: CreateItemInput!) {
  createItem(input: $input) {
    __typename
    ... on CreateItemSuccess {
      item { id title category condition terms available lender { name } neighbourhood { id } }
    }
    ... on ValidationError { code message field }
  }
}"""
CREATE_POST = """
mutation ($input: CreatePostInput!) {
  createPost(input: $input) {
    __typename
    ... on CreatePostSuccess {
      post { id kind title body createdAt author { name neighbourhoodName } neighbourhood { id } }
    }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}"""
CREATE_GARDEN = """
mutation ($input: CreateGardenInput!) {
  createGarden(input: $input) {
    __typename
    ... on CreateGardenSuccess { garden { id name plotsTotal plotsFree } }
    ... on MutationError { code message }
  }
}"""
LENDERS = """
query ($near: LocationInput!, $query: String, $category: ItemCategory, $first: Int,
       $after: String, $max: Int) {
  nearestLenders(near: $near, query: $query, category: $category, first: $first, after: $after,
                 maxDistanceMeters: $max) {
    searchedRadiusMeters
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor distanceMeters
      node {
        id title category condition terms available
        lender { name neighbourhood { id name kind } }
        neighbourhood { name }
      }
    }
  }
}"""
POSTS_NEAR = """
query ($near: LocationInput!, $kinds: [PostKind!], $first: Int, $after: String) {
  postsNear(near: $near, kinds: $kinds, first: $first, after: $after) {
    searchedRadiusMeters
    pageInfo { hasNextPage endCursor }
    edges { cursor distanceMeters node { postId kind title createdAt neighbourhoodName } }
  }
}"""
GARDENS_NEAR = """
query ($near: LocationInput!, $first: Int) {
  gardensNear(near: $near, first: $first) {
    searchedRadiusMeters
    pageInfo { hasNextPage endCursor }
    edges { distanceMeters node { id kind name plotsTotal plotsFree location { lng lat } } }
  }
}"""
FEED = """
query ($id: ID!) {
  neighbourhood(id: $id) {
    id name kind memberCount
    posts(first: 10) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id title kind author { name } neighbourhood { name } } }
    }
  }
}"""
ME = """
{ me { displayName household { name neighbourhood { name kind memberCount } } } }"""
NODE = """
query ($id: ID!) {
  node(id: $id) { __typename id ... on Item { title lender { name } neighbourhood { name } } }
}"""
ALIASED = """
query ($near: LocationInput!) {
  a: nearestLenders(near: $near, first: 1) { edges { node { t: title, c: category } } }
  b: gardensNear(near: $near, first: 1) { edges { node { name } } }
  __typename
}"""
SUBSCRIBE = """subscription ($nid: ID) {
  postCreated(neighbourhoodId: $nid) {
    id cursor kind title excerpt authorName neighbourhood { id name } createdAt distanceMeters
  } }"""
WITH_FRAGMENT = """subscription ($nid: ID, $withTitle: Boolean!) {
  postCreated(neighbourhoodId: $nid) { ...Live }
}
fragment Live on LivePost { id kind title @include(if: $withTitle) authorName }"""
TOO_DEEP = "{ me { household { neighbourhood { posts { edges { node { neighbourhood { posts { edges { node { neighbourhood { posts { edges { node { id } } } } } } } } } } } } } } }"
TOO_COSTLY = """query ($near: LocationInput!) {
  nearestLenders(near: $near, first: 100) {
    edges { node { lender { neighbourhood { posts(first: 100) { edges { node { id } } } } } } }
  }
}"""
INTROSPECTION = "{ __schema { queryType { name } types { name kind fields { name } } } }"
NORMALISED = frozenset({"id", "createdAt", "postId"})
"""What a write generates afresh on each side: compared by shape, not value."""


class Side:
    """One application and the requests it answers, as bytes."""

    def __init__(self, app: Starlette, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    async def body(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> bytes:
        headers = {"x-request-id": "parity-request"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return f"{response.status_code} {response.headers.get('content-type')}\n".encode() + (
            response.content
        )


@dataclasses.dataclass
class Pair:
    on: Side
    off: Side
    gql: GraphQLClient
    """Signs accounts up (through the fast side; both sides share the database)."""

    async def same(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        """The one answer both modes give (the same bytes), decoded."""
        on = await self.on.body(query, variables, token)
        off = await self.off.body(query, variables, token)
        assert on == off, f"FAST_PATHS on and off differ for {query[:60]!r}:\n{on!r}\n{off!r}"
        return json.loads(on.split(b"\n", 1)[1])

    async def same_write(
        self, query: str, variables: dict[str, Any], token: str
    ) -> tuple[Any, Any]:
        """A write sent to each side (two rows): equal once generated values are set aside."""
        on = await self.on.body(query, variables, token)
        off = await self.off.body(query, variables, token)
        decoded = [json.loads(body.split(b"\n", 1)[1]) for body in (on, off)]
        assert normalised(decoded[0]) == normalised(decoded[1]), (on, off)
        assert on.split(b"\n", 1)[0] == off.split(b"\n", 1)[0]
        return decoded[0], decoded[1]


def normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "<generated>" if key in NORMALISED else normalised(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalised(item) for item in value]
    return value


@pytest.fixture
async def pair(settings: Settings, clean_db: AsyncEngine) -> AsyncIterator[Pair]:
    on_app = create_app(
        dataclasses.replace(settings, fast_paths="on", proximity_rate_limit_per_minute=0)
    )
    off_app = create_app(
        dataclasses.replace(settings, fast_paths="off", proximity_rate_limit_per_minute=0)
    )
    async with (
        on_app.router.lifespan_context(on_app),
        off_app.router.lifespan_context(off_app),
    ):
        for app in (on_app, off_app):
            await asyncio.wait_for(app.state.broadcaster.listening.wait(), 10)
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=on_app), base_url="http://t") as on,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=off_app), base_url="http://t"
            ) as off,
        ):
            yield Pair(Side(on_app, on), Side(off_app, off), GraphQLClient(on))


async def member(pair: Pair, name: str, place: dict[str, float]) -> tuple[str, str]:
    """(token, neighbourhood ID) of a new account with a household at `place`."""
    client = await pair.gql.sign_up(name=name)
    token = client.headers["authorization"].removeprefix("Bearer ")
    result = (await client.data(REGISTER, {"name": f"Foyer {name}", **place}))["registerHousehold"]
    assert result["__typename"] == "RegisterHouseholdSuccess", result
    return token, result["neighbourhood"]["id"]


def item(title: str, category: str = "TOOLS") -> dict[str, Any]:
    return {
        "title": title,
        "description": "",
        "category": category,
        "condition": "GOOD",
        "terms": "FREE",
    }


def test_the_switch_chooses_every_path(settings: Settings) -> None:
    on = create_app(dataclasses.replace(settings, fast_paths="on"))
    off = create_app(dataclasses.replace(settings, fast_paths="off"))

    on_schema: Any = graphql_view(on).schema
    off_schema: Any = graphql_view(off).schema
    assert on_schema.execution_context_class is PlannedExecutor
    assert off_schema.execution_context_class is StrawberryGraphQLCoreExecutionContext
    assert graphql_view(on).graphql_transport_ws_handler_class is SharingTransportWSHandler
    assert graphql_view(off).graphql_transport_ws_handler_class is LiveTransportWSHandler
    assert isinstance(on.state.reads, ReadPool)
    assert isinstance(off.state.reads, EngineReads)
    assert fastpaths.websocket_protocol(on.state.settings) is LeanWebSocketsProtocol
    assert fastpaths.websocket_protocol(off.state.settings) == "websockets-sansio"
    stock_cache = validation_cache(off.state.settings)()
    assert isinstance(stock_cache, ValidationCache)
    assert type(validation_cache(on.state.settings)()) is not ValidationCache


def test_both_modes_publish_the_same_schema(settings: Settings) -> None:
    on = build_schema(dataclasses.replace(settings, fast_paths="on")).as_str()
    off = build_schema(dataclasses.replace(settings, fast_paths="off")).as_str()

    assert on == off


def test_auto_falls_back_to_stock_only_when_a_library_drifted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    auto = dataclasses.replace(settings, fast_paths="auto")
    monkeypatch.setattr(fastpaths, "DRIFT", {})
    assert fastpaths.enabled(auto)

    monkeypatch.setattr(fastpaths, "DRIFT", {"graphql-core": ("3.3.2", "3.4.0")})
    assert not fastpaths.enabled(auto)
    assert fastpaths.enabled(dataclasses.replace(settings, fast_paths="on"))
    assert not fastpaths.enabled(dataclasses.replace(settings, fast_paths="off"))


def test_tested_versions_are_the_installed_pins() -> None:
    """Bumping a pin (pyproject.toml, the lock) without re-running both modes and updating
    `TESTED_WITH` fails here, rather than logging a warning in production."""
    assert version_drift(fastpaths.TESTED_WITH) == {}
    assert DB_TESTED_WITH.items() <= fastpaths.TESTED_WITH.items()


@pytest.mark.parametrize(
    "module",
    [
        "api.fastpaths.execution",
        "api.fastpaths.fanout",
        "api.fastpaths.ws_protocol",
        "api.fastpaths.inbox",
        "api.fastpaths.document_cache",
        "db.fastpaths.reads",
    ],
)
def test_each_fast_path_says_what_it_replaces_and_was_tested_with(module: str) -> None:
    docstring = __import__(module, fromlist=["_"]).__doc__ or ""

    assert "Replaces:" in docstring
    assert "Tested with:" in docstring
    assert "Figure" in docstring


async def test_searches_nested_fields_and_errors_answer_alike(pair: Pair) -> None:
    alice, chavenay = await member(pair, "Alice", CHAVENAY)
    bob, _ = await member(pair, "Bob", {"lng": 1.995, "lat": 48.852})
    for title, category in [
        ("Perceuse à percussion", "TOOLS"),
        ("Scie sauteuse", "TOOLS"),
        ("Tondeuse", "GARDEN"),
        ("Perceuse sans fil", "TOOLS"),
    ]:
        created = await pair.gql.signed_in(alice).data(
            CREATE_ITEM, {"input": item(title, category)}
        )
        assert created["createItem"]["__typename"] == "CreateItemSuccess", created
    for title in ("Fête des voisins", "Ramassage des feuilles"):
        await pair.gql.signed_in(bob).data(
            CREATE_POST, {"input": {"kind": "DISCUSSION", "title": title}}
        )
    garden = {"kind": "COMMUNITY", "name": "Jardin du lavoir", "plotsTotal": 12}
    await pair.gql.signed_in(alice).data(CREATE_GARDEN, {"input": garden})

    first = await pair.same(LENDERS, {"near": CHAVENAY, "first": 2}, bob)
    assert len(first["data"]["nearestLenders"]["edges"]) == 2
    after = first["data"]["nearestLenders"]["pageInfo"]["endCursor"]
    await pair.same(LENDERS, {"near": CHAVENAY, "first": 2, "after": after}, bob)
    await pair.same(LENDERS, {"near": CHAVENAY, "query": "perceuses"}, bob)
    await pair.same(LENDERS, {"near": CHAVENAY, "category": "GARDEN", "max": 5_000})
    await pair.same(LENDERS, {"near": CHAVENAY})  # anonymous
    await pair.same(POSTS_NEAR, {"near": CHAVENAY, "first": 1}, alice)
    await pair.same(POSTS_NEAR, {"near": CHAVENAY, "kinds": ["DISCUSSION", "OFFER"]}, alice)
    await pair.same(GARDENS_NEAR, {"near": CHAVENAY}, bob)
    feed = await pair.same(FEED, {"id": chavenay}, alice)
    assert len(feed["data"]["neighbourhood"]["posts"]["edges"]) == 2, feed
    await pair.same(FEED, {"id": chavenay})  # a stranger: counts suppressed, posts hidden
    await pair.same(ME, token=alice)
    await pair.same(ME)
    item_id = first["data"]["nearestLenders"]["edges"][0]["node"]["id"]
    await pair.same(NODE, {"id": item_id}, bob)
    await pair.same(ALIASED, {"near": CHAVENAY}, bob)
    await pair.same("{ __typename }")
    await pair.same(INTROSPECTION)

    # Errors: user errors, validation, syntax, refusals before execution.
    bad_cursor = await pair.same(LENDERS, {"near": CHAVENAY, "after": "not-a-cursor"}, bob)
    assert bad_cursor["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", bad_cursor
    await pair.same(LENDERS, {"near": CHAVENAY, "max": 10}, bob)
    await pair.same(LENDERS, {"near": {"lng": 200, "lat": 48.85}}, bob)
    await pair.same(LENDERS, {"near": CHAVENAY, "first": -1}, bob)
    await pair.same(NODE, {"id": "bm9wZTox"}, bob)
    await pair.same("{ nearestLenders { edges } }")
    await pair.same("{ me { nope } }")
    await pair.same("{ me { ")
    deep = await pair.same(TOO_DEEP, token=alice)
    assert deep["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP", deep
    costly = await pair.same(TOO_COSTLY, {"near": CHAVENAY}, alice)
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", costly
    await pair.same("query A { __typename } query B { __typename }")


async def test_mutations_answer_alike(pair: Pair) -> None:
    alice, _ = await member(pair, "Alice", CHAVENAY)

    await pair.same(CREATE_ITEM, {"input": item("")}, alice)
    await pair.same(CREATE_ITEM, {"input": item("Perceuse")})  # signed out
    await pair.same(CREATE_POST, {"input": {"kind": "EVENT", "title": "Vide-grenier"}}, alice)
    await pair.same(REGISTER, {"name": "Encore", **CHAVENAY}, alice)  # already has a household

    on, off = await pair.same_write(CREATE_ITEM, {"input": item("Escabeau")}, alice)
    assert on["data"]["createItem"]["item"]["id"] != off["data"]["createItem"]["item"]["id"]
    await pair.same_write(CREATE_POST, {"input": {"kind": "DISCUSSION", "title": "Bonjour"}}, alice)
    # Both rows are now visible to both modes alike.
    await pair.same(LENDERS, {"near": CHAVENAY}, alice)


async def test_live_posts_reach_subscribers_alike(pair: Pair) -> None:
    alice, chavenay = await member(pair, "Alice", CHAVENAY)
    bob, _ = await member(pair, "Bob", {"lng": 1.995, "lat": 48.852})
    documents: list[tuple[str, dict[str, Any]]] = [
        (SUBSCRIBE, {"nid": chavenay}),
        (WITH_FRAGMENT, {"nid": chavenay, "withTitle": True}),
        (WITH_FRAGMENT, {"nid": chavenay, "withTitle": False}),
    ]
    tallies = {side: Tally() for side in ("on", "off")}
    clients: dict[str, list[MemoryClient]] = {"on": [], "off": []}
    for name, side in (("on", pair.on), ("off", pair.off)):
        for number, (query, variables) in enumerate(documents):
            client = MemoryClient(side.app, tallies[name], keep=True)
            await client.open(
                bob, None, query=query, variables=variables, operation_id=f"s{number}"
            )
            clients[name].append(client)
    for side in (pair.on, pair.off):
        for _ in range(100):
            if len(side.app.state.broadcaster.subscribers) >= len(documents):
                break
            await asyncio.sleep(0.05)

    # One real post: its NOTIFY reaches both applications' listeners.
    created = await pair.gql.signed_in(alice).data(
        CREATE_POST, {"input": {"kind": "DISCUSSION", "title": "Qui a une échelle ?"}}
    )
    assert created["createPost"]["__typename"] == "CreatePostSuccess"
    for tally in tallies.values():
        await tally.wait_for(len(documents), timeout_s=15)
    await asyncio.sleep(0.05)
    for side_clients in clients.values():
        await asyncio.gather(*(client.close() for client in side_clients))

    def nexts(client: MemoryClient) -> list[str]:
        return [text for text in client.texts if '"next"' in text]

    on = [nexts(client) for client in clients["on"]]
    off = [nexts(client) for client in clients["off"]]
    assert [len(frames) for frames in on] == [1, 1, 1]
    assert on == off
    live = json.loads(on[0][0])["payload"]["data"]["postCreated"]
    assert live["title"] == "Qui a une échelle ?"

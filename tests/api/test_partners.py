"""Partner API keys: scopes, granted neighbourhoods, territory, rotation, revocation, persisted
operations and aggregate figures, through the real endpoint."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.api.test_neighbourhoods import REGISTER, square

pytestmark = pytest.mark.usefixtures("clean_db")

CREATE_KEY = """
mutation ($input: CreatePartnerKeyInput!) {
  createPartnerKey(input: $input) {
    __typename
    ... on PartnerKeySecret { secret key { id name scopes } }
    ... on MutationError { code message }
  }
}
"""
ROTATE = """mutation ($id: ID!, $grace: Int!) { rotatePartnerKey(id: $id, graceHours: $grace) {
  __typename ... on PartnerKeySecret { secret } } }"""
REVOKE = "mutation ($id: ID!) { revokePartnerKey(id: $id) { __typename } }"
REGISTER_OP = """mutation ($key: ID!, $doc: String!) { registerPersistedOperation(keyId: $key,
  document: $doc) { __typename ... on RegisterPersistedOperationSuccess { sha256Hash } } }"""
CREATE_POST = """mutation ($title: String!) { createPost(input: {kind: DISCUSSION, title: $title}) {
  __typename } }"""
FEED = """query ($id: ID!) { neighbourhood(id: $id) { name posts(first: 5) { edges { node { title } } } } }"""
STATS = """query ($id: ID!) { neighbourhoodStats(id: $id, months: 2) { memberCount
  months { month newHouseholds posts loans } } }"""


class World:
    """Two neighbourhoods (Chavenay-like and Paris-like) with one post each, and an admin."""

    def __init__(self, gql: GraphQLClient) -> None:
        self.gql = gql

    async def build(self, engine: AsyncEngine) -> World:
        self.admin = await self.gql.sign_up()
        await promote_to_admin(engine, self.admin)
        self.here, self.here_id = await self.member("Famille Martin", 1.99, 48.85)
        self.there, self.there_id = await self.member("Famille Durand", 2.35, 48.86)
        await self.here.data(CREATE_POST, {"title": "Fête des voisins samedi"})
        await self.there.data(CREATE_POST, {"title": "Vide-grenier à Paris"})
        return self

    async def member(self, name: str, lng: float, lat: float) -> tuple[GraphQLClient, str]:
        client = await self.gql.sign_up()
        data = await client.data(REGISTER, {"name": name, "lng": lng, "lat": lat})
        return client, data["registerHousehold"]["neighbourhood"]["id"]

    async def key(self, **input: Any) -> tuple[str, str]:
        data = await self.admin.data(CREATE_KEY, {"input": {"name": "Mairie", **input}})
        created = data["createPartnerKey"]
        assert created["__typename"] == "PartnerKeySecret", created
        return created["secret"], created["key"]["id"]

    def partner(self, secret: str) -> GraphQLClient:
        client = GraphQLClient(self.gql.http)
        client.headers = {"x-api-key": secret}
        return client


async def assert_invalid_key(
    client: GraphQLClient, query: str, variables: dict[str, Any] | None = None
) -> None:
    """A dead key is refused with 401 INVALID_API_KEY, not served as an anonymous reader."""
    response = await client.http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=client.headers
    )
    assert response.status_code == 401, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INVALID_API_KEY"
    assert "unknown, revoked or expired" in error["message"]


@pytest.fixture
async def world(gql: GraphQLClient, clean_db: AsyncEngine) -> World:
    return await World(gql).build(clean_db)


async def test_a_key_reads_the_neighbourhoods_granted_and_nothing_else(world: World) -> None:
    secret, _ = await world.key(scopes=["READ_NEIGHBOURHOODS"], neighbourhoodIds=[world.here_id])
    partner = world.partner(secret)
    granted = await partner.execute(FEED, {"id": world.here_id})
    assert granted["data"]["neighbourhood"]["posts"]["edges"] == [
        {"node": {"title": "Fête des voisins samedi"}}
    ]
    other = await partner.execute(FEED, {"id": world.there_id})
    assert other["data"]["neighbourhood"]["posts"] is None
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_partner_key_cannot_write(world: World) -> None:
    secret, _ = await world.key(scopes=["READ_NEIGHBOURHOODS"], neighbourhoodIds=[world.here_id])
    data = await world.partner(secret).data(CREATE_POST, {"title": "Au nom de la mairie"})
    assert data["createPost"]["__typename"] == "UnauthenticatedError"


async def test_a_territory_grants_the_neighbourhoods_inside_it(world: World) -> None:
    secret, _ = await world.key(scopes=["READ_NEIGHBOURHOODS"], territory=square(1.99, 48.85, 0.1))
    partner = world.partner(secret)
    inside = await partner.execute(FEED, {"id": world.here_id})
    outside = await partner.execute(FEED, {"id": world.there_id})
    assert inside["data"]["neighbourhood"]["posts"]["edges"]
    assert outside["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_aggregates_key_sees_figures_not_people(world: World) -> None:
    secret, _ = await world.key(scopes=["READ_AGGREGATES"], neighbourhoodIds=[world.here_id])
    partner = world.partner(secret)
    stats = (await partner.data(STATS, {"id": world.here_id}))["neighbourhoodStats"]
    assert stats["memberCount"] == 1
    assert len(stats["months"]) == 2
    assert stats["months"][-1]["posts"] == 1 and stats["months"][-1]["newHouseholds"] == 1
    feed = await partner.execute(FEED, {"id": world.here_id})
    assert feed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await partner.execute(STATS, {"id": world.there_id})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rotation_keeps_the_old_secret_for_the_grace_period_only(world: World) -> None:
    old, key_id = await world.key(scopes=["READ_AGGREGATES"], neighbourhoodIds=[world.here_id])
    new = (await world.admin.data(ROTATE, {"id": key_id, "grace": 1}))["rotatePartnerKey"]["secret"]
    for secret in (old, new):
        assert "errors" not in await world.partner(secret).execute(STATS, {"id": world.here_id})
    newest = (await world.admin.data(ROTATE, {"id": key_id, "grace": 0}))["rotatePartnerKey"]
    await assert_invalid_key(world.partner(new), STATS, {"id": world.here_id})
    assert "errors" not in await world.partner(newest["secret"]).execute(
        STATS, {"id": world.here_id}
    )


async def test_a_revoked_key_is_refused_with_invalid_api_key(world: World) -> None:
    secret, key_id = await world.key(scopes=["READ_AGGREGATES"], neighbourhoodIds=[world.here_id])
    assert (await world.admin.data(REVOKE, {"id": key_id}))["revokePartnerKey"]["__typename"] == (
        "RevokePartnerKeySuccess"
    )
    await assert_invalid_key(world.partner(secret), STATS, {"id": world.here_id})


async def test_only_admins_create_keys_and_secrets_are_stored_hashed(
    world: World, clean_db: AsyncEngine
) -> None:
    denied = await world.here.data(CREATE_KEY, {"input": {"name": "x", "scopes": ["READ_PUBLIC"]}})
    assert denied["createPartnerKey"]["code"] == "FORBIDDEN"
    secret, _ = await world.key(scopes=["READ_PUBLIC"])
    async with clean_db.connect() as conn:
        stored = (await conn.execute(text("SELECT secret_hash FROM partner_keys"))).scalar_one()
    assert bytes(stored) == hashlib.sha256(secret.encode()).digest()


async def test_persisted_operations_by_hash_and_the_safelist(world: World) -> None:
    secret, key_id = await world.key(
        scopes=["READ_AGGREGATES"], neighbourhoodIds=[world.here_id], safelistOnly=True
    )
    registered = await world.admin.data(REGISTER_OP, {"key": key_id, "doc": STATS})
    sha = registered["registerPersistedOperation"]["sha256Hash"]
    assert sha == hashlib.sha256(STATS.encode()).hexdigest()
    partner = world.partner(secret)
    by_hash = await partner.http.post(
        "/graphql",
        json={
            "variables": {"id": world.here_id},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}},
        },
        headers=partner.headers,
    )
    assert by_hash.json()["data"]["neighbourhoodStats"]["memberCount"] == 1
    assert (await partner.execute(STATS, {"id": world.here_id}))[
        "data"
    ] is not None  # registered text
    unregistered = await partner.execute("{ __typename }")
    assert unregistered["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    unknown = await partner.http.post(
        "/graphql",
        json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
        headers=partner.headers,
    )
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("secret", ["vsn_not_a_key", "   ", "x" * 300])
async def test_an_unknown_or_malformed_key_is_refused_with_invalid_api_key(
    gql: GraphQLClient, secret: str
) -> None:
    partner = GraphQLClient(gql.http)
    partner.headers = {"x-api-key": secret}
    await assert_invalid_key(partner, "{ __typename }")


async def test_a_key_beside_a_valid_token_is_ignored(gql: GraphQLClient) -> None:
    member = await gql.sign_up()
    member.headers["x-api-key"] = "vsn_not_a_key"
    assert (await member.data("{ me { displayName } }"))["me"]["displayName"] == "Voisin"

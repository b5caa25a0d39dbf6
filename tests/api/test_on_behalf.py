"""A partner key with POST_ON_BEHALF posts for a household that authorised it, and only then;
it gains no read access by doing so. Through the real endpoint, with the X-API-Key header."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Post
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member, node_id
from tests.api.test_partners import World
from tests.api.test_posts import CHAVENAY, FEED, NODE

pytestmark = pytest.mark.usefixtures("clean_db")

ON_BEHALF = """mutation ($household: ID!, $title: String!) {
  createPost(input: {kind: DISCUSSION, title: $title, body: "Place de l'église, 20 h."},
             onBehalfOf: $household) {
    __typename
    ... on CreatePostSuccess { post { id title postedVia } }
    ... on MutationError { code message } } }"""
AUTHORISE = """mutation ($key: ID!) { authorisePartner(partnerKeyId: $key) {
  __typename ... on PartnerAuthorisationChanged { authorisation { partnerName revokedAt } }
  ... on MutationError { code message } } }"""
REVOKE = """mutation ($key: ID!) { revokePartnerAuthorisation(partnerKeyId: $key) {
  __typename ... on PartnerAuthorisationChanged { authorisation { revokedAt } }
  ... on MutationError { code message } } }"""
LISTED = "{ myPartnerAuthorisations { partnerKeyId partnerName revokedAt } }"
CURRENT = "{ currentPartnerKey { id name scopes } }"


class Scene:
    """A Chavenay household, and the town hall's key (POST_ON_BEHALF only)."""

    async def build(self, gql: GraphQLClient, engine: AsyncEngine) -> Scene:
        self.world = await World(gql).build(engine)
        self.engine = engine
        self.household = await member(gql, "Famille Lefèvre", {"lng": 1.991, "lat": 48.851})
        me = await self.household.data("{ me { household { id neighbourhood { id } } } }")
        self.household_id = me["me"]["household"]["id"]
        self.neighbourhood_id = me["me"]["household"]["neighbourhood"]["id"]
        secret, self.key_id = await self.world.key(scopes=["POST_ON_BEHALF"])
        self.partner = self.world.partner(secret)
        return self

    async def authorise(self, key_id: str | None = None) -> Any:
        data = await self.household.data(AUTHORISE, {"key": key_id or self.key_id})
        return data["authorisePartner"]

    async def post(self, partner: GraphQLClient | None = None, **variables: Any) -> Any:
        values = {"household": self.household_id, "title": "Concert de la Saint-Jean"}
        data = await (partner or self.partner).data(ON_BEHALF, {**values, **variables})
        return data["createPost"]

    async def post_count(self) -> int:
        async with self.engine.connect() as conn:
            query = select(func.count()).select_from(Post)
            return int((await conn.execute(query)).scalar_one())


@pytest.fixture
async def scene(gql: GraphQLClient, clean_db: AsyncEngine) -> Scene:
    return await Scene().build(gql, clean_db)


async def test_an_authorised_partner_posts_for_the_household(scene: Scene) -> None:
    current = (await scene.partner.data(CURRENT))["currentPartnerKey"]
    assert current == {"id": scene.key_id, "name": "Mairie", "scopes": ["POST_ON_BEHALF"]}
    granted = await scene.authorise(current["id"])
    assert granted["authorisation"] == {"partnerName": "Mairie", "revokedAt": None}

    written = await scene.post()
    assert written["__typename"] == "CreatePostSuccess", written
    assert written["post"]["postedVia"] == "Mairie"
    feed = (await scene.household.data(FEED, {"id": scene.neighbourhood_id}))["neighbourhood"]
    assert [edge["node"]["title"] for edge in feed["posts"]["edges"]] == [
        "Concert de la Saint-Jean",  # newest first
        "Fête des voisins samedi",
    ]
    via = "query ($id: ID!) { node(id: $id) { ... on Post { postedVia } } }"
    read = await scene.household.data(via, {"id": written["post"]["id"]})
    assert read["node"] == {"postedVia": "Mairie"}
    async with scene.engine.connect() as conn:
        row = (
            await conn.execute(
                select(Post.account_id, Post.household_id, Post.posted_via_key_id).where(
                    Post.id == node_id(written["post"]["id"])
                )
            )
        ).one()
    assert row == (None, node_id(scene.household_id), node_id(scene.key_id))


async def test_posting_gives_the_partner_no_read_access(scene: Scene) -> None:
    await scene.authorise()
    written = await scene.post()
    feed = await scene.partner.execute(FEED, {"id": scene.neighbourhood_id})
    assert feed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await scene.partner.data(NODE, {"id": written["post"]["id"]}))["node"] is None
    household = "query ($id: ID!) { node(id: $id) { ... on Household { name } } }"
    assert (await scene.partner.data(household, {"id": scene.household_id}))["node"] is None


async def test_a_key_without_the_scope_is_refused(scene: Scene) -> None:
    secret, key_id = await scene.world.key(scopes=["READ_PUBLIC"])
    refused = await scene.authorise(key_id)
    assert refused["code"] == "NOT_FOUND"  # nothing to authorise: the key cannot post
    result = await scene.post(scene.world.partner(secret))
    assert result["code"] == "FORBIDDEN" and "POST_ON_BEHALF" in result["message"]
    assert await scene.post_count() == 2  # the two posts of the World, nothing more


async def test_a_household_that_did_not_authorise_is_refused(scene: Scene) -> None:
    other = await member(scene.world.gql, "Famille Bernard", CHAVENAY)
    other_id = (await other.data("{ me { household { id } } }"))["me"]["household"]["id"]
    await scene.authorise()  # Lefèvre authorised; Bernard did not
    result = await scene.post(household=other_id)
    assert result["code"] == "FORBIDDEN"
    assert await scene.post_count() == 2


async def test_after_revocation_the_partner_is_refused(scene: Scene) -> None:
    await scene.authorise()
    withdrawn = (await scene.household.data(REVOKE, {"key": scene.key_id}))[
        "revokePartnerAuthorisation"
    ]
    assert withdrawn["authorisation"]["revokedAt"] is not None
    listed = (await scene.household.data(LISTED))["myPartnerAuthorisations"]
    assert [(a["partnerName"], a["revokedAt"] is not None) for a in listed] == [("Mairie", True)]
    result = await scene.post()
    assert result["code"] == "FORBIDDEN" and "withdrawn" in result["message"]
    assert await scene.post_count() == 2
    again = await scene.household.data(REVOKE, {"key": scene.key_id})
    assert again["revokePartnerAuthorisation"]["code"] == "NOT_FOUND"
    assert (await scene.authorise())["authorisation"]["revokedAt"] is None  # granted anew
    assert (await scene.post())["__typename"] == "CreatePostSuccess"


async def test_only_partner_keys_post_on_behalf(scene: Scene) -> None:
    await scene.authorise()
    as_member = await scene.post(scene.household)
    assert as_member["code"] == "FORBIDDEN"
    anonymous = await scene.post(scene.world.gql)
    assert anonymous["code"] == "FORBIDDEN"
    assert await scene.post_count() == 2


async def test_authorising_needs_a_household(scene: Scene) -> None:
    homeless = await scene.world.gql.sign_up()
    result = (await homeless.data(AUTHORISE, {"key": scene.key_id}))["authorisePartner"]
    assert result["code"] == "NOT_A_MEMBER"
    anonymous = (await scene.world.gql.data(AUTHORISE, {"key": scene.key_id}))["authorisePartner"]
    assert anonymous["code"] == "UNAUTHENTICATED"
    assert (await scene.world.gql.data(LISTED))["myPartnerAuthorisations"] == []

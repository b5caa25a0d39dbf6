"""What a partner key sees of itself, and its own posts: currentPartnerKey's neighbourhoods,
territory and authorising households; partnerPosts and deletePartnerPost."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from tests.api.conftest import GraphQLClient
from tests.api.helpers import counting_client
from tests.api.test_neighbourhoods import square
from tests.api.test_on_behalf import Scene
from tests.api.test_partners import World

pytestmark = pytest.mark.usefixtures("clean_db")

CURRENT = """{ currentPartnerKey { id name scopes hasTerritory territory
  neighbourhoods { id name } authorisingHouseholds { id name } } }"""
POSTS = """query ($after: String) { partnerPosts(first: 1, after: $after) {
  edges { cursor node { id title postedVia } } pageInfo { hasNextPage endCursor } } }"""
DELETE = """mutation ($id: ID!) { deletePartnerPost(id: $id) { __typename
  ... on DeletePartnerPostSuccess { deletedPostId } ... on MutationError { code message } } }"""
KEYS = "{ partnerKeys { name neighbourhoods { id } authorisingHouseholds { name } territory } }"


@pytest.fixture
async def scene(gql: GraphQLClient, clean_db: AsyncEngine) -> Scene:
    return await Scene().build(gql, clean_db)


async def test_a_key_sees_its_scopes_neighbourhoods_and_territory(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    world = await World(gql).build(clean_db)
    territory = square(1.99, 48.85, 0.05)
    secret, key_id = await world.key(scopes=["READ_NEIGHBOURHOODS"], territory=territory)
    current = (await world.partner(secret).data(CURRENT))["currentPartnerKey"]
    assert current["id"] == key_id
    assert current["scopes"] == ["READ_NEIGHBOURHOODS"]
    assert current["hasTerritory"] is True
    assert current["territory"]["type"] in {"Polygon", "MultiPolygon"}
    assert [n["id"] for n in current["neighbourhoods"]] == [world.here_id]  # not Paris
    assert current["authorisingHouseholds"] == []
    # Admins listing keys see territories, not the key's own view.
    listed = (await world.admin.data(KEYS))["partnerKeys"]
    assert listed[0]["neighbourhoods"] is None
    assert listed[0]["authorisingHouseholds"] is None
    assert listed[0]["territory"] is not None


async def test_a_key_lists_the_households_that_authorised_it(scene: Scene) -> None:
    await scene.authorise()
    current = (await scene.partner.data(CURRENT))["currentPartnerKey"]
    assert current["authorisingHouseholds"] == [
        {"id": scene.household_id, "name": "Famille Lefèvre"}
    ]


async def test_a_key_reads_and_deletes_its_own_posts(scene: Scene) -> None:
    await scene.authorise()
    first = (await scene.post(title="Concert de la Saint-Jean"))["post"]
    second = (await scene.post(title="Marché de Noël"))["post"]
    page = (await scene.partner.data(POSTS))["partnerPosts"]
    assert [edge["node"]["title"] for edge in page["edges"]] == ["Marché de Noël"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await scene.partner.data(POSTS, {"after": page["pageInfo"]["endCursor"]}))[
        "partnerPosts"
    ]
    assert [edge["node"]["title"] for edge in rest["edges"]] == ["Concert de la Saint-Jean"]
    assert rest["edges"][0]["node"]["postedVia"] == "Mairie"

    deleted = (await scene.partner.data(DELETE, {"id": second["id"]}))["deletePartnerPost"]
    assert deleted == {"__typename": "DeletePartnerPostSuccess", "deletedPostId": second["id"]}
    assert await scene.post_count() == 3  # the world's two posts and the first
    again = (await scene.partner.data(DELETE, {"id": second["id"]}))["deletePartnerPost"]
    assert again["code"] == "NOT_FOUND"
    remaining = (await scene.partner.data(POSTS))["partnerPosts"]["edges"]
    assert [edge["node"]["id"] for edge in remaining] == [first["id"]]


async def test_a_key_cannot_delete_a_post_it_did_not_write(scene: Scene) -> None:
    written = await scene.household.data(
        'mutation { createPost(input: {kind: DISCUSSION, title: "Chat perdu"}) {'
        " ... on CreatePostSuccess { post { id } } } }"
    )
    post_id = written["createPost"]["post"]["id"]
    before = await scene.post_count()
    refused = (await scene.partner.data(DELETE, {"id": post_id}))["deletePartnerPost"]
    assert refused["code"] == "NOT_FOUND"
    assert await scene.post_count() == before
    body = await scene.partner.execute(DELETE, {"id": "not-an-id"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_partner_reads_need_a_key(gql: GraphQLClient) -> None:
    assert (await gql.data("{ currentPartnerKey { id } }"))["currentPartnerKey"] is None
    body = await gql.execute(POSTS)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    denied = (await gql.data(DELETE, {"id": "UG9zdDox"}))["deletePartnerPost"]
    assert denied["code"] == "UNAUTHENTICATED"


async def test_partner_posts_run_as_many_statements_for_one_post_as_for_many(
    scene: Scene, settings: Settings
) -> None:
    await scene.authorise()
    for title in ("Concert", "Marché", "Brocante", "Conseil municipal"):
        await scene.post(title=title)
    secret = scene.partner.headers["x-api-key"]
    page = """query ($n: Int!) { partnerPosts(first: $n) {
      edges { node { id title postedVia neighbourhood { name } } } } }"""

    async def statements_for(first: int) -> int:
        async with counting_client(settings) as (anonymous, statements):
            anonymous.headers = {"x-api-key": secret}
            statements.clear()
            data = await anonymous.data(page, {"n": first})
            assert len(data["partnerPosts"]["edges"]) == first
            return len(statements)

    assert await statements_for(1) == await statements_for(4)

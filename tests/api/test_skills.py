"""Skills households offer, visible to their neighbourhood only, through the real endpoint.

Chavenay (lng 1.99, lat 48.85) and Maule (lng 1.8547, lat 48.9097), 12 km apart, land in
different neighbourhoods (their H3 cells), so a swap or a leak across networks fails loudly.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import skills as skill_queries
from tests.api.conftest import GraphQLClient, promote_to_admin

pytestmark = pytest.mark.usefixtures("clean_db")

CHAVENAY = {"lng": 1.99, "lat": 48.85}
CHAVENAY_CHURCH = {"lng": 1.98731, "lat": 48.85417}
MAULE = {"lng": 1.8547, "lat": 48.9097}

REGISTER = """
mutation Register($name: String!, $lng: Float!, $lat: Float!) {
  registerHousehold(input: {name: $name, location: {lng: $lng, lat: $lat}}) {
    ... on RegisterHouseholdSuccess { neighbourhood { id } }
  }
}
"""

OFFER = """
mutation Offer($title: String!, $description: String! = "", $tags: [String!]! = []) {
  offerSkill(input: {title: $title, description: $description, tags: $tags}) {
    __typename
    ... on OfferSkillSuccess {
      skill { id title description tags household { name } neighbourhood { id } }
    }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""

REMOVE = """
mutation Remove($id: ID!) {
  removeSkill(id: $id) {
    __typename
    ... on RemoveSkillSuccess { removedSkillId }
    ... on MutationError { code message }
  }
}
"""

SKILLS = """
query Skills($neighbourhood: ID!, $tag: String, $first: Int, $after: String) {
  skills(neighbourhoodId: $neighbourhood, tag: $tag, first: $first, after: $after) {
    edges { cursor node { id title tags household { name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def household(
    gql: GraphQLClient, name: str, home: dict[str, float]
) -> tuple[GraphQLClient, str]:
    """(a member signed in, their neighbourhood's global ID)."""
    member = await gql.sign_up(name=name)
    data = await member.data(REGISTER, {"name": name, **home})
    neighbourhood_id: str = data["registerHousehold"]["neighbourhood"]["id"]
    return member, neighbourhood_id


async def offer(client: GraphQLClient, title: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(OFFER, {"title": title, **variables}))["offerSkill"]
    return result


async def titles(client: GraphQLClient, neighbourhood: str, tag: str | None = None) -> list[str]:
    data = await client.data(SKILLS, {"neighbourhood": neighbourhood, "tag": tag})
    return [edge["node"]["title"] for edge in data["skills"]["edges"]]


async def test_offered_skills_are_listed_to_neighbours_with_normalised_tags(
    gql: GraphQLClient,
) -> None:
    cyclist, neighbourhood = await household(gql, "Famille Martin", CHAVENAY)
    neighbour, same = await household(gql, "Famille Durand", CHAVENAY_CHURCH)
    assert same == neighbourhood

    result = await offer(
        cyclist,
        "Réparation de vélos",
        description="Crevaisons, freins, dérailleurs ; le samedi matin.",
        tags=["Vélo", " réparation ", "#vélo", "VÉLO"],
    )
    assert result["__typename"] == "OfferSkillSuccess"
    skill = result["skill"]
    assert skill["tags"] == ["vélo", "réparation"]
    assert skill["household"] == {"name": "Famille Martin"}
    assert skill["neighbourhood"] == {"id": neighbourhood}
    await offer(neighbour, "Cours de guitare", tags=["musique", "guitare"])

    assert await titles(neighbour, neighbourhood) == ["Cours de guitare", "Réparation de vélos"]
    assert await titles(neighbour, neighbourhood, tag="VÉLO") == ["Réparation de vélos"]
    assert await titles(neighbour, neighbourhood, tag="#Guitare ") == ["Cours de guitare"]
    assert await titles(neighbour, neighbourhood, tag="couture") == []


async def test_skills_stay_inside_their_neighbourhood(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tailor, chavenay = await household(gql, "Famille Martin", CHAVENAY)
    faraway, maule = await household(gql, "Famille Leroy", MAULE)
    assert maule != chavenay
    skill_id = (await offer(tailor, "Couture", tags=["couture"]))["skill"]["id"]
    await offer(faraway, "Cours de piano")

    refused = await faraway.execute(SKILLS, {"neighbourhood": chavenay})
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "NOT_A_MEMBER"
    assert "Couture" not in str(refused)
    assert await titles(faraway, maule) == ["Cours de piano"]
    node = await faraway.execute(
        "query ($id: ID!) { node(id: $id) { ... on Skill { title } } }", {"id": skill_id}
    )
    assert node == {"data": {"node": None}}

    anonymous = await gql.execute(SKILLS, {"neighbourhood": chavenay})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    admin = await gql.sign_up()
    await promote_to_admin(clean_db, admin)
    assert await titles(admin, chavenay) == ["Couture"]


async def test_only_the_offering_household_removes_its_skill(gql: GraphQLClient) -> None:
    owner, neighbourhood = await household(gql, "Famille Martin", CHAVENAY)
    neighbour, _ = await household(gql, "Famille Durand", CHAVENAY_CHURCH)
    stranger, _ = await household(gql, "Famille Leroy", MAULE)
    skill_id = (await offer(owner, "Couture"))["skill"]["id"]

    by_neighbour = (await neighbour.data(REMOVE, {"id": skill_id}))["removeSkill"]
    assert (by_neighbour["__typename"], by_neighbour["code"]) == ("ForbiddenError", "FORBIDDEN")
    by_stranger = (await stranger.data(REMOVE, {"id": skill_id}))["removeSkill"]
    assert (by_stranger["__typename"], by_stranger["code"]) == ("NotFoundError", "NOT_FOUND")
    assert await titles(owner, neighbourhood) == ["Couture"]

    removed = (await owner.data(REMOVE, {"id": skill_id}))["removeSkill"]
    assert removed == {"__typename": "RemoveSkillSuccess", "removedSkillId": skill_id}
    assert await titles(owner, neighbourhood) == []
    again = (await owner.data(REMOVE, {"id": skill_id}))["removeSkill"]
    assert again["__typename"] == "NotFoundError"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "Couture", "tags": [f"tag{index}" for index in range(11)]}, "tags"),
        ({"title": "Couture", "tags": ["fil, aiguille"]}, "tags"),
        ({"title": "Couture", "tags": ["#"]}, "tags"),
        ({"title": "Couture", "tags": ["x" * 41]}, "tags"),
        ({"title": "Couture", "description": "x" * 2001}, "description"),
    ],
)
async def test_invalid_skills_are_refused_and_nothing_is_written(
    gql: GraphQLClient, clean_db: AsyncEngine, variables: dict[str, Any], field: str
) -> None:
    member, _ = await household(gql, "Famille Martin", CHAVENAY)
    result = (await member.data(OFFER, variables))["offerSkill"]
    assert (result["__typename"], result["field"]) == ("ValidationError", field)
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM skills"))).scalar_one() == 0


async def test_offering_needs_an_account_and_a_household(gql: GraphQLClient) -> None:
    anonymous = await offer(gql, "Couture")
    assert anonymous["__typename"] == "UnauthenticatedError"
    homeless = await offer(await gql.sign_up(), "Couture")
    assert (homeless["__typename"], homeless["code"]) == ("ForbiddenError", "FORBIDDEN")


async def test_skills_page_newest_first_without_repeats(gql: GraphQLClient) -> None:
    member, neighbourhood = await household(gql, "Famille Martin", CHAVENAY)
    for index in range(5):
        await offer(member, f"Compétence {index}", tags=["atelier"])
    seen: list[str] = []
    after = None
    while True:
        variables = {"neighbourhood": neighbourhood, "tag": "atelier", "first": 2, "after": after}
        page = (await member.data(SKILLS, variables))["skills"]
        seen += [edge["node"]["title"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Compétence {index}" for index in reversed(range(5))]


async def test_tag_filter_is_served_by_the_gin_index(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    member, neighbourhood = await household(gql, "Famille Martin", CHAVENAY)
    await offer(member, "Couture", tags=["couture"])
    async with clean_db.begin() as conn:  # a network that offers a lot, one of it sewing
        await conn.execute(
            text(
                "INSERT INTO skills (household_id, title, tags) "
                "SELECT household_id, 'Atelier ' || n, ARRAY['atelier' || (n % 500)] "
                "FROM skills, generate_series(1, 5000) AS n"
            )
        )
        await conn.execute(text("ANALYZE skills"))
    nid = int(base64.b64decode(neighbourhood).decode().split(":")[1])
    statement = skill_queries.neighbourhood_skills_query(nid, tag="couture", limit=10, after=None)
    compiled = statement.compile(clean_db.sync_engine, compile_kwargs={"literal_binds": True})
    async with clean_db.connect() as conn:
        plan = "\n".join(str(row[0]) for row in await conn.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_skills_tags" in plan, plan
    assert await titles(member, neighbourhood, tag="couture") == ["Couture"]

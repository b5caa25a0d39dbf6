"""Items to lend and `nearestLenders`, through the real GraphQL endpoint on real PostGIS.

Places are real: Chavenay (lng 1.99, lat 48.85) and Maule, a village about 12 km to the
north-west (lng 1.8547, lat 48.9097), so that a lng/lat swap or a degree-for-metre mix-up fails.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from api.types.item import ItemCategory, ItemCondition, ItemTerms
from db.models import ITEM_CATEGORIES, ITEM_CONDITIONS, ITEM_TERMS
from db.queries import items as item_queries
from geo.coords import LngLat
from tests.api.conftest import GraphQLClient
from tests.api.helpers import counting_client, node_id
from tests.api.helpers import member as lender

pytestmark = pytest.mark.usefixtures("clean_db")

CHAVENAY = {"lng": 1.99, "lat": 48.85}
TOWN_HALL = {"lng": 1.98676, "lat": 48.85330}  # Mairie de Chavenay
MAULE = {"lng": 1.8547, "lat": 48.9097}  # ~12 km north-west of Chavenay

CREATE_ITEM = """
mutation Create($input: CreateItemInput!) {
  createItem(input: $input) {
    __typename
    ... on CreateItemSuccess {
      item {
        id title category condition terms depositCents pricePerDayCents photoUrls available
        lender { name neighbourhood { id name } }
        neighbourhood { id }
      }
    }
    ... on ValidationError { code message field }
    ... on UnauthenticatedError { code }
    ... on ForbiddenError { code message }
  }
}
"""

SEARCH = """
query Search($near: LocationInput!, $category: ItemCategory, $query: String, $first: Int,
             $after: String, $max: Int) {
  nearestLenders(near: $near, category: $category, query: $query, first: $first, after: $after,
                 maxDistanceMeters: $max) {
    searchedRadiusMeters
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges {
      cursor distanceMeters
      node { id title available lender { name neighbourhood { id name } } neighbourhood { name } }
    }
  }
}
"""

SET_AVAILABILITY = """
mutation Set($id: ID!, $available: Boolean!) {
  updateItemAvailability(id: $id, available: $available) {
    __typename
    ... on UpdateItemAvailabilitySuccess { item { available } }
    ... on MutationError { code message }
  }
}
"""

DELETE_ITEM = """
mutation Delete($id: ID!) {
  deleteItem(id: $id) {
    __typename
    ... on DeleteItemSuccess { deletedItemId }
    ... on MutationError { code message }
  }
}
"""


def item_input(title: str, **overrides: Any) -> dict[str, Any]:
    return {
        "title": title,
        "description": "",
        "category": "TOOLS",
        "condition": "GOOD",
        "terms": "FREE",
        **overrides,
    }


async def lend(member: GraphQLClient, title: str, **overrides: Any) -> dict[str, Any]:
    data = await member.data(CREATE_ITEM, {"input": item_input(title, **overrides)})
    result: dict[str, Any] = data["createItem"]
    assert result["__typename"] == "CreateItemSuccess", result
    item: dict[str, Any] = result["item"]
    return item


async def search(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    variables.setdefault("near", CHAVENAY)
    data = await gql.data(SEARCH, variables)
    result: dict[str, Any] = data["nearestLenders"]
    return result


def titles(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in result["edges"]]


async def household_ids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT id FROM households ORDER BY id"))
        return [int(value) for value in result.scalars()]


async def test_lending_lists_the_item_available_with_its_lender_and_neighbourhood(
    gql: GraphQLClient,
) -> None:
    member = await lender(gql, "Famille Martin", CHAVENAY)
    item = await lend(
        member,
        "Perceuse à percussion",
        terms="PRICE_PER_DAY",
        pricePerDayCents=300,
        depositCents=5000,
        photoUrls=["HTTPS://photos.example/perceuse.jpg"],
    )
    assert item["available"] is True
    assert item["terms"] == "PRICE_PER_DAY"
    assert (item["pricePerDayCents"], item["depositCents"]) == (300, 5000)
    assert item["photoUrls"] == ["https://photos.example/perceuse.jpg"]
    assert item["lender"]["name"] == "Famille Martin"
    assert item["neighbourhood"]["id"] == item["lender"]["neighbourhood"]["id"]
    assert item["lender"]["neighbourhood"]["name"] == "Secteur 871fb47aeffffff"


async def test_anonymous_visitors_cannot_lend(gql: GraphQLClient) -> None:
    data = await gql.data(CREATE_ITEM, {"input": item_input("Perceuse")})
    assert data["createItem"] == {"__typename": "UnauthenticatedError", "code": "UNAUTHENTICATED"}


async def test_an_account_without_a_household_cannot_lend(gql: GraphQLClient) -> None:
    member = await gql.sign_up()
    data = await member.data(CREATE_ITEM, {"input": item_input("Perceuse")})
    assert data["createItem"]["code"] == "FORBIDDEN"
    assert "registerHousehold" in data["createItem"]["message"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"terms": "FREE", "depositCents": 1000}, "depositCents"),
        ({"terms": "DEPOSIT"}, "depositCents"),
        ({"terms": "DEPOSIT", "depositCents": 0}, "depositCents"),
        ({"terms": "DEPOSIT", "depositCents": 1000, "pricePerDayCents": 100}, "pricePerDayCents"),
        ({"terms": "PRICE_PER_DAY"}, "pricePerDayCents"),
        ({"photoUrls": ["http://photos.example/a.jpg"]}, "photoUrls"),
        ({"photoUrls": ["javascript:alert(1)"]}, "photoUrls"),
        ({"photoUrls": ["https://photos.example/a b.jpg"]}, "photoUrls"),
        ({"photoUrls": [f"https://photos.example/{n}.jpg" for n in range(9)]}, "photoUrls"),
        ({"title": "   "}, "title"),
        ({"description": "x" * 2001}, "description"),
    ],
)
async def test_refuses_inputs_that_break_the_item_rules(
    gql: GraphQLClient, overrides: dict[str, Any], field: str
) -> None:
    member = await lender(gql, "Famille Martin", CHAVENAY)
    data = await member.data(CREATE_ITEM, {"input": {**item_input("Perceuse"), **overrides}})
    result = data["createItem"]
    assert result["__typename"] == "ValidationError", result
    assert (result["code"], result["field"]) == ("BAD_USER_INPUT", field)


async def test_french_search_ignores_accents_and_plurals(gql: GraphQLClient) -> None:
    member = await lender(gql, "Famille Martin", CHAVENAY)
    await lend(member, "Perceuses à percussion", description="Deux perceuses Bosch.")
    await lend(member, "Tondeuse électrique", category="GARDEN")
    await lend(member, "Échelle télescopique", category="LADDERS")

    assert titles(await search(gql, query="perceuse")) == ["Perceuses à percussion"]
    assert titles(await search(gql, query="tondeuse")) == ["Tondeuse électrique"]
    assert titles(await search(gql, query="electrique")) == ["Tondeuse électrique"]
    assert titles(await search(gql, query="échelles")) == ["Échelle télescopique"]
    assert titles(await search(gql, query="bosch")) == ["Perceuses à percussion"]
    assert titles(await search(gql, query="tronçonneuse")) == []


async def test_a_query_of_stop_words_only_does_not_filter(gql: GraphQLClient) -> None:
    member = await lender(gql, "Famille Martin", CHAVENAY)
    await lend(member, "Perceuse")
    assert titles(await search(gql, query="le")) == ["Perceuse"]


async def test_category_filter_keeps_only_that_category(gql: GraphQLClient) -> None:
    member = await lender(gql, "Famille Martin", CHAVENAY)
    await lend(member, "Perceuse", category="TOOLS")
    await lend(member, "Tondeuse", category="GARDEN")
    await lend(member, "Sécateur", category="GARDEN")

    result = await search(gql, category="GARDEN")
    assert sorted(titles(result)) == ["Sécateur", "Tondeuse"]


async def test_unavailable_items_are_left_out(gql: GraphQLClient) -> None:
    member = await lender(gql, "Famille Martin", CHAVENAY)
    lent = await lend(member, "Perceuse")
    await lend(member, "Tondeuse")
    changed = await member.data(SET_AVAILABILITY, {"id": lent["id"], "available": False})
    assert changed["updateItemAvailability"]["item"] == {"available": False}

    assert titles(await search(gql)) == ["Tondeuse"]


async def test_a_radius_below_the_floor_is_refused_naming_the_floor(gql: GraphQLClient) -> None:
    body = await gql.execute(SEARCH, {"near": CHAVENAY, "max": 100})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "maxDistanceMeters"
    assert "500" in error["message"]


async def test_a_radius_above_the_ceiling_is_refused(gql: GraphQLClient) -> None:
    body = await gql.execute(SEARCH, {"near": CHAVENAY, "max": 50_001})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "50000" in body["errors"][0]["message"]


async def test_excludes_lenders_outside_max_distance(gql: GraphQLClient) -> None:
    near = await lender(gql, "Famille Martin", CHAVENAY)
    far = await lender(gql, "Famille Durand", MAULE)
    await lend(near, "Perceuse de Chavenay")
    await lend(far, "Perceuse de Maule")

    result = await search(gql, max=5_000)
    assert titles(result) == ["Perceuse de Chavenay"]
    assert result["searchedRadiusMeters"] == 5_000


async def test_a_village_lender_12_km_away_is_found_nearest_first(gql: GraphQLClient) -> None:
    far = await lender(gql, "Famille Durand", MAULE)
    near = await lender(gql, "Famille Martin", CHAVENAY)
    await lend(far, "Perceuse de Maule")
    await lend(near, "Perceuse de Chavenay")

    result = await search(gql)
    assert titles(result) == ["Perceuse de Chavenay", "Perceuse de Maule"]
    chavenay, maule = (edge["distanceMeters"] for edge in result["edges"])
    assert chavenay <= 400  # the public point is 150-400 m from the home
    assert 11_000 <= maule <= 13_000  # metres on the sphere, not degrees
    assert result["searchedRadiusMeters"] == 50_000  # fewer than `first`: up to the ceiling
    assert result["pageInfo"]["hasNextPage"] is False


async def test_widening_search_reports_the_radius_that_filled_the_page(
    gql: GraphQLClient,
) -> None:
    far = await lender(gql, "Famille Durand", MAULE)
    await lend(far, "Perceuse de Maule")
    await lend(far, "Scie de Maule")

    one = await search(gql, first=1)
    assert len(one["edges"]) == 1
    assert one["searchedRadiusMeters"] == 25_000
    assert one["pageInfo"]["hasNextPage"] is True

    near = await lender(gql, "Famille Martin", CHAVENAY)
    await lend(near, "Perceuse de Chavenay")
    assert (await search(gql, first=1))["searchedRadiusMeters"] == 2_000


async def test_search_crosses_neighbourhood_borders(gql: GraphQLClient) -> None:
    near = await lender(gql, "Famille Martin", CHAVENAY)
    far = await lender(gql, "Famille Durand", MAULE)
    await lend(near, "Perceuse de Chavenay")
    await lend(far, "Perceuse de Maule")

    viewer = await lender(gql, "Famille Petit", TOWN_HALL)
    result = await search(viewer)
    neighbourhoods = {edge["node"]["lender"]["neighbourhood"]["id"] for edge in result["edges"]}
    assert len(result["edges"]) == 2
    assert len(neighbourhoods) == 2


async def test_only_the_owner_can_change_availability(gql: GraphQLClient) -> None:
    owner = await lender(gql, "Famille Martin", CHAVENAY)
    neighbour = await lender(gql, "Famille Petit", TOWN_HALL)
    item = await lend(owner, "Perceuse")
    variables = {"id": item["id"], "available": False}

    refused = (await neighbour.data(SET_AVAILABILITY, variables))["updateItemAvailability"]
    anonymous = (await gql.data(SET_AVAILABILITY, variables))["updateItemAvailability"]
    assert refused["code"] == "FORBIDDEN"
    assert anonymous["code"] == "UNAUTHENTICATED"
    assert titles(await search(gql)) == ["Perceuse"]

    done = (await owner.data(SET_AVAILABILITY, variables))["updateItemAvailability"]
    assert done == {"__typename": "UpdateItemAvailabilitySuccess", "item": {"available": False}}
    assert titles(await search(gql)) == []


async def test_only_the_owner_can_delete_an_item(gql: GraphQLClient) -> None:
    owner = await lender(gql, "Famille Martin", CHAVENAY)
    neighbour = await lender(gql, "Famille Petit", TOWN_HALL)
    item = await lend(owner, "Perceuse")

    refused = (await neighbour.data(DELETE_ITEM, {"id": item["id"]}))["deleteItem"]
    assert refused["code"] == "FORBIDDEN"
    deleted = (await owner.data(DELETE_ITEM, {"id": item["id"]}))["deleteItem"]
    assert deleted == {"__typename": "DeleteItemSuccess", "deletedItemId": item["id"]}
    again = (await owner.data(DELETE_ITEM, {"id": item["id"]}))["deleteItem"]
    assert again["code"] == "NOT_FOUND"
    assert (await gql.data("query($id: ID!) { node(id: $id) { id } }", item))["node"] is None


async def test_an_id_of_another_type_is_refused(gql: GraphQLClient) -> None:
    owner = await lender(gql, "Famille Martin", CHAVENAY)
    household = base64.b64encode(b"Household:1").decode()
    result = (await owner.data(DELETE_ITEM, {"id": household}))["deleteItem"]
    assert result["code"] == "INVALID_ID"


async def test_no_response_contains_a_lender_location(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    owner = await lender(gql, "Mairie de Chavenay", TOWN_HALL)
    item = await lend(owner, "Perceuse")
    async with clean_db.connect() as conn:
        public = (
            await conn.execute(
                text("SELECT ST_X(public_location), ST_Y(public_location) FROM items")
            )
        ).one()
    secrets = {
        f"{TOWN_HALL['lng']:.4f}",
        f"{TOWN_HALL['lat']:.4f}",
        f"{public[0]:.4f}",
        f"{public[1]:.4f}",
    }
    everything = """
    query($near: LocationInput!, $id: ID!) {
      nearestLenders(near: $near) {
        edges { cursor distanceMeters node { ...item } }
        pageInfo { endCursor startCursor }
      }
      node(id: $id) { ...item }
    }
    fragment item on Item {
      id title description category condition terms depositCents pricePerDayCents photoUrls
      available createdAt
      lender { name neighbourhood { id name kind h3Cell communeCode } }
      neighbourhood { id name }
    }
    """
    viewer = await lender(gql, "Famille Petit", CHAVENAY)
    for client in (gql, viewer):
        response = await client.http.post(
            "/graphql",
            json={"query": everything, "variables": {"near": CHAVENAY, "id": item["id"]}},
            headers=client.headers,
        )
        body = response.json()
        assert "errors" not in body, body
        assert not [secret for secret in secrets if secret in response.text]
        for edge in body["data"]["nearestLenders"]["edges"]:
            # A cursor holds the item id only: an exact distance would undo the rounding.
            padded = edge["cursor"] + "=" * (-len(edge["cursor"]) % 4)
            assert json.loads(base64.urlsafe_b64decode(padded)) == ["i", node_id(item["id"])]


async def test_pages_neither_repeat_nor_skip_when_a_nearer_item_appears(
    gql: GraphQLClient,
) -> None:
    for step in range(1, 5):  # households 2.2 to 8.8 km east of Chavenay
        member = await lender(gql, f"Famille {step}", {"lng": 1.99 + 0.03 * step, "lat": 48.85})
        for copy in range(1, 3 if step != 2 else 5):  # one household with four items (ties)
            await lend(member, f"Objet {step}.{copy}")
    expected = titles(await search(gql, first=100))
    assert len(expected) == 10

    seen: list[str] = []
    after = None
    nearer = await lender(gql, "Famille Proche", CHAVENAY)
    while True:
        page = await search(gql, first=2, after=after)
        seen += titles(page)
        if after is None:
            await lend(nearer, "Objet tout proche")  # nearer than everything already shown
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    assert titles(await search(gql, first=1)) == ["Objet tout proche"]


async def test_a_cursor_from_elsewhere_is_refused(gql: GraphQLClient) -> None:
    body = await gql.execute(SEARCH, {"near": CHAVENAY, "after": "bm90LWEtY3Vyc29y"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_a_page_of_50_costs_a_constant_number_of_statements(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        for n in range(10):  # ten households in a few H3 cells: several neighbourhoods
            place = {"lng": 1.97 + 0.01 * (n % 5), "lat": 48.84 + 0.01 * (n // 5)}
            await lender(client, f"Famille {n}", place)
        async with clean_db.begin() as conn:
            for household_id in await household_ids(clean_db):
                for copy in range(6):
                    await item_queries.create_item(
                        conn,
                        household_id,
                        title=f"Objet {household_id}.{copy}",
                        description="",
                        category="TOOLS",
                        condition="GOOD",
                        terms="FREE",
                        deposit_cents=None,
                        price_per_day_cents=None,
                        photo_urls=[],
                    )
        viewer = await lender(client, "Famille Petit", CHAVENAY)

        counts = {}
        for first in (5, 50):
            statements.clear()
            result = await search(viewer, first=first)
            assert len(result["edges"]) == first
            counts[first] = len(statements)
        names = {edge["node"]["lender"]["neighbourhood"]["name"] for edge in result["edges"]}

    assert len(names) > 1
    assert counts[50] == counts[5] <= 6, statements


async def test_search_plan_walks_the_gist_index_in_distance_order(clean_db: AsyncEngine) -> None:
    async with clean_db.connect() as conn:  # closed without commit: the SET is rolled back
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        for options in (
            {"category": None, "query": None, "after": None},
            {"category": "TOOLS", "query": None, "after": (1234.5, 7)},
        ):
            statement = item_queries.nearest_lenders_query(
                LngLat(lng=1.99, lat=48.85), limit=11, max_distance_m=50_000, **options
            )
            compiled = statement.compile(dialect=conn.dialect)
            plan = "\n".join(
                (await conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)).scalars()
            )
            assert "ix_items_public_location_geog" in plan, plan
            assert "Order By: (geography(public_location) <->" in plan, plan
            assert "Sort" not in plan, plan


async def test_items_follow_their_household_when_its_public_location_moves(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    member = await lender(gql, "Famille Martin", CHAVENAY)
    await lend(member, "Perceuse")
    async with clean_db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE households SET public_location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)"
            ),
            MAULE,
        )
    result = await search(gql)
    assert 11_000 <= result["edges"][0]["distanceMeters"] <= 13_000


async def test_graphql_enums_match_the_database_checks() -> None:
    # Resolvers store the GraphQL name (`.name`); `from_row` reads the stored code back by value.
    for enum, codes in ((ItemCategory, ITEM_CATEGORIES), (ItemCondition, ITEM_CONDITIONS)):
        assert [member.name for member in enum] == list(codes)
        assert all(enum(code).name == code for code in codes)
    assert [member.name for member in ItemTerms] == list(ITEM_TERMS)
    assert all(ItemTerms(code).name == code for code in ITEM_TERMS)
    assert len(ITEM_CATEGORIES) == 30

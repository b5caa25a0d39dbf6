"""Neighbourhood rules through the real GraphQL endpoint on real PostGIS, with real places."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import GraphQLClient, promote_to_admin

pytestmark = pytest.mark.usefixtures("clean_db")

CHAVENAY = {"lng": 1.99, "lat": 48.85}

REGISTER = """
mutation Register($name: String!, $lng: Float!, $lat: Float!) {
  registerHousehold(input: {name: $name, location: {lng: $lng, lat: $lat}}) {
    __typename
    ... on RegisterHouseholdSuccess {
      household { id name exactLocation { lng lat } neighbourhood { id } }
      neighbourhood { id name kind h3Cell }
    }
    ... on ValidationError { code message field }
  }
}
"""

CREATE = """
mutation Create($name: String!, $boundary: GeoJSON!, $code: String) {
  createNeighbourhood(input: {name: $name, boundary: $boundary, communeCode: $code}) {
    __typename
    ... on NeighbourhoodChanged {
      neighbourhood { id name kind communeCode memberCount areaSquareMeters }
      householdsMovedIn householdsMovedOut
    }
    ... on ValidationError { code message field }
  }
}
"""

UPDATE = """
mutation Update($id: ID!, $boundary: GeoJSON!) {
  updateNeighbourhoodBoundary(id: $id, boundary: $boundary) {
    __typename
    ... on NeighbourhoodChanged { householdsMovedIn householdsMovedOut neighbourhood { memberCount } }
    ... on ValidationError { code message }
    ... on NotFoundError { code message }
  }
}
"""


def square(lng: float, lat: float, half: float) -> dict[str, Any]:
    """An axis-aligned square around (lng, lat), `half` degrees each way, RFC 7946 winding."""
    ring = [
        [lng - half, lat - half],
        [lng + half, lat - half],
        [lng + half, lat + half],
        [lng - half, lat + half],
        [lng - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


async def register(gql: GraphQLClient, name: str, lng: float, lat: float) -> dict[str, Any]:
    """Registers as a newly signed-up account (one household per account)."""
    member = await gql.sign_up()
    data = await member.data(REGISTER, {"name": name, "lng": lng, "lat": lat})
    result: dict[str, Any] = data["registerHousehold"]
    return result


async def create(
    gql: GraphQLClient, name: str, boundary: dict[str, Any], code: str | None = None
) -> dict[str, Any]:
    """Creates as `gql`, signing up first when `gql` is anonymous (the creator is ambassador)."""
    creator = gql if gql.headers else await gql.sign_up()
    data = await creator.data(CREATE, {"name": name, "boundary": boundary, "code": code})
    result: dict[str, Any] = data["createNeighbourhood"]
    return result


async def test_household_outside_every_polygon_lands_in_its_h3_cell(gql: GraphQLClient) -> None:
    result = await register(gql, "Famille Martin", **CHAVENAY)
    assert result["__typename"] == "RegisterHouseholdSuccess"
    neighbourhood = result["neighbourhood"]
    assert neighbourhood["kind"] == "H3_CELL"
    # Chavenay's resolution-7 cell: a lng/lat swap would land in the Indian Ocean's.
    assert neighbourhood["h3Cell"] == "871fb47aeffffff"
    assert neighbourhood["name"] == "Secteur 871fb47aeffffff"


async def test_registration_shows_the_exact_location_to_the_household_itself(
    gql: GraphQLClient,
) -> None:
    result = await register(gql, "Famille Martin", **CHAVENAY)
    assert result["household"]["exactLocation"] == CHAVENAY


async def test_household_inside_a_polygon_joins_it(gql: GraphQLClient) -> None:
    created = await create(gql, "Chavenay", square(1.99, 48.85, 0.01), "78152")
    result = await register(gql, "Famille Martin", **CHAVENAY)
    assert result["neighbourhood"]["id"] == created["neighbourhood"]["id"]
    assert result["neighbourhood"]["kind"] == "POLYGON"


async def test_point_on_the_border_counts_as_inside(gql: GraphQLClient) -> None:
    created = await create(gql, "Chavenay", square(1.99, 48.85, 0.01))
    result = await register(gql, "Au bord", 2.0, 48.85)  # exactly on the east edge
    assert result["neighbourhood"]["id"] == created["neighbourhood"]["id"]


async def test_smallest_covering_polygon_wins_whatever_the_order(gql: GraphQLClient) -> None:
    await create(gql, "Grand", square(1.99, 48.85, 0.05))
    small = await create(gql, "Petit", square(1.99, 48.85, 0.01))
    await create(gql, "Moyen", square(1.99, 48.85, 0.03))
    result = await register(gql, "Famille Martin", **CHAVENAY)
    assert result["neighbourhood"]["id"] == small["neighbourhood"]["id"]


async def test_equal_polygons_go_to_the_oldest(gql: GraphQLClient) -> None:
    first = await create(gql, "Premier", square(1.99, 48.85, 0.01))
    await create(gql, "Second", square(1.99, 48.85, 0.01))
    result = await register(gql, "Famille Martin", **CHAVENAY)
    assert result["neighbourhood"]["id"] == first["neighbourhood"]["id"]


async def test_creating_a_polygon_moves_households_in_and_leaves_the_cell_empty(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    before = await register(gql, "Famille Martin", **CHAVENAY)
    outside = await register(gql, "Loin", 1.90, 48.80)
    created = await create(gql, "Chavenay", square(1.99, 48.85, 0.01))
    assert created["householdsMovedIn"] == 1
    assert created["householdsMovedOut"] == 0
    assert created["neighbourhood"]["memberCount"] == 1
    async with clean_db.connect() as conn:
        cell_members = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM households h JOIN neighbourhoods n "
                    "ON n.id = h.neighbourhood_id WHERE n.h3_cell = :cell"
                ),
                {"cell": before["neighbourhood"]["h3Cell"]},
            )
        ).scalar_one()
        cell_exists = (
            await conn.execute(
                text("SELECT count(*) FROM neighbourhoods WHERE h3_cell = :cell"),
                {"cell": before["neighbourhood"]["h3Cell"]},
            )
        ).scalar_one()
    assert cell_members == 0
    assert cell_exists == 1  # an emptied H3_CELL neighbourhood stays
    assert outside["neighbourhood"]["kind"] == "H3_CELL"


async def test_shrinking_a_boundary_moves_households_out_to_their_cells(
    gql: GraphQLClient,
) -> None:
    ambassador = await gql.sign_up()
    created = await create(ambassador, "Chavenay", square(1.99, 48.85, 0.02))
    await register(gql, "Centre", **CHAVENAY)
    await register(gql, "Lisière", 2.005, 48.85)
    data = await ambassador.data(
        UPDATE, {"id": created["neighbourhood"]["id"], "boundary": square(1.99, 48.85, 0.01)}
    )
    result = data["updateNeighbourhoodBoundary"]
    assert result == {
        "__typename": "NeighbourhoodChanged",
        "householdsMovedIn": 0,
        "householdsMovedOut": 1,
        "neighbourhood": {"memberCount": 1},
    }
    at = await gql.data(
        "{ neighbourhoodAt(location: {lng: 2.005, lat: 48.85}) { kind neighbourhood { kind } } }"
    )
    assert at["neighbourhoodAt"] == {"kind": "H3_CELL", "neighbourhood": {"kind": "H3_CELL"}}


async def test_updating_an_unknown_neighbourhood_is_not_found(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    unknown = base64.b64encode(b"Neighbourhood:999999").decode()
    admin = await gql.sign_up()
    await promote_to_admin(clean_db, admin)
    data = await admin.data(UPDATE, {"id": unknown, "boundary": square(1.99, 48.85, 0.01)})
    assert data["updateNeighbourhoodBoundary"]["code"] == "NOT_FOUND"


async def test_two_concurrent_registrations_in_an_empty_cell_create_it_once(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    results = await asyncio.gather(
        register(gql, "Premier", 1.99, 48.85), register(gql, "Second", 1.9901, 48.8501)
    )
    assert results[0]["neighbourhood"]["id"] == results[1]["neighbourhood"]["id"]
    async with clean_db.connect() as conn:
        count = (
            await conn.execute(text("SELECT count(*) FROM neighbourhoods WHERE kind = 'H3_CELL'"))
        ).scalar_one()
    assert count == 1


PAGE = """
query ($first: Int!, $after: String) {
  neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: $first, after: $after) {
    edges { cursor distanceMeters node { name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_nearest_first_pages_never_repeat_or_skip(gql: GraphQLClient) -> None:
    creator = await gql.sign_up()
    for index in range(5):  # 0.05° of longitude apart, east of Chavenay
        await create(creator, f"N{index}", square(2.1 + 0.05 * index, 48.85, 0.01))
    seen: list[str] = []
    distances: list[int] = []
    after = None
    while True:
        page = (await gql.data(PAGE, {"first": 2, "after": after}))["neighbourhoods"]
        seen += [edge["node"]["name"] for edge in page["edges"]]
        distances += [edge["distanceMeters"] for edge in page["edges"]]
        if len(seen) == 2:  # a nearer network appears while the client pages
            await create(creator, "Nouveau", square(2.05, 48.85, 0.01))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["N0", "N1", "N2", "N3", "N4"]
    assert distances == sorted(distances)
    assert distances[0] == 7500  # ~7.3 km to the nearest edge, rounded to 500 m above 2 km


@pytest.mark.parametrize("type_name", ["Neighbourhood", "Household", "Garden", "Carpool", "Loan"])
async def test_node_with_a_non_numeric_key_is_null_like_a_missing_one(
    gql: GraphQLClient, type_name: str
) -> None:
    """Every type reads `node(id:)` keys the same way (api.validation.node_keys)."""
    for key in ("abc", "987654321"):
        node_id = base64.b64encode(f"{type_name}:{key}".encode()).decode()
        answer = await gql.execute("query ($id: ID!) { node(id: $id) { id } }", {"id": node_id})
        assert answer == {"data": {"node": None}}, (type_name, key, answer)

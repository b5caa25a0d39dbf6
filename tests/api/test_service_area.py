"""Locations outside the served territory are refused with OUTSIDE_SERVICE_AREA, and nothing is
written; swapped axes get a hint; SERVICE_AREA=world lifts the check."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import GraphQLClient
from tests.api.test_neighbourhoods import REGISTER

pytestmark = pytest.mark.usefixtures("clean_db")

AT = """
query At($lng: Float!, $lat: Float!) {
  neighbourhoodAt(location: {lng: $lng, lat: $lat}) {
    kind h3Cell outline neighbourhood { id name }
  }
}
"""
NEAR = """
query Near($lng: Float!, $lat: Float!) {
  neighbourhoods(near: {lng: $lng, lat: $lat}, first: 5) { edges { node { id } } }
}
"""
SWAPPED_CHAVENAY = {"lng": 48.85, "lat": 1.99}
LONDON = {"lng": -0.1276, "lat": 51.5072}


async def household_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM households"))).scalar() or 0)


async def test_registration_with_swapped_axes_is_refused_with_a_hint(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    member = await gql.sign_up()
    data = await member.data(REGISTER, {"name": "Famille Martin", **SWAPPED_CHAVENAY})
    result = data["registerHousehold"]
    assert result["__typename"] == "ValidationError"
    assert result["code"] == "OUTSIDE_SERVICE_AREA"
    assert "Latitude and longitude swapped?" in result["message"]
    assert "(lng 1.99, lat 48.85) is inside" in result["message"]
    assert await household_count(clean_db) == 0


async def test_registration_abroad_is_refused_without_a_hint(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    member = await gql.sign_up()
    data = await member.data(REGISTER, {"name": "Famille Smith", **LONDON})
    result = data["registerHousehold"]
    assert result["code"] == "OUTSIDE_SERVICE_AREA"
    assert "France" in result["message"]
    assert "swapped" not in result["message"]
    assert await household_count(clean_db) == 0


@pytest.mark.parametrize("query", [AT, NEAR])
async def test_queries_taking_a_location_refuse_points_outside(
    gql: GraphQLClient, query: str
) -> None:
    body = await gql.execute(query, SWAPPED_CHAVENAY)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "OUTSIDE_SERVICE_AREA"
    assert "swapped?" in error["message"]


async def test_neighbourhood_at_outlines_the_cell_a_first_home_would_create(
    gql: GraphQLClient,
) -> None:
    data = await gql.data(AT, {"lng": 1.99, "lat": 48.85})
    lookup = data["neighbourhoodAt"]
    assert lookup["neighbourhood"] is None
    assert lookup["kind"] == "H3_CELL"
    outline = lookup["outline"]
    assert outline["type"] == "Polygon"
    ring = outline["coordinates"][0]
    assert len(ring) == 7  # a hexagon, closed
    lngs = [lng for lng, _ in ring]
    lats = [lat for _, lat in ring]
    assert min(lngs) < 1.99 < max(lngs)  # lng/lat order: Chavenay is inside, not swapped
    assert min(lats) < 48.85 < max(lats)


async def test_neighbourhood_at_outlines_an_existing_network(gql: GraphQLClient) -> None:
    member = await gql.sign_up()
    await member.data(REGISTER, {"name": "Famille Martin", "lng": 1.99, "lat": 48.85})
    data = await gql.data(AT, {"lng": 1.99, "lat": 48.85})
    lookup = data["neighbourhoodAt"]
    assert lookup["neighbourhood"] is not None
    assert lookup["outline"]["type"] == "MultiPolygon"


@pytest.fixture
async def world_gql(settings: Settings, clean_db: AsyncEngine) -> AsyncIterator[GraphQLClient]:
    app = create_app(dataclasses.replace(settings, service_area="world"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield GraphQLClient(client)
    await app.state.reads.close()
    await app.state.engine.dispose()


async def test_a_world_deployment_accepts_any_valid_point(
    world_gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    member = await world_gql.sign_up()
    data = await member.data(REGISTER, {"name": "Famille Smith", **LONDON})
    assert data["registerHousehold"]["__typename"] == "RegisterHouseholdSuccess"
    assert await household_count(clean_db) == 1


LENDERS_BY_COMMUNE = """
query ($code: String!) {
  nearestLenders(near: {communeCode: $code}, first: 5) {
    edges { distanceMeters node { title } }
  }
}
"""
NEAR_COMMUNE = """
query ($code: String!) {
  neighbourhoods(near: {communeCode: $code}, first: 1) { edges { distanceMeters node { id } } }
}
"""


async def test_a_search_may_start_from_a_commune_town_hall(gql: GraphQLClient) -> None:
    member = await gql.sign_up()
    registered = await member.data(REGISTER, {"name": "Famille Martin", "lng": 1.99, "lat": 48.85})
    network = registered["registerHousehold"]["neighbourhood"]["id"]
    data = await gql.data(NEAR_COMMUNE, {"code": "78152"})  # Chavenay
    (edge,) = data["neighbourhoods"]["edges"]
    assert edge["node"]["id"] == network
    assert edge["distanceMeters"] < 3_000  # from the town hall, not from a far centroid
    lenders = await member.data(LENDERS_BY_COMMUNE, {"code": "78152"})
    assert lenders["nearestLenders"]["edges"] == []


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ({"communeCode": "99999"}, "BAD_USER_INPUT"),
        ({"communeCode": "78152", "lng": 1.99, "lat": 48.85}, "BAD_USER_INPUT"),
        ({"lng": 1.99}, "INVALID_COORDINATES"),
    ],
)
async def test_a_bad_commune_or_a_half_point_is_refused(
    gql: GraphQLClient, location: dict[str, object], code: str
) -> None:
    body = await gql.execute(
        "query ($at: LocationInput!) { neighbourhoodAt(location: $at) { kind } }", {"at": location}
    )
    assert body["errors"][0]["extensions"]["code"] == code


async def test_a_home_needs_its_point_not_a_commune(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    member = await gql.sign_up()
    data = await member.data(
        """mutation { registerHousehold(input: {name: "Famille Martin",
             location: {communeCode: "78152"}}) { __typename ... on ValidationError { code } } }"""
    )
    assert data["registerHousehold"] == {"__typename": "ValidationError", "code": "BAD_USER_INPUT"}
    assert await household_count(clean_db) == 0

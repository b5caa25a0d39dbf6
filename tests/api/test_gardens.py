"""Gardens, waiting lists and `gardensNear`, through the real GraphQL endpoint on real PostGIS.

Real places: Chavenay (lng 1.99, lat 48.85), Plaisir (1.95, 48.82, 4.4 km away), Versailles
(2.13, 48.80, 11.7 km) and Paris (2.35, 48.86, 26.4 km), so that an axis swap or a degree taken
for a metre fails.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from db.queries import gardens as garden_queries
from geo.coords import LngLat
from geo.routes import lnglat_to_area_centre
from tests.api.conftest import GraphQLClient
from tests.api.helpers import counting_client, member, node_id
from tests.api.test_neighbourhoods import square

pytestmark = pytest.mark.usefixtures("clean_db")

CHAVENAY = {"lng": 1.99, "lat": 48.85}
TOWN_HALL = {"lng": 1.98676, "lat": 48.85330}  # Mairie de Chavenay: a home with digits to spot
TOWN_HALL_PUBLIC = {"lng": 1.98413, "lat": 48.85561}  # as if displaced ~320 m at registration
PUBLIC_SECRETS = ("1.98413", "48.85561", "1.9841", "48.8556")
PLAISIR = {"lng": 1.95, "lat": 48.82}
VERSAILLES = {"lng": 2.13, "lat": 48.80}
PARIS = {"lng": 2.35, "lat": 48.86}

GARDEN_FIELDS = """
  id kind name description plotsTotal plotsFree waitlistLength myWaitlistPosition
  location { lng lat } exactLocation { lng lat } boundary
  owner { name neighbourhood { name } }
"""

CREATE = f"""
mutation Create($input: CreateGardenInput!) {{
  createGarden(input: $input) {{
    __typename
    ... on CreateGardenSuccess {{ garden {{ {GARDEN_FIELDS} }} }}
    ... on MutationError {{ code message }}
    ... on ValidationError {{ field }}
  }}
}}
"""

NEAR = f"""
query Near($near: LocationInput!, $first: Int, $after: String, $max: Int) {{
  gardensNear(near: $near, first: $first, after: $after, maxDistanceMeters: $max) {{
    searchedRadiusMeters
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
    edges {{ cursor distanceMeters node {{ {GARDEN_FIELDS} }} }}
  }}
}}
"""

JOIN = """
mutation Join($id: ID!) {
  joinGardenWaitlist(gardenId: $id) {
    __typename
    ... on JoinGardenWaitlistSuccess { position garden { waitlistLength myWaitlistPosition } }
    ... on MutationError { code message }
  }
}
"""

LEAVE = """
mutation Leave($id: ID!) {
  leaveGardenWaitlist(gardenId: $id) {
    __typename
    ... on LeaveGardenWaitlistSuccess { garden { waitlistLength myWaitlistPosition } }
    ... on MutationError { code message }
  }
}
"""

GARDEN = f"query($id: ID!) {{ node(id: $id) {{ ... on Garden {{ {GARDEN_FIELDS} }} }} }}"


def garden_input(name: str, /, **overrides: Any) -> dict[str, Any]:
    return {"kind": "COMMUNITY", "name": name, "plotsTotal": 12, **overrides}


async def create(client: GraphQLClient, name: str, /, **overrides: Any) -> dict[str, Any]:
    data = await client.data(CREATE, {"input": garden_input(name, **overrides)})
    result: dict[str, Any] = data["createGarden"]
    return result


async def garden(client: GraphQLClient, name: str, /, **overrides: Any) -> dict[str, Any]:
    result = await create(client, name, **overrides)
    assert result["__typename"] == "CreateGardenSuccess", result
    created: dict[str, Any] = result["garden"]
    return created


async def near(client: GraphQLClient, **variables: Any) -> dict[str, Any]:
    variables.setdefault("near", CHAVENAY)
    result: dict[str, Any] = (await client.data(NEAR, variables))["gardensNear"]
    return result


def names(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in result["edges"]]


async def test_a_drawn_community_garden_gets_a_point_inside_and_shows_its_boundary(
    gql: GraphQLClient,
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(
        owner, "Jardin partagé de Chavenay", boundary=square(**CHAVENAY, half=0.001)
    )
    assert created["plotsFree"] == 12  # defaults to every plot

    shown = (await gql.data(GARDEN, {"id": created["id"]}))["node"]  # anonymous visitor
    point = shown["exactLocation"]
    assert abs(point["lng"] - 1.99) < 0.001 and abs(point["lat"] - 48.85) < 0.001
    assert shown["location"] == point
    assert shown["boundary"]["type"] == "MultiPolygon"
    assert shown["boundary"]["coordinates"][0][0][0] == [1.989, 48.849]  # longitude first
    assert shown["owner"]["name"] == "Association des jardins"


async def move_public_location(engine: AsyncEngine, place: dict[str, float]) -> None:
    """Set every household's public point (drawn at random at registration) to `place`."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE households SET public_location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)"
            ),
            place,
        )


async def raw(client: GraphQLClient, query: str, variables: dict[str, Any]) -> tuple[Any, str]:
    """The `data` of a response, and the response's raw JSON text to search for coordinates."""
    response = await client.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=client.headers
    )
    return response.json()["data"], response.text


async def test_a_private_garden_is_shown_to_others_at_the_centre_of_its_area(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    owner = await member(gql, "Mairie de Chavenay", TOWN_HALL)
    await move_public_location(clean_db, TOWN_HALL_PUBLIC)  # digits to look for, ~320 m off
    created = await garden(
        owner,
        "Potager derrière la mairie",
        kind="PRIVATE",
        boundary=square(**TOWN_HALL, half=0.0002),
        plotsTotal=2,
    )
    assert created["exactLocation"] is not None  # the owner sees its own garden
    assert created["boundary"] is not None
    assert created["location"] == created["exactLocation"]
    centre = lnglat_to_area_centre(LngLat(**TOWN_HALL_PUBLIC))
    assert centre != LngLat(**TOWN_HALL_PUBLIC)

    neighbour = await member(gql, "Famille Petit", CHAVENAY)
    for client in (gql, neighbour):
        found, near_text = await raw(client, NEAR, {"near": CHAVENAY})
        edge = found["gardensNear"]["edges"][0]
        read, node_text = await raw(client, GARDEN, {"id": created["id"]})
        for shown in (edge["node"], read["node"]):
            assert shown["exactLocation"] is None and shown["boundary"] is None
            assert shown["location"] == {"lng": centre.lng, "lat": centre.lat}
        for body in (near_text, node_text):
            assert "1.9867" not in body and "48.853" not in body  # the garden, the home
            for secret in PUBLIC_SECRETS:  # the owner's public point, in any precision
                assert secret not in body, body
        assert edge["distanceMeters"] % 100 == 0
        padded = edge["cursor"] + "=" * (-len(edge["cursor"]) % 4)
        assert json.loads(base64.urlsafe_b64decode(padded)) == ["g", node_id(created["id"])]


async def test_a_private_garden_follows_its_owner_when_the_public_location_moves(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    owner = await member(gql, "Famille Martin", CHAVENAY)
    await garden(owner, "Verger des Martin", kind="PRIVATE", location=CHAVENAY)
    await move_public_location(clean_db, VERSAILLES)
    result = await near(gql)
    centre = lnglat_to_area_centre(LngLat(**VERSAILLES))
    assert result["edges"][0]["node"]["location"] == {"lng": centre.lng, "lat": centre.lat}
    assert result["edges"][0]["distanceMeters"] == 11_500
    mine = (await owner.data(GARDEN, {"id": result["edges"][0]["node"]["id"]}))["node"]
    assert mine["location"] == mine["exactLocation"] == CHAVENAY  # the owner: its own point


async def test_gardens_near_are_nearest_first_with_rounded_distances(gql: GraphQLClient) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    for name, place in (("Paris", PARIS), ("Versailles", VERSAILLES), ("Plaisir", PLAISIR)):
        await garden(owner, f"Jardin de {name}", location=place)
    result = await near(gql)
    assert names(result) == ["Jardin de Plaisir", "Jardin de Versailles", "Jardin de Paris"]
    assert [edge["distanceMeters"] for edge in result["edges"]] == [4_500, 11_500, 26_500]


async def test_excludes_gardens_beyond_max_distance(gql: GraphQLClient) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    await garden(owner, "Jardin de Plaisir", location=PLAISIR)
    await garden(owner, "Jardin de Versailles", location=VERSAILLES)
    result = await near(gql, max=10_000)
    assert names(result) == ["Jardin de Plaisir"]
    assert result["searchedRadiusMeters"] == 10_000


@pytest.mark.parametrize("radius", [0, 100, 499])
async def test_a_radius_below_the_floor_is_refused(gql: GraphQLClient, radius: int) -> None:
    body = await gql.execute(NEAR, {"near": CHAVENAY, "max": radius})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "500" in error["message"]


async def test_widening_search_reports_the_radius_that_filled_the_page(gql: GraphQLClient) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    assert (await near(gql))["searchedRadiusMeters"] == 50_000  # nothing: the ceiling
    for name, place in (("Plaisir", PLAISIR), ("Versailles", VERSAILLES), ("Paris", PARIS)):
        await garden(owner, f"Jardin de {name}", location=place)
    radii = [(await near(gql, first=first))["searchedRadiusMeters"] for first in (1, 2, 3, 4)]
    assert radii == [5_000, 25_000, 50_000, 50_000]


async def test_pages_never_repeat_or_skip(gql: GraphQLClient) -> None:
    owner = await member(gql, "Famille Martin", CHAVENAY)
    for step in range(1, 6):  # community gardens 0.7 to 3.7 km east, and private ones (ties)
        await garden(owner, f"Jardin {step}", location={"lng": 1.99 + 0.01 * step, "lat": 48.85})
        await garden(owner, f"Verger {step}", kind="PRIVATE", location=CHAVENAY)
    expected = names(await near(gql, first=100))
    assert len(expected) == 10
    seen: list[str] = []
    after = None
    while True:
        page = await near(gql, first=3, after=after)
        seen += names(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


async def test_a_cursor_of_another_search_is_refused(gql: GraphQLClient) -> None:
    body = await gql.execute(NEAR, {"near": CHAVENAY, "after": "WyJpIiwxXQ"})  # ["i",1]
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_waitlist_positions_follow_the_order_of_joining(gql: GraphQLClient) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé de Chavenay", location=CHAVENAY, plotsFree=0)
    waiting = [await member(gql, f"Famille {n}", CHAVENAY) for n in range(1, 4)]
    joined = [
        (await client.data(JOIN, {"id": created["id"]}))["joinGardenWaitlist"] for client in waiting
    ]
    assert [result["position"] for result in joined] == [1, 2, 3]
    assert joined[-1]["garden"] == {"waitlistLength": 3, "myWaitlistPosition": 3}

    again = (await waiting[0].data(JOIN, {"id": created["id"]}))["joinGardenWaitlist"]
    assert again["position"] == 1  # joining twice keeps the place

    left = (await waiting[1].data(LEAVE, {"id": created["id"]}))["leaveGardenWaitlist"]
    assert left["garden"] == {"waitlistLength": 2, "myWaitlistPosition": None}
    third = (await waiting[2].data(GARDEN, {"id": created["id"]}))["node"]
    assert third["myWaitlistPosition"] == 2
    assert (await owner.data(GARDEN, {"id": created["id"]}))["node"]["myWaitlistPosition"] is None
    assert (await gql.data(GARDEN, {"id": created["id"]}))["node"]["waitlistLength"] == 2


async def test_the_owner_cannot_queue_for_its_own_garden(gql: GraphQLClient) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé de Chavenay", location=CHAVENAY)
    result = (await owner.data(JOIN, {"id": created["id"]}))["joinGardenWaitlist"]
    assert result["code"] == "FORBIDDEN"


async def test_leaving_a_list_you_are_not_on_is_not_found(gql: GraphQLClient) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé de Chavenay", location=CHAVENAY)
    other = await member(gql, "Famille Petit", CHAVENAY)
    assert (await other.data(LEAVE, {"id": created["id"]}))["leaveGardenWaitlist"]["code"] == (
        "NOT_FOUND"
    )
    unknown = base64.b64encode(b"Garden:999999").decode()
    assert (await other.data(JOIN, {"id": unknown}))["joinGardenWaitlist"]["code"] == "NOT_FOUND"
    item = base64.b64encode(b"Item:1").decode()
    assert (await other.data(JOIN, {"id": item}))["joinGardenWaitlist"]["code"] == "INVALID_ID"


async def test_waitlists_need_a_signed_in_household(gql: GraphQLClient) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé de Chavenay", location=CHAVENAY)
    result = (await gql.data(JOIN, {"id": created["id"]}))["joinGardenWaitlist"]
    assert result["code"] == "UNAUTHENTICATED"
    homeless = await gql.sign_up()
    assert (await homeless.data(JOIN, {"id": created["id"]}))["joinGardenWaitlist"]["code"] == (
        "FORBIDDEN"
    )


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({}, "BAD_USER_INPUT", "location"),  # neither location nor boundary
        (
            {"location": CHAVENAY, "boundary": square(**CHAVENAY, half=0.001)},
            "BAD_USER_INPUT",
            "location",
        ),
        ({"location": CHAVENAY, "plotsTotal": 0}, "BAD_USER_INPUT", "plotsTotal"),
        ({"location": CHAVENAY, "plotsFree": 13}, "BAD_USER_INPUT", "plotsFree"),
        ({"location": CHAVENAY, "name": " "}, "BAD_USER_INPUT", "name"),
        ({"location": {"lng": 48.85, "lat": 91.0}}, "INVALID_COORDINATES", None),
        ({"boundary": square(**CHAVENAY, half=0.01)}, "GEOMETRY_TOO_LARGE", "boundary"),
    ],
)
async def test_refuses_bad_gardens_and_writes_nothing(
    gql: GraphQLClient,
    clean_db: AsyncEngine,
    overrides: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    result = await create(owner, "Jardin", **overrides)
    assert (result["code"], result["field"]) == (code, field), result
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM gardens"))).scalar_one() == 0


async def test_creating_a_garden_needs_a_signed_in_household(gql: GraphQLClient) -> None:
    assert (await create(gql, "Jardin", location=CHAVENAY))["code"] == "UNAUTHENTICATED"
    homeless = await gql.sign_up()
    assert (await create(homeless, "Jardin", location=CHAVENAY))["code"] == "FORBIDDEN"


async def test_a_page_of_50_costs_a_constant_number_of_statements(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        owners = [
            await member(client, f"Famille {n}", {"lng": 1.97 + 0.01 * n, "lat": 48.84})
            for n in range(5)
        ]
        for n in range(60):
            await garden(
                owners[n % 5], f"Jardin {n}", location={"lng": 1.99, "lat": 48.80 + n / 1000}
            )
        viewer = await member(client, "Famille Petit", CHAVENAY)
        counts = {}
        for first in (5, 50):
            statements.clear()
            result = await near(viewer, first=first)
            assert len(result["edges"]) == first
            counts[first] = len(statements)
    assert counts[50] == counts[5] <= 7, statements


async def test_search_plan_walks_the_gist_index_in_distance_order(clean_db: AsyncEngine) -> None:
    async with clean_db.connect() as conn:  # closed without commit: the SET is rolled back
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        for after in (None, (1234.5, 7)):
            statement = garden_queries.nearest_gardens_query(
                LngLat(lng=1.99, lat=48.85), limit=11, after=after, max_distance_m=50_000
            )
            compiled = statement.compile(dialect=conn.dialect)
            plan = "\n".join(
                (await conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)).scalars()
            )
            assert "ix_gardens_public_location_geog" in plan, plan
            assert "Order By: (geography(public_location) <->" in plan, plan
            assert "Sort" not in plan, plan

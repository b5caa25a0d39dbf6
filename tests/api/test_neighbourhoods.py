"""Neighbourhood rules through the real GraphQL endpoint on real PostGIS, with real places."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.bulk import reassign_all_in
from db.queries.neighbourhoods import PUBLIC_POINTS_INSIDE
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


MY_MOVE = """
{ myNeighbourhoodMove { kind h3Cell proposedAt neighbourhood { id name } } }
"""
ACCEPT = """
mutation ($id: ID) {
  acceptNeighbourhoodMove(neighbourhoodId: $id) {
    __typename
    ... on NeighbourhoodMoveAccepted { household { neighbourhood { id } } neighbourhood { id kind } }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
DECLINE = """
mutation ($id: ID) {
  declineNeighbourhoodMove(neighbourhoodId: $id) {
    __typename
    ... on NeighbourhoodMoveDeclined { neighbourhood { id } }
    ... on MutationError { code message }
  }
}
"""
MY_NEIGHBOURHOOD = "{ me { household { neighbourhood { id kind } } } }"


async def my_neighbourhood(client: GraphQLClient) -> dict[str, Any]:
    found: dict[str, Any] = (await client.data(MY_NEIGHBOURHOOD))["me"]["household"][
        "neighbourhood"
    ]
    return found


async def test_creating_a_polygon_invites_the_households_inside_and_moves_nobody(
    gql: GraphQLClient,
) -> None:
    resident = await gql.sign_up()
    before = (await resident.data(REGISTER, {"name": "Famille Martin", **CHAVENAY}))[
        "registerHousehold"
    ]
    outsider = await gql.sign_up()
    await outsider.data(REGISTER, {"name": "Loin", "lng": 1.90, "lat": 48.80})
    created = await create(gql, "Chavenay", square(1.99, 48.85, 0.01))
    assert created["householdsMovedIn"] == 0
    assert created["householdsMovedOut"] == 0
    assert created["neighbourhood"]["memberCount"] == 0  # its ambassador sees the exact count
    assert await my_neighbourhood(resident) == {
        "id": before["neighbourhood"]["id"],
        "kind": "H3_CELL",
    }
    move = (await resident.data(MY_MOVE))["myNeighbourhoodMove"]
    assert move["kind"] == "POLYGON"
    assert move["neighbourhood"] == {"id": created["neighbourhood"]["id"], "name": "Chavenay"}
    assert (await outsider.data(MY_MOVE))["myNeighbourhoodMove"] is None


async def test_accepting_the_invitation_moves_the_household_and_leaves_the_cell(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    resident = await gql.sign_up()
    before = (await resident.data(REGISTER, {"name": "Famille Martin", **CHAVENAY}))[
        "registerHousehold"
    ]
    created = await create(gql, "Chavenay", square(1.99, 48.85, 0.01))
    network = created["neighbourhood"]["id"]
    accepted = (await resident.data(ACCEPT, {"id": network}))["acceptNeighbourhoodMove"]
    assert accepted == {
        "__typename": "NeighbourhoodMoveAccepted",
        "household": {"neighbourhood": {"id": network}},
        "neighbourhood": {"id": network, "kind": "POLYGON"},
    }
    assert (await resident.data(MY_MOVE))["myNeighbourhoodMove"] is None
    again = (await resident.data(ACCEPT, {"id": network}))["acceptNeighbourhoodMove"]
    assert again["code"] == "NOT_FOUND"
    async with clean_db.connect() as conn:
        cell_exists = (
            await conn.execute(
                text("SELECT count(*) FROM neighbourhoods WHERE h3_cell = :cell"),
                {"cell": before["neighbourhood"]["h3Cell"]},
            )
        ).scalar_one()
    assert cell_exists == 1  # an emptied H3_CELL neighbourhood stays


async def test_declining_keeps_the_household_and_a_redraw_does_not_ask_again(
    gql: GraphQLClient,
) -> None:
    resident = await gql.sign_up()
    before = (await resident.data(REGISTER, {"name": "Famille Martin", **CHAVENAY}))[
        "registerHousehold"
    ]
    ambassador = await gql.sign_up()
    created = await create(ambassador, "Chavenay", square(1.99, 48.85, 0.01))
    network = created["neighbourhood"]["id"]
    declined = (await resident.data(DECLINE, {"id": network}))["declineNeighbourhoodMove"]
    assert declined == {
        "__typename": "NeighbourhoodMoveDeclined",
        "neighbourhood": {"id": before["neighbourhood"]["id"]},
    }
    await ambassador.data(UPDATE, {"id": network, "boundary": square(1.99, 48.85, 0.012)})
    assert (await resident.data(MY_MOVE))["myNeighbourhoodMove"] is None
    assert (await my_neighbourhood(resident))["id"] == before["neighbourhood"]["id"]
    accepted = (await resident.data(ACCEPT, {"id": network}))["acceptNeighbourhoodMove"]
    assert accepted["code"] == "NOT_FOUND"


async def test_an_operators_bulk_reassignment_moves_invited_households(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """`python -m api reassign` (an admin's tool) still moves, and withdraws the invitations."""
    resident = await gql.sign_up()
    await resident.data(REGISTER, {"name": "Famille Martin", **CHAVENAY})
    created = await create(gql, "Chavenay", square(1.99, 48.85, 0.01))
    async with clean_db.begin() as conn:
        counts = await reassign_all_in(conn)
    assert counts["moved"] == 1
    assert (await my_neighbourhood(resident))["id"] == created["neighbourhood"]["id"]
    assert (await resident.data(MY_MOVE))["myNeighbourhoodMove"] is None


async def test_counting_public_points_inside_a_boundary_is_served_by_the_homes_index(
    clean_db: AsyncEngine,
) -> None:
    """The exact points' GiST index narrows the candidates; the public points decide."""
    parameters = {"nid": 1, "dlng": 0.01, "dlat": 0.01, "own": None}
    async with clean_db.connect() as conn:  # closed without commit: the SET is rolled back
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        statement = text("EXPLAIN " + PUBLIC_POINTS_INSIDE.text)
        plan = "\n".join((await conn.execute(statement, parameters)).scalars())
    assert "ix_households_home_location" in plan, plan
    assert "Seq Scan on households" not in plan, plan
    assert "st_covers(n.boundary, public_location)" in plan.lower(), plan


async def test_the_drawers_own_household_moves_in_at_once(gql: GraphQLClient) -> None:
    drawer = await gql.sign_up()
    await drawer.data(REGISTER, {"name": "Famille Martin", **CHAVENAY})
    created = await create(drawer, "Chavenay", square(1.99, 48.85, 0.01))
    assert created["householdsMovedIn"] == 1
    assert created["neighbourhood"]["memberCount"] == 1
    assert (await my_neighbourhood(drawer))["id"] == created["neighbourhood"]["id"]


async def test_shrinking_a_boundary_invites_members_outside_to_their_cells(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    ambassador = await gql.sign_up()
    created = await create(ambassador, "Chavenay", square(1.99, 48.85, 0.02))
    network = created["neighbourhood"]["id"]
    await register(gql, "Centre", **CHAVENAY)
    edge = await gql.sign_up()
    await edge.data(REGISTER, {"name": "Lisière", "lng": 2.005, "lat": 48.85})
    data = await ambassador.data(UPDATE, {"id": network, "boundary": square(1.99, 48.85, 0.01)})
    result = data["updateNeighbourhoodBoundary"]
    assert result == {
        "__typename": "NeighbourhoodChanged",
        "householdsMovedIn": 0,
        "householdsMovedOut": 0,
        "neighbourhood": {"memberCount": 2},  # nobody left by force
    }
    move = (await edge.data(MY_MOVE))["myNeighbourhoodMove"]
    assert move["kind"] == "H3_CELL"
    assert move["neighbourhood"] is None  # the cell is created only if the household accepts
    async with clean_db.connect() as conn:
        cells = (
            await conn.execute(text("SELECT count(*) FROM neighbourhoods WHERE kind = 'H3_CELL'"))
        ).scalar_one()
    assert cells == 0
    neighbour = await register(gql, "Voisin de cellule", 2.006, 48.8501)  # creates the cell
    cell = neighbour["neighbourhood"]
    move = (await edge.data(MY_MOVE))["myNeighbourhoodMove"]
    assert (move["kind"], move["neighbourhood"]["id"]) == ("H3_CELL", cell["id"])
    accepted = (await edge.data(ACCEPT, {"id": cell["id"]}))["acceptNeighbourhoodMove"]
    assert accepted["neighbourhood"] == {"id": cell["id"], "kind": "H3_CELL"}
    at = await gql.data(
        "{ neighbourhoodAt(location: {lng: 2.005, lat: 48.85}) { kind neighbourhood { kind } } }"
    )
    assert at["neighbourhoodAt"] == {"kind": "H3_CELL", "neighbourhood": {"kind": "H3_CELL"}}


async def test_a_redraw_that_no_longer_covers_a_home_withdraws_its_invitation(
    gql: GraphQLClient,
) -> None:
    resident = await gql.sign_up()
    await resident.data(REGISTER, {"name": "Famille Martin", **CHAVENAY})
    ambassador = await gql.sign_up()
    created = await create(ambassador, "Chavenay", square(1.99, 48.85, 0.01))
    assert (await resident.data(MY_MOVE))["myNeighbourhoodMove"] is not None
    elsewhere = {"id": created["neighbourhood"]["id"], "boundary": square(2.05, 48.85, 0.01)}
    await ambassador.data(UPDATE, elsewhere)
    assert (await resident.data(MY_MOVE))["myNeighbourhoodMove"] is None


async def test_accepting_a_move_that_changed_meanwhile_is_refused(gql: GraphQLClient) -> None:
    resident = await gql.sign_up()
    before = (await resident.data(REGISTER, {"name": "Famille Martin", **CHAVENAY}))[
        "registerHousehold"
    ]
    creator = await gql.sign_up()
    large = await create(creator, "Grand", square(1.99, 48.85, 0.02))
    small = await create(creator, "Petit", square(1.99, 48.85, 0.01))  # the proposal follows
    refused = (await resident.data(ACCEPT, {"id": large["neighbourhood"]["id"]}))[
        "acceptNeighbourhoodMove"
    ]
    assert refused["code"] == "INVALID_TRANSITION"
    assert (await my_neighbourhood(resident))["id"] == before["neighbourhood"]["id"]
    move = (await resident.data(MY_MOVE))["myNeighbourhoodMove"]
    assert move["neighbourhood"]["id"] == small["neighbourhood"]["id"]


async def test_deciding_a_move_with_a_bad_id_is_a_clear_error_and_writes_nothing(
    gql: GraphQLClient,
) -> None:
    resident = await gql.sign_up()
    registered = (await resident.data(REGISTER, {"name": "Famille Martin", **CHAVENAY}))[
        "registerHousehold"
    ]
    await create(gql, "Chavenay", square(1.99, 48.85, 0.01))
    garbage = await resident.execute(ACCEPT, {"id": "not a global id"})
    assert garbage["errors"][0]["extensions"]["code"] == "INVALID_ID"
    wrong_type = (await resident.data(ACCEPT, {"id": registered["household"]["id"]}))[
        "acceptNeighbourhoodMove"
    ]
    assert (wrong_type["code"], wrong_type["field"]) == ("INVALID_ID", "neighbourhoodId")
    assert (await my_neighbourhood(resident))["kind"] == "H3_CELL"
    assert (await resident.data(MY_MOVE))["myNeighbourhoodMove"] is not None
    signed_out = (await gql.data(ACCEPT))["acceptNeighbourhoodMove"]
    assert signed_out["code"] == "UNAUTHENTICATED"
    homeless = (await (await gql.sign_up()).data(DECLINE))["declineNeighbourhoodMove"]
    assert homeless["code"] == "NOT_FOUND"


async def test_strangers_see_small_member_counts_as_null(gql: GraphQLClient) -> None:
    ambassador = await gql.sign_up()
    created = await create(ambassador, "Chavenay", square(1.99, 48.85, 0.01))
    query = "query ($id: ID!) { neighbourhood(id: $id) { memberCount } }"
    variables = {"id": created["neighbourhood"]["id"]}
    members = [
        await register(gql, f"Famille {index}", 1.99 + 0.001 * index, 48.85) for index in range(5)
    ]
    assert members[0]["neighbourhood"]["id"] == created["neighbourhood"]["id"]
    stranger = await gql.sign_up()
    assert (await stranger.data(query, variables))["neighbourhood"]["memberCount"] == 5
    assert (await ambassador.data(query, variables))["neighbourhood"]["memberCount"] == 5
    smaller = await create(ambassador, "Bourg", square(1.99, 48.85, 0.005))
    await register(gql, "Seule", 1.99, 48.8501)
    small = {"id": smaller["neighbourhood"]["id"]}
    assert (await stranger.data(query, small))["neighbourhood"]["memberCount"] is None
    assert (await gql.data(query, small))["neighbourhood"]["memberCount"] is None
    assert (await ambassador.data(query, small))["neighbourhood"]["memberCount"] == 1


async def test_drawing_is_limited_per_account_but_not_for_admins(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    drawer = await gql.sign_up()
    for index in range(3):
        assert (await create(drawer, f"N{index}", square(2.1 + 0.05 * index, 48.85, 0.01)))[
            "__typename"
        ] == "NeighbourhoodChanged"
    refused = await create(drawer, "N3", square(2.3, 48.85, 0.01))
    assert (refused["__typename"], refused["code"]) == (
        "ValidationError",
        "TOO_MANY_NEIGHBOURHOODS",
    )
    async with clean_db.connect() as conn:
        count = (
            await conn.execute(text("SELECT count(*) FROM neighbourhoods WHERE name = 'N3'"))
        ).scalar_one()
    assert count == 0
    await promote_to_admin(clean_db, drawer)
    allowed = await create(drawer, "N3", square(2.3, 48.85, 0.01))
    assert allowed["__typename"] == "NeighbourhoodChanged"


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


async def test_nearest_first_pages_never_repeat_or_skip(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    creator = await gql.sign_up()
    await promote_to_admin(clean_db, creator)  # past the quota of drawn networks
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

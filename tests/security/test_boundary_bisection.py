"""Drawing a network moves nobody by force and learns nothing (issue #13, item 1).

The attack this file plays, as code: a free account (no household) draws a network around a
household's public point, then halves it again and again, keeping the half where some count it
can see says the household is. Before the fix, 31 halvings ended a centimetre from the exact home,
and the smallest-polygon rule had moved the victim into the attacker's network meanwhile (the
attacker, its ambassador, then read the household and its skills).

The attacker reads every count the API shows it: every Int field of the mutation's payload
(found by introspection, so a count added later is read too), its network's `memberCount`, and
the `memberCount` of every network near the public point (`neighbourhoods(near:)`,
`neighbourhoodAt`). Before each probe it draws the network far away (where nobody lives), so an
observation depends on the probed half only, not on the previous one. It learns a half only when
the observation equals the one of the whole first box (victim inside) or of the far box (victim
outside); otherwise, or when a drawing is refused, it stops. Its estimate is the centre of the
last box it knew the home to be in.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo.coords import LngLat
from geo.distance import great_circle_m
from tests.api.conftest import GraphQLClient

pytestmark = pytest.mark.usefixtures("clean_db")

SAFE_DISTANCE_M = 150.0
"""The public point is never closer than this to the home (geo.privacy); nor may an attack be."""
VICTIM_HOME = LngLat(lng=1.99123, lat=48.85171)  # Chavenay
VICTIM_PUBLIC = LngLat(lng=1.99123, lat=48.85333)
"""Pinned 180 m north of the home (the smallest displacement is 150 m), so that the bound is tested
near its worst case rather than at a random displacement."""
FAR_AWAY = LngLat(lng=1.70, lat=48.70)  # fields west of Rambouillet: nobody registered there
START_HALF_DEGREES = 0.01  # the first box: 1.5 km × 2.2 km around the public point

REGISTER = """
mutation ($lng: Float!, $lat: Float!) {
  registerHousehold(input: {name: "Famille Victime", location: {lng: $lng, lat: $lat}}) {
    ... on RegisterHouseholdSuccess { household { id } neighbourhood { id } }
  }
}
"""
OFFER_SKILL = """
mutation { offerSkill(input: {title: "Cours de piano", description: "le mardi", tags: []}) {
  ... on OfferSkillSuccess { skill { id } }
} }
"""
PAYLOAD_FIELDS = """
{ __type(name: "NeighbourhoodChanged") { fields { name type { kind name ofType { name } } } } }
"""
NEARBY = """
query ($lng: Float!, $lat: Float!) {
  neighbourhoods(near: {lng: $lng, lat: $lat}, first: 20) { edges { node { id memberCount } } }
  neighbourhoodAt(location: {lng: $lng, lat: $lat}) { neighbourhood { id memberCount } }
}
"""


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in lng/lat degrees."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def around(cls, point: LngLat, half: float) -> Box:
        return cls(point.lng - half, point.lat - half, point.lng + half, point.lat + half)

    @property
    def centre(self) -> LngLat:
        return LngLat(lng=(self.west + self.east) / 2, lat=(self.south + self.north) / 2)

    @property
    def diagonal_m(self) -> float:
        return great_circle_m(
            LngLat(lng=self.west, lat=self.south), LngLat(lng=self.east, lat=self.north)
        )

    def halves(self) -> tuple[Box, Box]:
        """Cut across the longer side (in metres), so the box stays roughly square."""
        middle = self.centre
        width_m = great_circle_m(
            LngLat(lng=self.west, lat=middle.lat), LngLat(lng=self.east, lat=middle.lat)
        )
        height_m = great_circle_m(
            LngLat(lng=middle.lng, lat=self.south), LngLat(lng=middle.lng, lat=self.north)
        )
        if width_m >= height_m:
            return (
                Box(self.west, self.south, middle.lng, self.north),
                Box(middle.lng, self.south, self.east, self.north),
            )
        return (
            Box(self.west, self.south, self.east, middle.lat),
            Box(self.west, middle.lat, self.east, self.north),
        )

    def geojson(self) -> dict[str, Any]:
        ring = [
            [self.west, self.south],
            [self.east, self.south],
            [self.east, self.north],
            [self.west, self.north],
            [self.west, self.south],
        ]
        return {"type": "Polygon", "coordinates": [ring]}


Observation = tuple[object, ...]
Probe = Callable[[Box], Awaitable[Observation | None]]


@dataclass
class Outcome:
    estimate: LngLat
    requests: int
    halvings: int
    refused: bool

    @property
    def error_m(self) -> float:
        return great_circle_m(self.estimate, VICTIM_HOME)


async def count_fields(client: GraphQLClient) -> list[str]:
    """Every Int field of the drawing's payload, whatever the schema calls them."""
    fields = (await client.data(PAYLOAD_FIELDS))["__type"]["fields"]
    return sorted(
        field["name"]
        for field in fields
        if "Int" in (field["type"]["name"], (field["type"]["ofType"] or {}).get("name"))
    )


class Attacker:
    """A signed-up account without a household, drawing and redrawing one network (or many)."""

    def __init__(self, client: GraphQLClient, fields: list[str]) -> None:
        self.client = client
        self.fields = fields
        self.network_id: str | None = None
        self.requests = 0
        selection = " ".join(fields)
        self.create_query = f"""
        mutation ($boundary: GeoJSON!) {{
          createNeighbourhood(input: {{name: "Quartier", boundary: $boundary}}) {{
            __typename
            ... on NeighbourhoodChanged {{ {selection} neighbourhood {{ id memberCount }} }}
          }}
        }}"""
        self.update_query = f"""
        mutation ($id: ID!, $boundary: GeoJSON!) {{
          updateNeighbourhoodBoundary(id: $id, boundary: $boundary) {{
            __typename
            ... on NeighbourhoodChanged {{ {selection} neighbourhood {{ id memberCount }} }}
          }}
        }}"""

    async def draw(self, box: Box, *, new: bool) -> dict[str, Any] | None:
        """The payload, or None when the drawing is refused (any error type or GraphQL error)."""
        self.requests += 1
        if new or self.network_id is None:
            body = await self.client.execute(self.create_query, {"boundary": box.geojson()})
            result = (body.get("data") or {}).get("createNeighbourhood")
        else:
            variables = {"id": self.network_id, "boundary": box.geojson()}
            body = await self.client.execute(self.update_query, variables)
            result = (body.get("data") or {}).get("updateNeighbourhoodBoundary")
        if body.get("errors") or not result or result["__typename"] != "NeighbourhoodChanged":
            return None
        if self.network_id is None:
            self.network_id = result["neighbourhood"]["id"]
        payload: dict[str, Any] = result
        return payload

    def counts(self, payload: dict[str, Any]) -> Observation:
        return (*(payload[name] for name in self.fields), payload["neighbourhood"]["memberCount"])

    async def nearby_counts(self) -> Observation:
        """Member counts of the other networks around the public point (its own is in the
        payload; which network covers the public point depends on the box, not on the home)."""
        self.requests += 1
        data = await self.client.data(NEARBY, {"lng": VICTIM_PUBLIC.lng, "lat": VICTIM_PUBLIC.lat})
        nodes = [edge["node"] for edge in data["neighbourhoods"]["edges"]]
        at = data["neighbourhoodAt"]["neighbourhood"]
        others = {node["id"]: node["memberCount"] for node in [*nodes, *([at] if at else [])]}
        others.pop(self.network_id, None)
        return tuple(sorted(others.items()))

    async def probe_by_redrawing(self, box: Box) -> Observation | None:
        """Reset far away, redraw the one network to `box`, read every count."""
        if await self.draw(Box.around(FAR_AWAY, START_HALF_DEGREES), new=False) is None:
            return None
        payload = await self.draw(box, new=False)
        if payload is None:
            return None
        return (*self.counts(payload), *(await self.nearby_counts()))

    async def probe_by_creating(self, box: Box) -> Observation | None:
        """A new network per probe (each starts empty, so its own counts are comparable)."""
        payload = await self.draw(box, new=True)
        return None if payload is None else self.counts(payload)


async def bisect(attacker: Attacker, probe: Probe, start: Box) -> Outcome:
    far = await probe(Box.around(FAR_AWAY, START_HALF_DEGREES))
    inside = await probe(start)
    outcome = Outcome(start.centre, 0, 0, refused=far is None or inside is None)
    box = start
    if not outcome.refused and far != inside:
        while box.diagonal_m > 0.05:
            first, second = box.halves()
            seen = await probe(first)
            if seen is None:
                outcome.refused = True
                break
            if seen == inside:
                box = first
            elif seen == far:
                box = second
            else:
                break  # an answer it cannot read
            outcome.halvings += 1
    outcome.estimate = box.centre
    outcome.requests = attacker.requests
    return outcome


@dataclass
class Victim:
    client: GraphQLClient
    household_id: str
    neighbourhood_id: str
    skill_id: str


async def register_victim(gql: GraphQLClient, engine: AsyncEngine) -> Victim:
    """A household at a known home, its public point pinned, offering a skill; and two other
    households of the village, far enough (2 km) to stay outside the first box."""
    client = await gql.sign_up(name="Victime")
    home = {"lng": VICTIM_HOME.lng, "lat": VICTIM_HOME.lat}
    registered = (await client.data(REGISTER, home))["registerHousehold"]
    household_id = registered["household"]["id"]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE households SET public_location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)"
                " WHERE id = :id"
            ),
            {"lng": VICTIM_PUBLIC.lng, "lat": VICTIM_PUBLIC.lat, "id": database_id(household_id)},
        )
    for lng in (1.955, 2.027):
        other = await gql.sign_up()
        await other.data(REGISTER, {"lng": lng, "lat": 48.85})
    skill = (await client.data(OFFER_SKILL))["offerSkill"]["skill"]
    return Victim(client, household_id, registered["neighbourhood"]["id"], skill["id"])


def database_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


async def assert_victim_untouched(victim: Victim, attacker: Attacker) -> None:
    me = await victim.client.data("{ me { household { neighbourhood { id } } } }")
    assert me["me"]["household"]["neighbourhood"]["id"] == victim.neighbourhood_id
    for node_id in (victim.household_id, victim.skill_id):
        seen = await attacker.client.data(
            "query ($id: ID!) { node(id: $id) { id } }", {"id": node_id}
        )
        assert seen["node"] is None, f"the attacker reads {node_id}"
    if attacker.network_id is not None:
        listed = await attacker.client.execute(
            "query ($id: ID!) { skills(neighbourhoodId: $id, first: 50) { edges { node { id } } } }",
            {"id": attacker.network_id},
        )
        skills = ((listed.get("data") or {}).get("skills") or {}).get("edges") or []
        assert victim.skill_id not in [edge["node"]["id"] for edge in skills]


async def test_bisecting_by_redrawing_one_network_learns_nothing_and_moves_nobody(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    victim = await register_victim(gql, clean_db)
    attacker = Attacker(await gql.sign_up(name="Curieux"), await count_fields(gql))
    start = Box.around(VICTIM_PUBLIC, START_HALF_DEGREES)
    outcome = await bisect(attacker, attacker.probe_by_redrawing, start)
    print(
        f"\nredrawing: estimate {outcome.error_m:.1f} m from the home after "
        f"{outcome.halvings} halvings, {outcome.requests} requests, refused={outcome.refused}"
    )
    assert outcome.error_m >= SAFE_DISTANCE_M
    await assert_victim_untouched(victim, attacker)


async def test_bisecting_by_drawing_new_networks_learns_nothing_and_moves_nobody(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    victim = await register_victim(gql, clean_db)
    attacker = Attacker(await gql.sign_up(name="Curieux"), await count_fields(gql))
    start = Box.around(VICTIM_PUBLIC, START_HALF_DEGREES)
    outcome = await bisect(attacker, attacker.probe_by_creating, start)
    print(
        f"\ncreating: estimate {outcome.error_m:.1f} m from the home after "
        f"{outcome.halvings} halvings, {outcome.requests} requests, refused={outcome.refused}"
    )
    assert outcome.error_m >= SAFE_DISTANCE_M
    await assert_victim_untouched(victim, attacker)


CREATE_BOUNDARY = """
mutation ($boundary: GeoJSON!) {
  createNeighbourhood(input: {name: "Quartier", boundary: $boundary}) {
    __typename
    ... on NeighbourhoodChanged { householdsInvited neighbourhood { id } }
    ... on ValidationError { code message field }
  }
}
"""


async def test_a_tiny_part_beside_a_large_one_is_refused_and_nothing_is_written(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """Each part must reach the minimum area: a large part far away cannot carry a tiny one
    around a house."""
    attacker = await gql.sign_up(name="Curieux")
    large = Box.around(FAR_AWAY, START_HALF_DEGREES).geojson()["coordinates"]
    tiny = Box.around(VICTIM_HOME, 0.0005).geojson()["coordinates"]
    boundary = {"type": "MultiPolygon", "coordinates": [large, tiny]}
    result = (await attacker.data(CREATE_BOUNDARY, {"boundary": boundary}))["createNeighbourhood"]
    assert (result["code"], result["field"]) == ("GEOMETRY_TOO_SMALL", "boundary")
    assert "Polygon 2" in result["message"]
    async with clean_db.connect() as conn:
        written = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM neighbourhoods)"
                    " + (SELECT count(*) FROM neighbourhood_roles)"
                )
            )
        ).scalar_one()
    assert written == 0


async def test_households_invited_counts_public_points_coarsely(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """Seven homes inside a box, their public points pinned: five inside, two outside. The
    drawer sees 5 (public points, rounded down to a multiple of 5), never 7; with the public
    points of all but four moved out, it sees null, though all seven are invited."""
    homes = [LngLat(lng=1.985 + 0.002 * index, lat=48.85) for index in range(7)]
    ids = []
    for index, home in enumerate(homes):
        client = await gql.sign_up()
        registered = await client.data(REGISTER, {"lng": home.lng, "lat": home.lat})
        ids.append(database_id(registered["registerHousehold"]["household"]["id"]))
        outside = index >= 5
        await pin_public_point(
            clean_db, ids[-1], LngLat(lng=home.lng, lat=home.lat + (0.012 if outside else 0.002))
        )
    box = Box.around(LngLat(lng=1.991, lat=48.85), 0.009).geojson()
    attacker = await gql.sign_up(name="Curieux")
    first = (await attacker.data(CREATE_BOUNDARY, {"boundary": box}))["createNeighbourhood"]
    assert first["householdsInvited"] == 5
    for household_id, home in zip(ids[4:5], homes[4:5], strict=True):
        await pin_public_point(clean_db, household_id, LngLat(lng=home.lng, lat=home.lat + 0.012))
    second = (await attacker.data(CREATE_BOUNDARY, {"boundary": box}))["createNeighbourhood"]
    assert second["householdsInvited"] is None
    async with clean_db.connect() as conn:
        invited = (
            await conn.execute(
                text("SELECT count(*) FROM neighbourhood_moves WHERE to_neighbourhood_id = :id"),
                {"id": database_id(first["neighbourhood"]["id"])},  # the older of equal boxes
            )
        ).scalar_one()
    assert invited == 7  # invitations follow the exact homes; the drawer never sees them


async def pin_public_point(engine: AsyncEngine, household_id: int, point: LngLat) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE households SET public_location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)"
                " WHERE id = :id"
            ),
            {"lng": point.lng, "lat": point.lat, "id": household_id},
        )

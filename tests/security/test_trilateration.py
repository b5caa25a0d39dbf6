"""Trilateration attacks on every search a stranger can probe: none may pin a private point.

Each test plays a signed-out (or unrelated) attacker who asks the same question many times with
small changes, bisects where the answer flips, and fits a circle or trilaterates. The private
point (a carpool's meeting place, a lender's or garden owner's home) must stay at least 150 m
from the best estimate: the searches answer on public points only (displaced 150–400 m once, or
the centre of an area). Public points are pinned here to 180 m from the private one (the
smallest displacement is 150 m), so that the bound is tested near its worst case, not by luck.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo.coords import LngLat
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member, node_id
from tests.api.test_carpools import CREATE as CREATE_CARPOOL
from tests.api.test_carpools import MONDAY, SUNDAY, TOWN_HALL, at, one_off
from tests.security.attacker import Attack, radius_attack, ray_attack, ring
from tests.security.pinning import pin_carpool_public_places, pin_household_public_location

pytestmark = pytest.mark.usefixtures("clean_db")

SAFE_DISTANCE_M = 150.0
PARIS = {"lng": 2.3488, "lat": 48.85341}
VIA_VERSAILLES = {
    "type": "LineString",
    "coordinates": [[1.98676, 48.8533], [2.0500, 48.8300], [2.13038, 48.80052], [2.3488, 48.85341]],
}

CARPOOL_PROBE = """
query Probe($from: LocationInput!, $to: LocationInput!, $after: DateTime!, $before: DateTime!,
            $radius: Int) {
  carpoolMatches(from: $from, to: $to, departAfter: $after, departBefore: $before,
                 radiusMeters: $radius, first: 50) {
    edges { addedDistanceMeters node { id approximateOrigin { lng lat }
                                        approximateDestination { lng lat } pickupPoint { lng lat } } }
  }
}
"""


def lnglat(place: dict[str, float]) -> LngLat:
    return LngLat(lng=place["lng"], lat=place["lat"])


async def carpool_edges(
    client: GraphQLClient, start: LngLat, end: LngLat, radius_m: int
) -> list[dict[str, Any]]:
    variables = {
        "from": {"lng": start.lng, "lat": start.lat},
        "to": {"lng": end.lng, "lat": end.lat},
        "after": at(MONDAY, 0),
        "before": at(SUNDAY, 23, 59),
        "radius": radius_m,
    }
    edges: list[dict[str, Any]] = (await client.data(CARPOOL_PROBE, variables))["carpoolMatches"][
        "edges"
    ]
    return edges


async def attack_carpool_origin(
    stranger: GraphQLClient, carpool_id: str, seen_from: LngLat, seen_to: LngLat
) -> Attack:
    """From the trip's public area centres, walk `from` out along six bearings with a 5 km
    radius until the trip stops matching, and fit the circle through those six points."""
    [edge] = [
        e
        for e in await carpool_edges(stranger, seen_from, seen_to, 5_000)
        if e["node"]["id"] == carpool_id
    ]
    assert edge["node"]["pickupPoint"] is None
    area_origin = lnglat(edge["node"]["approximateOrigin"])
    area_destination = lnglat(edge["node"]["approximateDestination"])

    async def matches(point: LngLat) -> bool:
        edges = await carpool_edges(stranger, point, area_destination, 5_000)
        return any(e["node"]["id"] == carpool_id for e in edges)

    return await ray_attack(
        matches, area_origin, bearings_deg=[0, 60, 120, 180, 240, 300], far_m=12_000
    )


@pytest.mark.parametrize("with_route", [False, True], ids=["ends", "route"])
async def test_carpool_matches_cannot_be_trilaterated_to_the_meeting_place(
    gql: GraphQLClient, clean_db: AsyncEngine, with_route: bool
) -> None:
    driver = await member(gql, "Mairie de Chavenay", TOWN_HALL)
    extra = {"route": VIA_VERSAILLES} if with_route else {}
    result = (await driver.data(CREATE_CARPOOL, {"input": one_off(TOWN_HALL, PARIS, **extra)}))[
        "createCarpool"
    ]
    carpool_id = result["carpool"]["id"]
    await pin_carpool_public_places(clean_db, node_id(carpool_id), offset_m=180.0)

    attack = await attack_carpool_origin(gql, carpool_id, lnglat(TOWN_HALL), lnglat(PARIS))

    print(
        f"carpool ({'route' if with_route else 'ends'}): {attack.distance_to(lnglat(TOWN_HALL)):.0f} m, {attack}"
    )
    assert attack.estimate is not None, attack  # the attack itself works...
    assert attack.distance_to(lnglat(TOWN_HALL)) >= SAFE_DISTANCE_M, attack  # ...on public data


HOME = {"lng": 1.98731, "lat": 48.85417}  # Chavenay, near the church: asymmetric digits
LENDERS = """
query($near: LocationInput!, $max: Int) {
  nearestLenders(near: $near, maxDistanceMeters: $max, first: 100) { edges { node { id } } }
}
"""
GARDENS = """
query($near: LocationInput!, $max: Int) {
  gardensNear(near: $near, maxDistanceMeters: $max, first: 100) {
    edges { node { id exactLocation { lng lat } boundary } }
  }
}
"""
POSTS = """
query($near: LocationInput!, $max: Int) {
  postsNear(near: $near, maxDistanceMeters: $max, first: 100) { edges { node { postId } } }
}
"""
CREATE_ITEM = """
mutation { createItem(input: {title: "Perceuse", category: TOOLS, condition: GOOD, terms: FREE}) {
  ... on CreateItemSuccess { item { id } } } }
"""
CREATE_GARDEN = """
mutation($location: LocationInput!) {
  createGarden(input: {kind: PRIVATE, name: "Potager", location: $location, plotsTotal: 2,
                       plotsFree: 1}) {
    ... on CreateGardenSuccess { garden { id } }
  }
}
"""
CREATE_POST = """
mutation { createPost(input: {kind: OFFER, title: "Semis de tomates", body: ""}) {
  ... on CreatePostSuccess { post { id } } } }
"""


async def radius_search_attack(
    stranger: GraphQLClient, document: str, field: str, target_id: str, key: str = "id"
) -> Attack:
    """Six query points 2 km around the home (an attacker would start from the neighbourhood);
    from each, the smallest `maxDistanceMeters` that still finds the target; trilaterate."""
    home = lnglat(HOME)

    async def found(anchor: LngLat, radius_m: int) -> bool:
        variables = {"near": {"lng": anchor.lng, "lat": anchor.lat}, "max": radius_m}
        edges = (await stranger.data(document, variables))[field]["edges"]
        return any(edge["node"][key] == target_id for edge in edges)

    return await radius_attack(found, ring(home, 2_000, 6), low_m=500, high_m=5_000)


async def newest_household_id(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT max(id) FROM households"))).scalar_one())


async def test_nearest_lenders_cannot_be_trilaterated_to_the_lenders_home(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender = await member(gql, "Famille Martin", HOME)
    await pin_household_public_location(
        clean_db, await newest_household_id(clean_db), offset_m=180.0
    )
    item_id = (await lender.data(CREATE_ITEM))["createItem"]["item"]["id"]

    attack = await radius_search_attack(gql, LENDERS, "nearestLenders", item_id)

    print(f"nearestLenders: {attack.distance_to(lnglat(HOME)):.0f} m, {attack}")
    assert attack.estimate is not None, attack
    assert attack.distance_to(lnglat(HOME)) >= SAFE_DISTANCE_M, attack


async def test_gardens_near_cannot_be_trilaterated_to_a_private_garden(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    owner = await member(gql, "Famille Martin", HOME)
    garden = (await owner.data(CREATE_GARDEN, {"location": HOME}))["createGarden"]["garden"]
    await pin_household_public_location(
        clean_db, await newest_household_id(clean_db), offset_m=180.0
    )

    attack = await radius_search_attack(gql, GARDENS, "gardensNear", garden["id"])

    print(f"gardensNear: {attack.distance_to(lnglat(HOME)):.0f} m, {attack}")
    assert attack.estimate is not None, attack
    assert attack.distance_to(lnglat(HOME)) >= SAFE_DISTANCE_M, attack


async def test_posts_near_cannot_be_trilaterated_to_the_authors_home(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    author = await member(gql, "Famille Martin", HOME)
    await pin_household_public_location(
        clean_db, await newest_household_id(clean_db), offset_m=180.0
    )
    post_id = (await author.data(CREATE_POST))["createPost"]["post"]["id"]

    attack = await radius_search_attack(gql, POSTS, "postsNear", post_id, key="postId")

    print(f"postsNear: {attack.distance_to(lnglat(HOME)):.0f} m, {attack}")
    assert attack.estimate is not None, attack
    assert attack.distance_to(lnglat(HOME)) >= SAFE_DISTANCE_M, attack

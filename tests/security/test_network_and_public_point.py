"""A household's network, shown to strangers beside its public point, narrows its home.

Strangers read which network a household belongs to wherever it appears (`nearestLenders` →
`lender.neighbourhood`, `postsNear` → `neighbourhoodName`, a trip's or garden's owner), and that
network's boundary (`neighbourhood(id:)`). The network was chosen on the *exact* home (rules 1–2:
the smallest polygon covering it, or its H3 cell). The public point, which searches give away to
about a metre by bisection (`test_trilateration`), lies 150–400 m from the home. Near a network's
edge, the part of that ring inside the network is a sliver, and its centre a better estimate
than the public point: the same attack that `test_approximate_places` closes for carpools' areas.

In an `H3_CELL` network (resolution 7, edge about 1.2 km) some 60 % of the area lies within
400 m of an edge. Not fixed here (see docs/privacy.md, "Open"): the test is marked xfail, strict,
so that it fails once the leak is closed and the mark must go.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from shapely import Point
from shapely.geometry import shape
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Household
from db.queries.neighbourhoods import point_param
from geo._geodesy import WGS84
from geo.cells import cell_to_polygon, lnglat_to_cell
from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.privacy import PUBLIC_OFFSET_MAX_M, PUBLIC_OFFSET_MIN_M
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member
from tests.security.attacker import from_xy, radius_attack, ring, to_xy, towards
from tests.security.test_trilateration import CREATE_ITEM, newest_household_id

pytestmark = pytest.mark.usefixtures("clean_db")

SAFE_DISTANCE_M = 150.0
COUNTRYSIDE = LngLat(lng=1.62153, lat=48.91387)  # fields near Septeuil: an H3_CELL network
INSIDE_M = 100.0
PUBLIC_OFFSET_M = 180.0
NETWORK_RESOLUTION = 7  # H3_RESOLUTION's default

LENDERS = """
query($near: LocationInput!, $max: Int) {
  nearestLenders(near: $near, maxDistanceMeters: $max, first: 100) {
    edges { node { id lender { neighbourhood { kind boundary } } } }
  }
}
"""


def bearing_deg(start: LngLat, end: LngLat) -> float:
    azimuth, _back, _distance = WGS84.inv(start.lng, start.lat, end.lng, end.lat)
    return float(azimuth) % 360.0


def home_near_a_cell_edge() -> tuple[LngLat, float]:
    """A home `INSIDE_M` inside the edge of its H3 cell, and the bearing straight out across it."""
    cell = cell_to_polygon(lnglat_to_cell(COUNTRYSIDE, NETWORK_RESOLUTION))
    centre = LngLat(lng=cell.centroid.x, lat=cell.centroid.y)
    midpoints = [
        LngLat(lng=(a[0] + b[0]) / 2, lat=(a[1] + b[1]) / 2)
        for a, b in itertools.pairwise(cell.exterior.coords)
    ]
    edge = min(midpoints, key=lambda m: great_circle_m(m, COUNTRYSIDE))
    outwards = bearing_deg(centre, edge)
    return towards(edge, outwards + 180.0, INSIDE_M), outwards


async def pin_public_point(engine: AsyncEngine, public: LngLat) -> None:
    """The newest household's public point set by hand (triggers carry it onto its items)."""
    household_id = await newest_household_id(engine)
    async with engine.begin() as conn:
        await conn.execute(
            update(Household)
            .where(Household.id == household_id)
            .values(public_location=point_param(public))
        )


def ring_inside(public: LngLat, network: Any, step_m: float = 5.0) -> LngLat | None:
    """Centre of the part of the 150–400 m ring around `public` inside `network` (Shapely)."""
    xs, ys = [], []
    steps = int(PUBLIC_OFFSET_MAX_M / step_m)
    for i in range(-steps, steps + 1):
        for j in range(-steps, steps + 1):
            x, y = i * step_m, j * step_m
            if not PUBLIC_OFFSET_MIN_M <= math.hypot(x, y) <= PUBLIC_OFFSET_MAX_M:
                continue
            point = from_xy(public, x, y)
            if network.covers(Point(point.lng, point.lat)):
                xs.append(x)
                ys.append(y)
    if not xs:
        return None
    return from_xy(public, sum(xs) / len(xs), sum(ys) / len(ys))


@pytest.mark.xfail(
    strict=True,
    reason="open leak: a household's network is chosen on its exact home and shown to "
    "strangers beside its public point (docs/privacy.md, Open)",
)
async def test_a_lenders_network_and_public_point_together_do_not_pin_the_home(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    home, outwards = home_near_a_cell_edge()
    public = towards(home, outwards, PUBLIC_OFFSET_M)
    lender = await member(gql, "Famille Martin", {"lng": home.lng, "lat": home.lat})
    await pin_public_point(clean_db, public)
    item_id = (await lender.data(CREATE_ITEM))["createItem"]["item"]["id"]
    network: dict[str, Any] = {}

    async def found(anchor: LngLat, radius_m: int) -> bool:
        variables = {"near": {"lng": anchor.lng, "lat": anchor.lat}, "max": radius_m}
        for edge in (await gql.data(LENDERS, variables))["nearestLenders"]["edges"]:
            if edge["node"]["id"] == item_id:
                network.update(edge["node"]["lender"]["neighbourhood"])
                return True
        return False

    attack = await radius_attack(found, ring(home, 2_000, 6), low_m=500, high_m=5_000)
    assert attack.estimate is not None, attack  # the public point, to about a metre
    assert network["kind"] == "H3_CELL"
    narrowed = ring_inside(attack.estimate, shape(network["boundary"]))
    assert narrowed is not None
    public_m = attack.distance_to(home)
    narrowed_m = great_circle_m(narrowed, home)
    x, y = to_xy(home, narrowed)

    print(
        f"network + public point: public point {public_m:.0f} m, ring ∩ network "
        f"{narrowed_m:.0f} m ({x:.0f}, {y:.0f}) from the home, {attack.requests} requests"
    )
    assert public_m >= SAFE_DISTANCE_M, attack
    assert narrowed_m >= SAFE_DISTANCE_M, (narrowed, attack)

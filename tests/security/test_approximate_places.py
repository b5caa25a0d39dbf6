"""A carpool end shown to strangers (`approximateOrigin`, `approximateDestination`) must add
nothing to what the public (displaced) point already says.

The attack: `carpoolMatches` answers on the trip's public ends, so a stranger recovers the public
origin to about a metre (`test_trilateration` does it: its estimate lands on the public point,
180 m from the meeting place). The meeting place then lies 150–400 m from that point. If the area
centre shown were the centre of the H3 cell holding the *exact* point, it would name the cell the
meeting place is in; near a cell's edge, the part of that 150–400 m ring inside the cell is a
sliver, and its centre is a far better estimate than the public point. Shown from the public
point, the area centre is a function of public data only, and the ring learns nothing from it.
"""

from __future__ import annotations

import itertools
import math

import pytest
from shapely import Point
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Carpool
from db.queries.neighbourhoods import point_param
from geo._geodesy import WGS84
from geo.cells import cell_to_polygon, lnglat_to_cell
from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.privacy import PUBLIC_OFFSET_MAX_M, PUBLIC_OFFSET_MIN_M, displace
from geo.routes import AREA_RESOLUTION, initial_bearing_deg
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member, node_id
from tests.api.test_carpools import CREATE as CREATE_CARPOOL
from tests.api.test_carpools import TOWN_HALL, one_off
from tests.security.attacker import from_xy, to_xy, towards
from tests.security.test_trilateration import PARIS, attack_carpool_origin

pytestmark = pytest.mark.usefixtures("clean_db")

SAFE_DISTANCE_M = 150.0
INSIDE_M = 100.0
"""The meeting place, this far inside its area's edge; its public point 180 m straight across."""
PUBLIC_OFFSET_M = 180.0

NODE = """
query($id: ID!) {
  node(id: $id) { ... on Carpool { approximateOrigin { lng lat } approximateDestination { lng lat } } }
}
"""


def lnglat(place: dict[str, float]) -> LngLat:
    return LngLat(lng=place["lng"], lat=place["lat"])


def bearing_deg(start: LngLat, end: LngLat) -> float:
    azimuth, _back, _distance = WGS84.inv(start.lng, start.lat, end.lng, end.lat)
    return float(azimuth) % 360.0


def near_an_area_edge() -> tuple[LngLat, LngLat]:
    """A meeting place `INSIDE_M` inside the edge of its area (the H3 cell of `lnglat_to_area_
    centre`) nearest the town hall, and a public point `PUBLIC_OFFSET_M` from it, outside."""
    cell = cell_to_polygon(lnglat_to_cell(lnglat(TOWN_HALL), AREA_RESOLUTION))
    centre = LngLat(lng=cell.centroid.x, lat=cell.centroid.y)
    ring = list(cell.exterior.coords)
    midpoints = [
        LngLat(lng=(a[0] + b[0]) / 2, lat=(a[1] + b[1]) / 2) for a, b in itertools.pairwise(ring)
    ]
    edge = min(midpoints, key=lambda m: great_circle_m(m, lnglat(TOWN_HALL)))
    outwards = bearing_deg(centre, edge)
    exact = towards(edge, outwards + 180.0, INSIDE_M)
    public = towards(exact, outwards, PUBLIC_OFFSET_M)
    assert lnglat_to_cell(exact, AREA_RESOLUTION) != lnglat_to_cell(public, AREA_RESOLUTION)
    return exact, public


async def pin_public_ends(
    engine: AsyncEngine, carpool_id: int, origin: LngLat, destination: LngLat
) -> None:
    """Public ends set by hand (no route: the trip matches on its ends only)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(Carpool)
            .where(Carpool.id == carpool_id)
            .values(
                public_origin=point_param(origin),
                public_destination=point_param(destination),
                public_route=None,
                public_bearing_deg=initial_bearing_deg(origin, destination),
            )
        )


async def offer(
    gql: GraphQLClient, engine: AsyncEngine, exact: LngLat, public: LngLat
) -> tuple[str, LngLat]:
    """A trip from `exact` to Paris whose public origin is `public`; its id and public end."""
    driver = await member(gql, "Mairie de Chavenay", TOWN_HALL)
    trip = one_off({"lng": exact.lng, "lat": exact.lat}, PARIS)
    created = (await driver.data(CREATE_CARPOOL, {"input": trip}))["createCarpool"]
    assert created["__typename"] == "CreateCarpoolSuccess", created
    carpool_id: str = created["carpool"]["id"]
    public_destination = displace(lnglat(PARIS), min_m=PUBLIC_OFFSET_M, max_m=PUBLIC_OFFSET_M)
    await pin_public_ends(engine, node_id(carpool_id), public, public_destination)
    return carpool_id, public_destination


def ring_inside_area(public: LngLat, area_centre: LngLat, step_m: float = 5.0) -> LngLat | None:
    """Centre of the part of the 150–400 m ring around `public` inside the area whose centre is
    shown: where the meeting place must be, if the area were the exact point's."""
    area = cell_to_polygon(lnglat_to_cell(area_centre, AREA_RESOLUTION))
    xs, ys = [], []
    steps = int(PUBLIC_OFFSET_MAX_M / step_m)
    for i in range(-steps, steps + 1):
        for j in range(-steps, steps + 1):
            x, y = i * step_m, j * step_m
            if not PUBLIC_OFFSET_MIN_M <= math.hypot(x, y) <= PUBLIC_OFFSET_MAX_M:
                continue
            point = from_xy(public, x, y)
            if area.covers(Point(point.lng, point.lat)):
                xs.append(x)
                ys.append(y)
    if not xs:
        return None
    return from_xy(public, sum(xs) / len(xs), sum(ys) / len(ys))


async def test_the_area_shown_and_the_public_point_together_do_not_pin_the_meeting_place(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    exact, public = near_an_area_edge()
    carpool_id, _ = await offer(gql, clean_db, exact, public)

    attack = await attack_carpool_origin(gql, carpool_id, exact, lnglat(PARIS))
    assert attack.estimate is not None, attack  # the public origin, to about a metre
    shown = (await gql.data(NODE, {"id": carpool_id}))["node"]["approximateOrigin"]
    narrowed = ring_inside_area(attack.estimate, lnglat(shown))
    assert narrowed is not None
    public_m = attack.distance_to(exact)
    narrowed_m = great_circle_m(narrowed, exact)
    x, y = to_xy(exact, narrowed)

    print(
        f"approximateOrigin + public point: public point {public_m:.0f} m, ring ∩ area "
        f"{narrowed_m:.0f} m ({x:.0f}, {y:.0f}) from the meeting place, {attack.requests} requests"
    )
    assert public_m >= SAFE_DISTANCE_M, attack
    assert narrowed_m >= SAFE_DISTANCE_M, (narrowed, attack)


async def test_trips_with_the_same_public_ends_show_the_same_areas(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """Two meeting places on either side of an area's edge, one public point: the same area."""
    exact, public = near_an_area_edge()
    across = towards(public, bearing_deg(exact, public), INSIDE_M)  # in the public point's area
    assert lnglat_to_cell(across, AREA_RESOLUTION) != lnglat_to_cell(exact, AREA_RESOLUTION)
    first, destination = await offer(gql, clean_db, exact, public)
    second, _ = await offer(gql, clean_db, across, public)
    await pin_public_ends(clean_db, node_id(second), public, destination)

    shown = [(await gql.data(NODE, {"id": trip}))["node"] for trip in (first, second)]

    assert shown[0] == shown[1]

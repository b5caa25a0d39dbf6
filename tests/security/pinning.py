"""Pin public points at a chosen distance from the private ones, so that attack bounds are tested
near their worst case (the smallest displacement is 150 m) instead of at a random displacement."""

from __future__ import annotations

import random

from geoalchemy2.shape import from_shape, to_shape
from shapely import LineString
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Carpool, Household
from db.queries.neighbourhoods import point_param
from geo.coords import LngLat
from geo.privacy import displace
from geo.routes import initial_bearing_deg, route_to_public


async def pin_carpool_public_places(
    engine: AsyncEngine, carpool_id: int, *, offset_m: float
) -> None:
    """Both public ends exactly `offset_m` from the exact ones, and the public route rebuilt on
    them as `geo.routes.trip_to_public` does, with the smallest clip.

    The bearings come from a seeded generator: an attack's estimate made of public data alone
    still lands at a distance from the private point that depends on the draw (with a route, a
    circle fitted to the edge of the route's buffer is not the public end), and a test must give
    the same answer on every run rather than fail one draw in ten by chance."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(Carpool.origin, Carpool.destination, Carpool.route).where(
                    Carpool.id == carpool_id
                )
            )
        ).one()
        origin, destination = (
            LngLat(lng=p.x, lat=p.y) for p in (to_shape(row.origin), to_shape(row.destination))
        )
        bearings = random.Random(carpool_id)  # a reproducible draw, by design
        public_origin = displace(origin, rng=bearings, min_m=offset_m, max_m=offset_m)
        public_destination = displace(destination, rng=bearings, min_m=offset_m, max_m=offset_m)
        route = to_shape(row.route) if row.route is not None else None
        public_route = None
        if isinstance(route, LineString):
            public_route = route_to_public(
                route,
                origin=origin,
                destination=destination,
                public_origin=public_origin,
                public_destination=public_destination,
                clip_m=600.0,
            )
        await conn.execute(
            update(Carpool)
            .where(Carpool.id == carpool_id)
            .values(
                public_origin=point_param(public_origin),
                public_destination=point_param(public_destination),
                public_route=from_shape(public_route, srid=4326) if public_route else None,
                public_bearing_deg=initial_bearing_deg(public_origin, public_destination),
            )
        )


async def pin_household_public_location(
    engine: AsyncEngine, household_id: int, *, offset_m: float
) -> LngLat:
    """The household's public point exactly `offset_m` from its home; triggers carry it onto its
    items, private gardens and (new) posts. Returns the home."""
    async with engine.begin() as conn:
        home = (
            await conn.execute(
                select(
                    func.ST_X(Household.home_location), func.ST_Y(Household.home_location)
                ).where(Household.id == household_id)
            )
        ).one()
        exact = LngLat(lng=home[0], lat=home[1])
        public = displace(exact, min_m=offset_m, max_m=offset_m)
        await conn.execute(
            update(Household)
            .where(Household.id == household_id)
            .values(public_location=point_param(public))
        )
    return exact

"""Household queries: registration (with assignment) and lookups.

The exact home location is read here only to hand it to the API, which shows it to the household
itself; every distance others see is computed from `public_location`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household
from db.queries.neighbourhoods import assign_point, lock_boundaries, point_param
from db.rows import HouseholdRow
from geo.cells import lnglat_to_cell
from geo.coords import LngLat
from geo.privacy import displace

HOUSEHOLD_COLUMNS = (
    Household.id,
    Household.name,
    Household.neighbourhood_id,
    Household.h3_cell,
    Household.created_at,
    func.ST_X(Household.home_location).label("home_lng"),
    func.ST_Y(Household.home_location).label("home_lat"),
    func.ST_X(Household.public_location).label("public_lng"),
    func.ST_Y(Household.public_location).label("public_lat"),
)


def to_row(row: Row[Any]) -> HouseholdRow:
    m = row._mapping
    return HouseholdRow(
        id=m["id"],
        name=m["name"],
        neighbourhood_id=m["neighbourhood_id"],
        h3_cell=m["h3_cell"],
        created_at=m["created_at"],
        home=LngLat(lng=m["home_lng"], lat=m["home_lat"]),
        public=LngLat(lng=m["public_lng"], lat=m["public_lat"]),
    )


async def register_household(
    conn: AsyncConnection, *, name: str, home: LngLat, resolution: int
) -> HouseholdRow:
    """Insert a household in its neighbourhood; the public offset is drawn here, once, and kept."""
    await lock_boundaries(conn, exclusive=False)
    cell = lnglat_to_cell(home, resolution)
    neighbourhood_id = await assign_point(conn, home, cell)
    public = displace(home)
    result = await conn.execute(
        insert(Household)
        .values(
            name=name,
            home_location=point_param(home),
            public_location=point_param(public),
            h3_cell=cell,
            neighbourhood_id=neighbourhood_id,
        )
        .returning(*HOUSEHOLD_COLUMNS)
    )
    return to_row(result.one())


async def households_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, HouseholdRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*HOUSEHOLD_COLUMNS).where(Household.id.in_(ids)))
    return {row.id: to_row(row) for row in result}

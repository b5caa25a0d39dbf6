"""Household queries: registration (with assignment) and lookups.

The exact home location is read here only to hand it to the API, which shows it to the household
itself; every distance others see is computed from `public_location`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household
from db.queries.neighbourhoods import insert_cell_neighbourhoods, lock_boundaries
from db.rows import HouseholdRow, NeighbourhoodRow
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

REGISTER = text(
    """
    WITH target AS (
        SELECT n.id, n.name, n.kind, n.h3_cell, n.commune_code, n.area_m2, n.created_at,
               n.membership_policy
          FROM neighbourhoods n
         WHERE n.id = COALESCE(
               (SELECT p.id FROM neighbourhoods p
                 WHERE p.kind = 'POLYGON'
                   AND ST_Covers(p.boundary, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326))
                 ORDER BY p.area_m2, p.created_at, p.id LIMIT 1),
               (SELECT c.id FROM neighbourhoods c WHERE c.kind = 'H3_CELL' AND c.h3_cell = :cell))
    ),
    household AS (
        INSERT INTO households (name, home_location, public_location, h3_cell, neighbourhood_id)
        SELECT :name, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326),
               ST_SetSRID(ST_MakePoint(:public_lng, :public_lat), 4326), :cell, target.id
          FROM target
        RETURNING id, created_at, membership_status
    ),
    account AS (
        UPDATE accounts SET household_id = household.id
          FROM household
         WHERE accounts.id = :account_id
    )
    SELECT household.id, household.created_at, target.id AS neighbourhood_id,
           target.name, target.kind, target.h3_cell, target.commune_code, target.area_m2,
           target.created_at AS neighbourhood_created_at, target.membership_policy,
           household.membership_status
      FROM household, target
    """
)
"""Assignment, insert, account link and the neighbourhood's row in one round trip.

The assignment rule (see `queries.neighbourhoods`): the smallest covering POLYGON (a point on
the border counts), then the oldest, then the lowest id; else the existing H3_CELL of the cell
(`COALESCE` runs the cell lookup only when no polygon covers the point). When the cell has no
neighbourhood yet, nothing is inserted and no row comes back: the caller creates the cell and
runs it again (a new statement, hence a new snapshot that sees the cell, whether this
transaction or a concurrent twin created it). Data-modifying CTEs run whether or not they are
read, so the account is linked even though `account` is never selected.
"""


@dataclass(frozen=True, slots=True)
class Registration:
    household: HouseholdRow
    neighbourhood: NeighbourhoodRow
    membership_status: str
    """Set by the arrival trigger (migration 0009): PENDING in an APPROVAL network."""


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


async def register_account_household(
    conn: AsyncConnection, *, account_id: int | None, name: str, home: LngLat, resolution: int
) -> Registration:
    """Insert a household in its neighbourhood and make it `account_id`'s (None: no account).

    Takes the shared boundary lock first, in a statement of its own: a statement's snapshot
    predates the locks it waits for, so the assignment must start after the lock is granted to
    see a polygon that a boundary change committed meanwhile. The public offset is drawn here,
    once, and kept. Two statements (three, plus two, the first time a cell is needed).
    """
    await lock_boundaries(conn, exclusive=False)
    cell = lnglat_to_cell(home, resolution)
    public = displace(home)
    parameters = {
        "account_id": account_id,
        "name": name,
        "lng": home.lng,
        "lat": home.lat,
        "public_lng": public.lng,
        "public_lat": public.lat,
        "cell": cell,
    }
    row = (await conn.execute(REGISTER, parameters)).one_or_none()
    if row is None:
        await insert_cell_neighbourhoods(conn, [cell])
        row = (await conn.execute(REGISTER, parameters)).one()
    household = HouseholdRow(
        id=row.id,
        name=name,
        neighbourhood_id=row.neighbourhood_id,
        h3_cell=cell,
        created_at=row.created_at,
        home=home,
        public=public,
    )
    neighbourhood = NeighbourhoodRow(
        id=row.neighbourhood_id,
        name=row.name,
        kind=row.kind,
        h3_cell=row.h3_cell,
        commune_code=row.commune_code,
        area_m2=row.area_m2,
        created_at=row.neighbourhood_created_at,
        membership_policy=row.membership_policy,
    )
    return Registration(household, neighbourhood, row.membership_status)


async def register_household(
    conn: AsyncConnection, *, name: str, home: LngLat, resolution: int
) -> HouseholdRow:
    """A household without an account (seeds, fixtures): `register_account_household`'s rule."""
    registration = await register_account_household(
        conn, account_id=None, name=name, home=home, resolution=resolution
    )
    return registration.household


async def households_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, HouseholdRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*HOUSEHOLD_COLUMNS).where(Household.id.in_(ids)))
    return {row.id: to_row(row) for row in result}

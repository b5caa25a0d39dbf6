"""Garden queries: creation, lookups, waiting lists, and the nearest-first search.

Searches and distances use `public_location` only (see `db.models.Garden`): for a PRIVATE garden
that is the owner's displaced point, so no distance anyone sees is measured to a home.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import Row, Select, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.fastpaths.reads import ReadStatement
from db.models import Garden, GardenWaitlistEntry, Household
from db.queries.neighbourhoods import point_param
from db.queries.proximity import (
    distance_statement,
    distance_to_m,
    fetch_nearest,
    nearest_parameters,
    nearest_query,
    nearest_statement,
)
from db.searches import ReadConnection
from geo.coords import LngLat


@dataclass(frozen=True, slots=True, kw_only=True)
class GardenRow:
    """A garden as stored. `location` and `boundary_geojson` are exact: for a PRIVATE garden
    the API shows them to the owner household only. `public` is the point searches measure to
    (a PRIVATE garden's: the owner's displaced point), shown to others only as its area's centre."""

    id: int
    household_id: int
    kind: str
    name: str
    description: str
    plots_total: int
    plots_free: int
    location: LngLat
    public: LngLat
    boundary_geojson: str | None
    created_at: datetime


GARDEN_COLUMNS = (
    Garden.id,
    Garden.household_id,
    Garden.kind,
    Garden.name,
    Garden.description,
    Garden.plots_total,
    Garden.plots_free,
    Garden.created_at,
    func.ST_X(Garden.location).label("lng"),
    func.ST_Y(Garden.location).label("lat"),
    func.ST_X(Garden.public_location).label("public_lng"),
    func.ST_Y(Garden.public_location).label("public_lat"),
    func.ST_AsGeoJSON(Garden.boundary, 6).label("boundary_geojson"),
)


def to_row(row: Row[Any]) -> GardenRow:
    m = row._asdict()
    return GardenRow(
        id=m["id"],
        household_id=m["household_id"],
        kind=m["kind"],
        name=m["name"],
        description=m["description"],
        plots_total=m["plots_total"],
        plots_free=m["plots_free"],
        created_at=m["created_at"],
        location=LngLat(lng=m["lng"], lat=m["lat"]),
        public=LngLat(lng=m["public_lng"], lat=m["public_lat"]),
        boundary_geojson=m["boundary_geojson"],
    )


async def create_garden(
    conn: AsyncConnection,
    household_id: int,
    *,
    kind: str,
    name: str,
    description: str,
    location: LngLat | None,
    boundary: MultiPolygon | None,
    plots_total: int,
    plots_free: int,
) -> GardenRow:
    """Insert a garden at `location`, or inside `boundary` (a trigger puts the point on it)."""
    assert (location is None) != (boundary is None), "exactly one of location and boundary"
    shape = from_shape(boundary, srid=4326) if boundary is not None else None
    result = await conn.execute(
        insert(Garden)
        .values(
            household_id=household_id,
            kind=kind,
            name=name,
            description=description,
            location=point_param(location) if location else func.ST_PointOnSurface(shape),
            boundary=shape,
            plots_total=plots_total,
            plots_free=plots_free,
        )
        .returning(*GARDEN_COLUMNS)
    )
    return to_row(result.one())


async def gardens_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, GardenRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*GARDEN_COLUMNS).where(Garden.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


def nearest_gardens_query(
    origin: LngLat, *, limit: int, after: tuple[float, int] | None, max_distance_m: float
) -> Select[Any]:
    """The statement behind `nearest_gardens` (separate so that tests can EXPLAIN it): KNN on
    the public point, `WITH TIES`, as every search of `db.queries.proximity`."""
    return nearest_query(
        GARDEN_COLUMNS,
        Garden.public_location,
        Garden.id,
        origin,
        limit=limit,
        after=after,
        max_distance_m=max_distance_m,
    )


async def nearest_gardens(
    conn: ReadConnection,
    origin: LngLat,
    *,
    limit: int,
    after: tuple[float, int] | None,
    max_distance_m: float,
) -> list[tuple[GardenRow, float]]:
    """Up to `limit` gardens within `max_distance_m` of `origin`, nearest first, with metres.

    Keyset-paged on (distance_m, id) like `nearest_lenders`: the id breaks ties (a household's
    private gardens all sit at its public point), so pages never repeat or skip.
    """
    statement = nearest_gardens_read(resumed=after is not None)
    parameters = nearest_parameters(origin, limit=limit, after=after, max_distance_m=max_distance_m)
    return await fetch_nearest(conn, statement, to_row, limit, parameters)


@functools.cache
def nearest_gardens_statement(*, resumed: bool) -> Select[Any]:
    """`nearest_gardens_query` with bind parameters (`nearest_parameters`), built once."""
    return nearest_statement(GARDEN_COLUMNS, Garden.public_location, Garden.id, resumed=resumed)


@functools.cache
def nearest_gardens_read(*, resumed: bool) -> ReadStatement:
    """`nearest_gardens_statement` compiled for `db.searches`, once per shape."""
    return ReadStatement.of(nearest_gardens_statement(resumed=resumed))


GARDEN_DISTANCE = functools.cache(lambda: distance_statement(Garden.public_location, Garden.id))


async def garden_distance_m(conn: ReadConnection, origin: LngLat, garden_id: int) -> float | None:
    """Distance from `origin` to one garden (None: deleted), to resume a search after it."""
    return await distance_to_m(conn, GARDEN_DISTANCE(), garden_id, origin)


async def join_waitlist(conn: AsyncConnection, garden_id: int, household_id: int) -> int:
    """Put the household on the garden's waiting list (no-op if already on it); its position.

    Joining again keeps the original place: `ON CONFLICT DO NOTHING` on (garden, household).
    """
    await conn.execute(
        pg_insert(GardenWaitlistEntry)
        .values(garden_id=garden_id, household_id=household_id)
        .on_conflict_do_nothing(index_elements=["garden_id", "household_id"])
    )
    positions = await waitlist_positions(conn, [(garden_id, household_id)])
    return positions[(garden_id, household_id)]


async def leave_waitlist(conn: AsyncConnection, garden_id: int, household_id: int) -> bool:
    """Take the household off the list; False when it was not on it. Those behind move up."""
    result = await conn.execute(
        delete(GardenWaitlistEntry)
        .where(
            GardenWaitlistEntry.garden_id == garden_id,
            GardenWaitlistEntry.household_id == household_id,
        )
        .returning(GardenWaitlistEntry.id)
    )
    return result.scalar_one_or_none() is not None


async def waitlist_positions(
    conn: AsyncConnection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    """1-based positions of (garden_id, household_id) pairs by (joined_at, id); absent: not on it.

    One statement for any number of pairs: a window over the lists of the gardens asked about.
    """
    if not keys:
        return {}
    entry = GardenWaitlistEntry
    ranked = (
        select(
            entry.garden_id,
            entry.household_id,
            func.row_number()
            .over(partition_by=entry.garden_id, order_by=(entry.joined_at, entry.id))
            .label("position"),
        )
        .where(entry.garden_id.in_(sorted({garden_id for garden_id, _ in keys})))
        .subquery()
    )
    result = await conn.execute(
        select(ranked.c.garden_id, ranked.c.household_id, ranked.c.position).where(
            tuple_(ranked.c.garden_id, ranked.c.household_id).in_(list(keys))
        )
    )
    return {(int(gid), int(hid)): int(position) for gid, hid, position in result.all()}


async def waitlist_lengths_by_garden_id(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, int]:
    if not ids:
        return {}
    result = await conn.execute(
        select(GardenWaitlistEntry.garden_id, func.count())
        .where(GardenWaitlistEntry.garden_id.in_(ids))
        .group_by(GardenWaitlistEntry.garden_id)
    )
    counts = {int(gid): int(count) for gid, count in result.all()}
    return {gid: counts.get(gid, 0) for gid in ids}


@dataclass(frozen=True, slots=True)
class WaitlistEntryRow:
    """A household waiting for a plot of a garden, with its 1-based place on the list."""

    garden_id: int
    household_id: int
    household_name: str
    position: int
    joined_at: datetime


async def update_garden(
    conn: AsyncConnection,
    garden_id: int,
    *,
    household_id: int,
    name: str,
    description: str,
    plots_total: int,
    plots_free: int,
) -> GardenRow | None:
    """Replace a garden's name, description and plots (None: no such garden of `household_id`;
    the owner is in the WHERE clause, so a stale check can never change another's garden)."""
    result = await conn.execute(
        update(Garden)
        .where(Garden.id == garden_id, Garden.household_id == household_id)
        .values(name=name, description=description, plots_total=plots_total, plots_free=plots_free)
        .returning(*GARDEN_COLUMNS)
    )
    row = result.one_or_none()
    return to_row(row) if row else None


async def delete_garden(conn: AsyncConnection, garden_id: int, *, household_id: int) -> bool:
    """Delete a garden of `household_id` and its waiting list (ON DELETE CASCADE)."""
    result = await conn.execute(
        delete(Garden)
        .where(Garden.id == garden_id, Garden.household_id == household_id)
        .returning(Garden.id)
    )
    return result.scalar_one_or_none() is not None


async def lock_garden(conn: AsyncConnection, garden_id: int) -> GardenRow | None:
    """The garden, locked until the transaction ends (offers of a plot run one at a time)."""
    result = await conn.execute(
        select(*GARDEN_COLUMNS).where(Garden.id == garden_id).with_for_update(of=Garden)
    )
    row = result.first()
    return to_row(row) if row is not None else None


def _ranked_waitlist() -> Any:
    entry = GardenWaitlistEntry
    return select(
        entry.id,
        entry.garden_id,
        entry.household_id,
        entry.joined_at,
        func.row_number()
        .over(partition_by=entry.garden_id, order_by=(entry.joined_at, entry.id))
        .label("position"),
    )


async def waitlist(
    conn: AsyncConnection, garden_id: int, *, limit: int, after_position: int | None
) -> list[WaitlistEntryRow]:
    """The garden's waiting list in order, first in line first, from `after_position` on, with
    each household's name: one statement per page (the (garden, joined_at, id) index)."""
    ranked = _ranked_waitlist().where(GardenWaitlistEntry.garden_id == garden_id).subquery("ranked")
    result = await conn.execute(
        select(
            ranked.c.garden_id,
            ranked.c.household_id,
            Household.name,
            ranked.c.position,
            ranked.c.joined_at,
        )
        .join(Household, Household.id == ranked.c.household_id)
        .where(ranked.c.position > (after_position or 0))
        .order_by(ranked.c.position)
        .limit(limit)
    )
    return [
        WaitlistEntryRow(
            garden_id=int(gid),
            household_id=int(hid),
            household_name=name,
            position=int(position),
            joined_at=joined_at,
        )
        for gid, hid, name, position, joined_at in result.all()
    ]


async def take_first_in_line(conn: AsyncConnection, garden_id: int) -> int | None:
    """Take the first household off the garden's waiting list; its id (None: list empty)."""
    entry = GardenWaitlistEntry
    first = (
        select(entry.id)
        .where(entry.garden_id == garden_id)
        .order_by(entry.joined_at, entry.id)
        .limit(1)
        .scalar_subquery()
    )
    result = await conn.execute(
        delete(entry).where(entry.id == first).returning(entry.household_id)
    )
    household_id = result.scalar_one_or_none()
    return int(household_id) if household_id is not None else None


async def set_plots_free(conn: AsyncConnection, garden_id: int, plots_free: int) -> GardenRow:
    result = await conn.execute(
        update(Garden)
        .where(Garden.id == garden_id)
        .values(plots_free=plots_free)
        .returning(*GARDEN_COLUMNS)
    )
    return to_row(result.one())


async def waitlisted_households(conn: AsyncConnection, garden_id: int) -> list[int]:
    """Every household on the garden's list, first in line first."""
    entry = GardenWaitlistEntry
    result = await conn.execute(
        select(entry.household_id)
        .where(entry.garden_id == garden_id)
        .order_by(entry.joined_at, entry.id)
    )
    return [int(household_id) for household_id in result.scalars()]


async def household_gardens(
    conn: AsyncConnection, household_id: int, *, limit: int, after_id: int | None
) -> list[GardenRow]:
    """The gardens the household offers, newest first, keyset-paged on the id."""
    conditions = [Garden.household_id == household_id]
    if after_id is not None:
        conditions.append(Garden.id < after_id)
    result = await conn.execute(
        select(*GARDEN_COLUMNS).where(*conditions).order_by(Garden.id.desc()).limit(limit)
    )
    return [to_row(row) for row in result]


async def household_waitlist_places(
    conn: AsyncConnection, household_id: int, *, limit: int, after_id: int | None
) -> list[tuple[GardenRow, int, datetime, int]]:
    """(garden, position, joined_at, entry id) of each list the household is on, latest joined
    first, keyset-paged on the entry id; positions from one window over those gardens' lists."""
    mine = select(GardenWaitlistEntry.garden_id).where(
        GardenWaitlistEntry.household_id == household_id
    )
    ranked = _ranked_waitlist().where(GardenWaitlistEntry.garden_id.in_(mine)).subquery("ranked")
    conditions = [ranked.c.household_id == household_id]
    if after_id is not None:
        conditions.append(ranked.c.id < after_id)
    result = await conn.execute(
        select(*GARDEN_COLUMNS, ranked.c.position, ranked.c.joined_at, ranked.c.id.label("entry"))
        .join(ranked, ranked.c.garden_id == Garden.id)
        .where(*conditions)
        .order_by(ranked.c.id.desc())
        .limit(limit)
    )
    rows = []
    for row in result:
        m = row._asdict()
        rows.append((to_row(row), int(m["position"]), m["joined_at"], int(m["entry"])))
    return rows

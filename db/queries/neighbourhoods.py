"""Neighbourhood queries: assignment of a point, lookups, nearest-first listing, boundary changes.

Assignment rule (see `geo.assignment`): the smallest covering POLYGON neighbourhood, then the
oldest, then the lowest id; where none covers the point, the H3_CELL neighbourhood of its cell.
A registration applies it in one statement (`queries.households.REGISTER`), a boundary change
in `reassign_households`, a national import set-wise (`db.bulk`); `neighbourhood_at` reads it.
Boundary changes and registrations are serialised by an advisory lock (exclusive for boundary
changes, shared for registrations) so a registration can never miss a polygon being created.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import and_, func, insert, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household, Neighbourhood
from db.rows import NeighbourhoodRow, Reassignment
from geo.cells import cell_to_multipolygon
from geo.coords import LngLat

BOUNDARY_LOCK_KEY = 0x766F6973  # "vois": one lock shared by every boundary change
CELL_NAME_PREFIX = "Secteur"

NEIGHBOURHOOD_COLUMNS = (
    Neighbourhood.id,
    Neighbourhood.name,
    Neighbourhood.kind,
    Neighbourhood.h3_cell,
    Neighbourhood.commune_code,
    Neighbourhood.area_m2,
    Neighbourhood.created_at,
    Neighbourhood.membership_policy,
)


def point_param(point: LngLat) -> object:
    """A bound SRID-4326 point; never formatted into SQL text."""
    return func.ST_SetSRID(func.ST_MakePoint(point.lng, point.lat), 4326)


def to_row(row: Any) -> NeighbourhoodRow:
    return NeighbourhoodRow(**row._mapping)


LOCK_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:key)")
LOCK_SHARED = text("SELECT pg_advisory_xact_lock_shared(:key)")


async def lock_boundaries(conn: AsyncConnection, *, exclusive: bool) -> None:
    """Until the transaction ends; statements built once (a registration takes it each time)."""
    lock = LOCK_EXCLUSIVE if exclusive else LOCK_SHARED
    await conn.execute(lock, {"key": BOUNDARY_LOCK_KEY})


def covering_polygon_query(point_sql: object) -> object:
    """Smallest covering polygon first; `ST_Covers` counts a point on the border as inside."""
    return (
        select(Neighbourhood.id)
        .where(Neighbourhood.kind == "POLYGON", func.ST_Covers(Neighbourhood.boundary, point_sql))
        .order_by(Neighbourhood.area_m2, Neighbourhood.created_at, Neighbourhood.id)
        .limit(1)
    )


async def covering_polygon_id(conn: AsyncConnection, point: LngLat) -> int | None:
    result = await conn.execute(covering_polygon_query(point_param(point)))  # type: ignore[call-overload]
    value = result.scalar_one_or_none()
    return int(value) if value is not None else None


async def cell_neighbourhood_id(conn: AsyncConnection, cell: str) -> int | None:
    result = await conn.execute(
        select(Neighbourhood.id).where(
            Neighbourhood.kind == "H3_CELL", Neighbourhood.h3_cell == cell
        )
    )
    value = result.scalar_one_or_none()
    return int(value) if value is not None else None


async def ensure_cell_neighbourhoods(conn: AsyncConnection, cells: Sequence[str]) -> dict[str, int]:
    """Create the missing H3_CELL neighbourhoods, exactly once even under concurrency.

    `ON CONFLICT DO NOTHING` on the partial unique index makes a concurrent twin wait for the
    first insert's commit and then skip; the follow-up SELECT sees the committed row.
    """
    unique_cells = sorted(set(cells))
    if not unique_cells:
        return {}
    await insert_cell_neighbourhoods(conn, unique_cells)
    result = await conn.execute(
        select(Neighbourhood.h3_cell, Neighbourhood.id).where(
            Neighbourhood.kind == "H3_CELL", Neighbourhood.h3_cell.in_(unique_cells)
        )
    )
    return {str(cell): int(nid) for cell, nid in result.all()}


async def insert_cell_neighbourhoods(conn: AsyncConnection, cells: Sequence[str]) -> None:
    """Insert the cells' H3_CELL neighbourhoods that do not exist yet (`ON CONFLICT DO NOTHING`:
    a concurrent twin's insert makes this one wait for its commit, then skip)."""
    await conn.execute(
        pg_insert(Neighbourhood)
        .values(
            [
                {
                    "name": f"{CELL_NAME_PREFIX} {cell}",
                    "kind": "H3_CELL",
                    "h3_cell": cell,
                    "boundary": from_shape(cell_to_multipolygon(cell), srid=4326),
                }
                for cell in cells
            ]
        )
        .on_conflict_do_nothing(index_elements=["h3_cell"], index_where=text("kind = 'H3_CELL'"))
    )


async def neighbourhood_at(
    conn: AsyncConnection, point: LngLat, cell: str
) -> NeighbourhoodRow | None:
    """Where a home at `point` would land, without creating anything (None: a new cell)."""
    polygon_id = await covering_polygon_id(conn, point)
    nid = polygon_id if polygon_id is not None else await cell_neighbourhood_id(conn, cell)
    if nid is None:
        return None
    rows = await neighbourhoods_by_id(conn, [nid])
    return rows.get(nid)


async def neighbourhoods_by_id(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, NeighbourhoodRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*NEIGHBOURHOOD_COLUMNS).where(Neighbourhood.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


async def boundaries_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, str]:
    """GeoJSON text of each boundary; fetched only when a client asks for it (can be large)."""
    if not ids:
        return {}
    result = await conn.execute(
        select(Neighbourhood.id, func.ST_AsGeoJSON(Neighbourhood.boundary, 6)).where(
            Neighbourhood.id.in_(ids)
        )
    )
    return {int(nid): str(geojson) for nid, geojson in result.all()}


async def member_counts_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    result = await conn.execute(
        select(Household.neighbourhood_id, func.count())
        .where(Household.neighbourhood_id.in_(ids), Household.membership_status == "APPROVED")
        .group_by(Household.neighbourhood_id)
    )
    counts = {int(nid): int(count) for nid, count in result.all()}
    return {nid: counts.get(nid, 0) for nid in ids}


async def nearest_neighbourhoods(
    conn: AsyncConnection,
    origin: LngLat,
    *,
    limit: int,
    after: tuple[float, int] | None = None,
) -> list[tuple[NeighbourhoodRow, float]]:
    """Nearest first by sphere distance to the boundary (0 inside), keyset-paged on (distance, id).

    The ORDER BY is the KNN operator `<->` alone, so PostgreSQL walks the geography GiST index
    nearest-first and stops after the page; adding `id` to it would make it sort every row.
    `WITH TIES` keeps neighbourhoods at exactly the same distance together at a page cut, and
    the (distance, id) order is completed here. One distance function (`<->`) everywhere, so the
    cursor compares like with like.
    """
    origin_geog = func.Geography(point_param(origin))
    distance = func.Geography(Neighbourhood.boundary).op("<->")(origin_geog)
    query = select(*NEIGHBOURHOOD_COLUMNS, distance.label("distance_m"))
    if after is not None:
        after_distance, after_id = after
        query = query.where(
            or_(
                distance > after_distance,
                and_(distance == after_distance, Neighbourhood.id > after_id),
            )
        )
    query = query.order_by(distance).fetch(limit, with_ties=True)
    result = await conn.execute(query)
    out = []
    for row in result:
        mapping = dict(row._mapping)
        distance_m = float(mapping.pop("distance_m"))
        out.append((NeighbourhoodRow(**mapping), distance_m))
    out.sort(key=lambda pair: (pair[1], pair[0].id))
    return out


async def create_polygon_neighbourhood(
    conn: AsyncConnection,
    *,
    name: str,
    boundary: MultiPolygon,
    commune_code: str | None,
) -> tuple[NeighbourhoodRow, Reassignment]:
    """Insert a POLYGON neighbourhood and move the households it now covers, in one transaction."""
    await lock_boundaries(conn, exclusive=True)
    result = await conn.execute(
        insert(Neighbourhood)
        .values(
            name=name,
            kind="POLYGON",
            boundary=from_shape(boundary, srid=4326),
            commune_code=commune_code,
        )
        .returning(Neighbourhood.id)
    )
    nid = int(result.scalar_one())
    moves = await reassign_households(conn, neighbourhood_id=nid)
    return (await neighbourhoods_by_id(conn, [nid]))[nid], moves


async def update_neighbourhood_boundary(
    conn: AsyncConnection, neighbourhood_id: int, boundary: MultiPolygon
) -> tuple[NeighbourhoodRow, Reassignment] | None:
    """Change a POLYGON boundary and reassign both the old and the new members (None: not found)."""
    await lock_boundaries(conn, exclusive=True)
    result = await conn.execute(
        Neighbourhood.__table__.update()  # type: ignore[attr-defined]
        .where(Neighbourhood.id == neighbourhood_id, Neighbourhood.kind == "POLYGON")
        .values(boundary=from_shape(boundary, srid=4326))
        .returning(Neighbourhood.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    moves = await reassign_households(conn, neighbourhood_id=neighbourhood_id)
    return (await neighbourhoods_by_id(conn, [neighbourhood_id]))[neighbourhood_id], moves


REASSIGN_TARGETS = text(
    """
    SELECT h.id, h.neighbourhood_id AS old_id, h.h3_cell,
           (SELECT n.id FROM neighbourhoods n
             WHERE n.kind = 'POLYGON' AND ST_Covers(n.boundary, h.home_location)
             ORDER BY n.area_m2, n.created_at, n.id LIMIT 1) AS polygon_id
      FROM households h
     WHERE h.neighbourhood_id = :nid
        OR ST_Covers((SELECT boundary FROM neighbourhoods WHERE id = :nid), h.home_location)
    """
)

APPLY_ASSIGNMENT = text(
    """
    UPDATE households h SET neighbourhood_id = u.nid
      FROM unnest(CAST(:ids AS bigint[]), CAST(:nids AS bigint[])) AS u(id, nid)
     WHERE h.id = u.id AND h.neighbourhood_id <> u.nid
    """
)


async def reassign_households(conn: AsyncConnection, *, neighbourhood_id: int) -> Reassignment:
    """Re-run the assignment rule for everyone inside the boundary or currently a member."""
    targets = (await conn.execute(REASSIGN_TARGETS, {"nid": neighbourhood_id})).all()
    orphan_cells = [row.h3_cell for row in targets if row.polygon_id is None]
    cell_ids = await ensure_cell_neighbourhoods(conn, orphan_cells)
    ids: list[int] = []
    new_ids: list[int] = []
    moved_in = moved_out = 0
    for row in targets:
        new_id = row.polygon_id if row.polygon_id is not None else cell_ids[row.h3_cell]
        if new_id == row.old_id:
            continue
        ids.append(row.id)
        new_ids.append(new_id)
        moved_in += new_id == neighbourhood_id
        moved_out += row.old_id == neighbourhood_id
    if ids:
        await conn.execute(APPLY_ASSIGNMENT, {"ids": ids, "nids": new_ids})
    return Reassignment(moved_in=moved_in, moved_out=moved_out)

"""Neighbourhood queries: assignment of a point, lookups, nearest-first listing, boundary changes.

Assignment rule (see `geo.assignment`): the smallest covering POLYGON neighbourhood, then the
oldest, then the lowest id; where none covers the point, the H3_CELL neighbourhood of its cell.
A registration applies it in one statement (`queries.households.REGISTER`), a national import
set-wise (`db.bulk`); `neighbourhood_at` reads it. A boundary drawn or changed through the API
moves only the drawer's own household: every other household the rule would move gets a
proposal (`neighbourhood_moves`) and moves when it accepts (`accept_move`), so that drawing
never relocates anyone nor tells the drawer where a home is (docs/neighbourhoods.md).
Boundary changes and registrations are serialised by an advisory lock (exclusive for boundary
changes, shared for registrations and acceptances) so none can miss a polygon being drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import and_, func, insert, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household, Neighbourhood
from db.rows import NeighbourhoodRow, Reassignment
from geo.boundaries import margin_degrees
from geo.cells import cell_to_multipolygon
from geo.coords import LngLat
from geo.privacy import PUBLIC_OFFSET_MAX_M

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


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundaryChange:
    """What a drawing did. `moves` counts the drawer's own household only (no other moves);
    `public_points_inside` counts the other households, not members, whose *public* point the
    boundary covers: the only figure about strangers a drawer may see (coarsened by the API)."""

    neighbourhood: NeighbourhoodRow
    moves: Reassignment
    public_points_inside: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveRow:
    """A household's pending move: to `to_neighbourhood_id`, or (None) to the H3_CELL
    neighbourhood of its own `h3_cell`, not created yet."""

    household_id: int
    to_neighbourhood_id: int | None
    h3_cell: str
    proposed_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveDecision:
    """`DONE`: moved (accept) or declined; `NONE`: no pending move; `CHANGED`: the pending move is
    not to the neighbourhood the household was shown (nothing written)."""

    status: Literal["DONE", "NONE", "CHANGED"]
    neighbourhood: NeighbourhoodRow | None = None


async def create_polygon_neighbourhood(
    conn: AsyncConnection,
    *,
    name: str,
    boundary: MultiPolygon,
    commune_code: str | None,
    created_by_account_id: int | None = None,
    own_household_id: int | None = None,
) -> BoundaryChange:
    """Insert a POLYGON neighbourhood; move the drawer's own household if the rule says so, and
    propose the move to every other household it would take, in one transaction."""
    await lock_boundaries(conn, exclusive=True)
    result = await conn.execute(
        insert(Neighbourhood)
        .values(
            name=name,
            kind="POLYGON",
            boundary=from_shape(boundary, srid=4326),
            commune_code=commune_code,
            created_by_account_id=created_by_account_id,
        )
        .returning(Neighbourhood.id)
    )
    nid = int(result.scalar_one())
    return await boundary_changed(conn, nid, boundary, own_household_id=own_household_id)


async def update_neighbourhood_boundary(
    conn: AsyncConnection,
    neighbourhood_id: int,
    boundary: MultiPolygon,
    *,
    own_household_id: int | None = None,
) -> BoundaryChange | None:
    """Change a POLYGON boundary; the drawer's household moves, members now outside and
    households now inside get proposals (None: no such POLYGON neighbourhood)."""
    await lock_boundaries(conn, exclusive=True)
    result = await conn.execute(
        Neighbourhood.__table__.update()  # type: ignore[attr-defined]
        .where(Neighbourhood.id == neighbourhood_id, Neighbourhood.kind == "POLYGON")
        .values(boundary=from_shape(boundary, srid=4326))
        .returning(Neighbourhood.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    return await boundary_changed(
        conn, neighbourhood_id, boundary, own_household_id=own_household_id
    )


async def boundary_changed(
    conn: AsyncConnection, nid: int, boundary: MultiPolygon, *, own_household_id: int | None
) -> BoundaryChange:
    moves = await reassign_households(conn, neighbourhood_id=nid, own_household_id=own_household_id)
    inside = await public_points_inside(conn, nid, boundary, exclude_household_id=own_household_id)
    row = (await neighbourhoods_by_id(conn, [nid]))[nid]
    return BoundaryChange(neighbourhood=row, moves=moves, public_points_inside=inside)


async def recently_drawn(conn: AsyncConnection, account_id: int, *, days: int) -> int:
    """Networks `account_id` drew in the last `days` days (a quota; callers hold the lock)."""
    result = await conn.execute(
        select(func.count()).where(
            Neighbourhood.created_by_account_id == account_id,
            Neighbourhood.created_at > func.now() - func.make_interval(0, 0, 0, days),
        )
    )
    return int(result.scalar_one())


PUBLIC_POINTS_INSIDE = text(
    """
    SELECT count(*) FROM households h, neighbourhoods n
     WHERE n.id = :nid
       AND h.home_location && ST_Expand(n.boundary, :dlng, :dlat)
       AND ST_Covers(n.boundary, h.public_location)
       AND h.neighbourhood_id <> :nid
       AND h.id IS DISTINCT FROM CAST(:own AS bigint)
    """
)
"""The exact points' GiST index only narrows the candidates to a box grown by more than the
largest displacement (every public point lies within it of its home, geo.privacy), so the
candidates are a superset and the answer is decided by the public points alone."""


async def public_points_inside(
    conn: AsyncConnection,
    neighbourhood_id: int,
    boundary: MultiPolygon,
    *,
    exclude_household_id: int | None,
) -> int:
    dlng, dlat = margin_degrees(boundary, PUBLIC_OFFSET_MAX_M * 1.25)
    parameters = {"nid": neighbourhood_id, "dlng": dlng, "dlat": dlat, "own": exclude_household_id}
    return int((await conn.execute(PUBLIC_POINTS_INSIDE, parameters)).scalar_one())


RULE_TARGETS = """
           (SELECT n.id FROM neighbourhoods n
             WHERE n.kind = 'POLYGON' AND ST_Covers(n.boundary, h.home_location)
             ORDER BY n.area_m2, n.created_at, n.id LIMIT 1) AS polygon_id,
           (SELECT c.id FROM neighbourhoods c
             WHERE c.kind = 'H3_CELL' AND c.h3_cell = h.h3_cell) AS cell_id
"""
"""The rule for the home of a household `h`: its smallest covering polygon (None: none), and the
neighbourhood of its cell (None: not created yet). A constant, shared by two statements."""

REASSIGN_TARGETS = text(
    """
    SELECT h.id, h.neighbourhood_id AS old_id, h.h3_cell,"""  # noqa: S608 (constants only)
    + RULE_TARGETS
    + """
      FROM households h
     WHERE h.neighbourhood_id = :nid
        OR ST_Covers((SELECT boundary FROM neighbourhoods WHERE id = :nid), h.home_location)
        OR h.id IN (SELECT m.household_id FROM neighbourhood_moves m
                     WHERE m.to_neighbourhood_id = :nid)
    """
)

APPLY_ASSIGNMENT = text(
    """
    UPDATE households h SET neighbourhood_id = u.nid
      FROM unnest(CAST(:ids AS bigint[]), CAST(:nids AS bigint[])) AS u(id, nid)
     WHERE h.id = u.id AND h.neighbourhood_id <> u.nid
    """
)
PROPOSE_MOVES = text(
    """
    INSERT INTO neighbourhood_moves AS m (household_id, to_neighbourhood_id)
    SELECT u.id, u.nid FROM unnest(CAST(:ids AS bigint[]), CAST(:nids AS bigint[])) AS u(id, nid)
    ON CONFLICT (household_id) DO UPDATE
       SET to_neighbourhood_id = EXCLUDED.to_neighbourhood_id, proposed_at = now(),
           declined_at = NULL
     WHERE m.to_neighbourhood_id IS DISTINCT FROM EXCLUDED.to_neighbourhood_id
    """
)
"""A proposal already made (pending or declined) to the same place is left as it is: a redraw
does not nag a household that said no."""
WITHDRAW_MOVES = text(
    "DELETE FROM neighbourhood_moves WHERE household_id = ANY(CAST(:ids AS bigint[]))"
)


async def reassign_households(
    conn: AsyncConnection, *, neighbourhood_id: int, own_household_id: int | None = None
) -> Reassignment:
    """Re-run the assignment rule for everyone inside the boundary, currently a member, or
    proposed a move here; move `own_household_id` (the drawer's), propose the others' moves.

    A household the rule leaves where it is loses any proposal (it is where it belongs). A
    proposal to a cell without a neighbourhood yet stores NULL: the cell is created when the
    household accepts, so that no public row appears because of where a home is.
    """
    targets = (await conn.execute(REASSIGN_TARGETS, {"nid": neighbourhood_id})).all()
    staying: list[int] = []
    proposed: list[tuple[int, int | None]] = []
    moved_in = moved_out = 0
    for row in targets:
        target = row.polygon_id if row.polygon_id is not None else row.cell_id
        if row.id == own_household_id:
            staying.append(row.id)
            if target == row.old_id:
                continue
            if target is None:
                target = (await ensure_cell_neighbourhoods(conn, [row.h3_cell]))[row.h3_cell]
            await conn.execute(APPLY_ASSIGNMENT, {"ids": [row.id], "nids": [target]})
            moved_in += target == neighbourhood_id
            moved_out += row.old_id == neighbourhood_id
        elif target == row.old_id:
            staying.append(row.id)
        else:
            proposed.append((row.id, target))
    if staying:
        await conn.execute(WITHDRAW_MOVES, {"ids": staying})
    if proposed:
        ids, nids = zip(*sorted(proposed), strict=True)
        await conn.execute(PROPOSE_MOVES, {"ids": list(ids), "nids": list(nids)})
    return Reassignment(moved_in=moved_in, moved_out=moved_out)


PENDING_MOVE = text(
    """
    SELECT m.household_id, coalesce(m.to_neighbourhood_id, c.id) AS to_neighbourhood_id,
           h.h3_cell, m.proposed_at
      FROM neighbourhood_moves m JOIN households h ON h.id = m.household_id
      LEFT JOIN neighbourhoods c ON m.to_neighbourhood_id IS NULL
                                AND c.kind = 'H3_CELL' AND c.h3_cell = h.h3_cell
     WHERE m.household_id = :hid AND m.declined_at IS NULL
    """
)


async def pending_move(conn: AsyncConnection, household_id: int) -> MoveRow | None:
    """The household's pending (not declined) proposal, if any; a move to its cell names the
    cell's neighbourhood once someone created it (a registration there)."""
    row = (await conn.execute(PENDING_MOVE, {"hid": household_id})).one_or_none()
    return MoveRow(**row._mapping) if row else None


MOVE_FOR_UPDATE = text(
    """
    SELECT m.to_neighbourhood_id, h.neighbourhood_id AS old_id, h.h3_cell,"""  # noqa: S608 (constants only)
    + RULE_TARGETS
    + """
      FROM neighbourhood_moves m JOIN households h ON h.id = m.household_id
     WHERE m.household_id = :hid AND m.declined_at IS NULL
       FOR UPDATE OF m, h
    """
)
DECLINE_MOVE = text("UPDATE neighbourhood_moves SET declined_at = now() WHERE household_id = :hid")


def shown_target(row: Any) -> int | None:
    """The neighbourhood `pending_move` shows for a MOVE_FOR_UPDATE row (None: a cell to create)."""
    return int(row.to_neighbourhood_id) if row.to_neighbourhood_id is not None else row.cell_id


def proposal_matches(row: Any, expected_neighbourhood_id: int | None) -> bool:
    """The pending move is the one shown (when the client says which) and still the rule's
    answer for the home (proposals follow every boundary change; this is the belt to those
    braces)."""
    if expected_neighbourhood_id is not None and shown_target(row) != expected_neighbourhood_id:
        return False
    if row.polygon_id is not None:
        return bool(row.to_neighbourhood_id == row.polygon_id)
    return row.to_neighbourhood_id in (None, row.cell_id)


async def accept_move(
    conn: AsyncConnection, household_id: int, *, expected_neighbourhood_id: int | None
) -> MoveDecision:
    """Move the household where its pending proposal says, in the caller's transaction."""
    await lock_boundaries(conn, exclusive=False)
    row = (await conn.execute(MOVE_FOR_UPDATE, {"hid": household_id})).one_or_none()
    if row is None:
        return MoveDecision(status="NONE")
    if not proposal_matches(row, expected_neighbourhood_id):
        return MoveDecision(status="CHANGED")
    target = row.polygon_id if row.polygon_id is not None else row.cell_id
    if target is None:
        target = (await ensure_cell_neighbourhoods(conn, [row.h3_cell]))[row.h3_cell]
    await conn.execute(APPLY_ASSIGNMENT, {"ids": [household_id], "nids": [target]})
    await conn.execute(WITHDRAW_MOVES, {"ids": [household_id]})
    return MoveDecision(
        status="DONE", neighbourhood=(await neighbourhoods_by_id(conn, [target]))[target]
    )


async def decline_move(
    conn: AsyncConnection, household_id: int, *, expected_neighbourhood_id: int | None
) -> MoveDecision:
    """Keep the household where it is and remember the refusal (not proposed again as such)."""
    await lock_boundaries(conn, exclusive=False)
    row = (await conn.execute(MOVE_FOR_UPDATE, {"hid": household_id})).one_or_none()
    if row is None:
        return MoveDecision(status="NONE")
    if expected_neighbourhood_id is not None and shown_target(row) != expected_neighbourhood_id:
        return MoveDecision(status="CHANGED")
    await conn.execute(DECLINE_MOVE, {"hid": household_id})
    return MoveDecision(status="DONE")

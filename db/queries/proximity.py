"""Building blocks of the nearest-first searches (lenders, posts, gardens), in one place.

Every such search orders by the KNN operator `<->` on a `::geography` expression, alone and
`WITH TIES`, bounded by `ST_DWithin` on the same expression: that is the shape PostgreSQL serves
with one walk of the GiST index in distance order (adding the id to the ORDER BY turns the plan
into "fetch all in range, sort"). Pages are keyset on (distance, id); the caller gets the whole
last tie group and cuts it with `nearest_page`. Distances are metres on the sphere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Float, Row, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.queries.neighbourhoods import point_param
from geo.coords import LngLat


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)


def sphere_distance(location: Any, origin: LngLat) -> ColumnElement[float]:
    """`location::geography <-> origin::geography`: metres on the sphere, as the index orders.

    The same expression orders, pages and is reported, so the keyset comparison and the index
    order never disagree (`ST_Distance` rounds differently on near-ties).
    """
    origin_geog = func.Geography(point_param(origin))
    return func.Geography(location).op("<->", return_type=Float)(origin_geog)


def within_sphere(location: Any, origin: LngLat, max_distance_m: float) -> ColumnElement[bool]:
    """`ST_DWithin` on the sphere (like `<->`), served by the same GiST index."""
    return func.ST_DWithin(
        func.Geography(location), func.Geography(point_param(origin)), float(max_distance_m), False
    )


def after_pair(
    distance: ColumnElement[float], ident: Any, after: tuple[float, int]
) -> ColumnElement[bool]:
    """Rows strictly after the (distance_m, id) pair of the last row already shown."""
    after_distance, after_id = after
    return or_(distance > after_distance, and_(distance == after_distance, ident > after_id))


def nearest_query(
    columns: Sequence[Any],
    location: Any,
    ident: Any,
    origin: LngLat,
    *,
    filters: Sequence[ColumnElement[bool]] = (),
    limit: int,
    after: tuple[float, int] | None,
    max_distance_m: float,
) -> Select[Any]:
    """`columns` and `distance_m` of rows within `max_distance_m` of `origin` that pass
    `filters`, nearest first, `limit` rows `WITH TIES`, strictly `after` a (distance_m, id) pair.

    `location` must be the column a GiST index serves as `location::geography` (with the index's
    predicate among `filters` when it is partial); `ident` is the id column that breaks ties.
    """
    distance = sphere_distance(location, origin)
    conditions = [*filters, within_sphere(location, origin, max_distance_m)]
    if after is not None:
        conditions.append(after_pair(distance, ident, after))
    return (
        select(*columns, distance.label("distance_m"))
        .where(*conditions)
        .order_by(distance)
        .fetch(limit, with_ties=True)
    )


async def fetch_nearest(
    conn: AsyncConnection,
    statement: Select[Any],
    to_row: Callable[[Row[Any]], R],
    limit: int,
) -> list[tuple[R, float]]:
    """Run a `nearest_query` and keep the first `limit` (row, distance_m) pairs."""
    result = await conn.execute(statement)
    return nearest_page([(to_row(row), float(row.distance_m)) for row in result], limit)


def nearest_page(rows: Sequence[tuple[R, float]], limit: int) -> list[tuple[R, float]]:
    """Sort a `WITH TIES` result by (distance_m, id) and keep `limit` rows."""
    return sorted(rows, key=lambda pair: (pair[1], pair[0].id))[:limit]


async def distance_to_m(
    conn: AsyncConnection, location: Any, ident: Any, row_id: int, origin: LngLat
) -> float | None:
    """Distance from `origin` to one row's `location` (None: no such row), as the searches
    compute it: to resume a search after that row, whose cursor holds its id only."""
    result = await conn.execute(select(sphere_distance(location, origin)).where(ident == row_id))
    value = result.scalar_one_or_none()
    return float(value) if value is not None else None

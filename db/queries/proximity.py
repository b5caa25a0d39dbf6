"""Building blocks of the nearest-first searches (lenders, posts, gardens), in one place.

Every such search orders by the KNN operator `<->` on a `::geography` expression, alone and
`WITH TIES`, bounded by `ST_DWithin` on the same expression: that is the shape PostgreSQL serves
with one walk of the GiST index in distance order (adding the id to the ORDER BY turns the plan
into "fetch all in range, sort"). Pages are keyset on (distance, id); the caller gets the whole
last tie group and cuts it with `nearest_page`. Distances are metres on the sphere.

The statements have bind parameters for everything a request varies (`nearest_parameters`), so a
search builds its statement once per shape (filters, first page or not) and reuses it: building
a `Select` and computing its cache key cost more CPU than PostgreSQL spends running it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
)

from db.fastpaths.reads import ReadStatement
from db.searches import ReadConnection, fetch_all
from geo.coords import LngLat


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)


ORIGIN_LNG = bindparam("origin_lng", type_=Float)
ORIGIN_LAT = bindparam("origin_lat", type_=Float)
MAX_DISTANCE_M = bindparam("max_distance_m", type_=Float)
LIMIT = bindparam("limit", type_=Integer)
AFTER_DISTANCE_M = bindparam("after_distance_m", type_=Float)
AFTER_ID = bindparam("after_id", type_=Integer)


def origin_param() -> ColumnElement[Any]:
    """The search origin as a bound SRID-4326 point (`origin_lng`, `origin_lat`)."""
    return func.ST_SetSRID(func.ST_MakePoint(ORIGIN_LNG, ORIGIN_LAT), 4326)


def nearest_parameters(
    origin: LngLat, *, limit: int, after: tuple[float, int] | None, max_distance_m: float
) -> dict[str, Any]:
    """The bind parameters of a `nearest_statement` for one request."""
    parameters: dict[str, Any] = {
        "origin_lng": origin.lng,
        "origin_lat": origin.lat,
        "max_distance_m": float(max_distance_m),
        "limit": limit,
    }
    if after is not None:
        parameters["after_distance_m"], parameters["after_id"] = after
    return parameters


def sphere_distance(location: Any) -> ColumnElement[float]:
    """`location::geography <-> origin::geography` for the bound origin: metres on the sphere,
    as the index orders.

    The same expression orders, pages and is reported, so the keyset comparison and the index
    order never disagree (`ST_Distance` rounds differently on near-ties).
    """
    return func.Geography(location).op("<->", return_type=Float)(func.Geography(origin_param()))


def within_sphere(location: Any) -> ColumnElement[bool]:
    """`ST_DWithin` of the bound origin and `max_distance_m` on the sphere (like `<->`),
    served by the same GiST index."""
    return func.ST_DWithin(
        func.Geography(location), func.Geography(origin_param()), MAX_DISTANCE_M, False
    )


def after_pair(distance: ColumnElement[float], ident: Any) -> ColumnElement[bool]:
    """Rows strictly after the bound (after_distance_m, after_id) pair of the last row shown."""
    return or_(distance > AFTER_DISTANCE_M, and_(distance == AFTER_DISTANCE_M, ident > AFTER_ID))


def nearest_statement(
    columns: Sequence[Any],
    location: Any,
    ident: Any,
    *,
    filters: Sequence[ColumnElement[bool]] = (),
    resumed: bool,
) -> Select[Any]:
    """`columns` and `distance_m` of rows within `max_distance_m` of the origin that pass
    `filters`, nearest first, `limit` rows `WITH TIES`, strictly after the (after_distance_m,
    after_id) pair when `resumed`: every value a bind parameter (`nearest_parameters`).

    `location` must be the column a GiST index serves as `location::geography` (with the index's
    predicate among `filters` when it is partial); `ident` is the id column that breaks ties.
    Build it once per shape and keep it (`functools.cache`): its SQL is then compiled once.
    """
    distance = sphere_distance(location)
    conditions = [*filters, within_sphere(location)]
    if resumed:
        conditions.append(after_pair(distance, ident))
    return (
        select(*columns, distance.label("distance_m"))
        .where(*conditions)
        .order_by(distance)
        .fetch(LIMIT, with_ties=True)
    )


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
    """A `nearest_statement` with this request's values bound: one to EXPLAIN or run once."""
    statement = nearest_statement(
        columns, location, ident, filters=filters, resumed=after is not None
    )
    return statement.params(
        nearest_parameters(origin, limit=limit, after=after, max_distance_m=max_distance_m)
    )


async def fetch_nearest(
    conn: ReadConnection,
    statement: ReadStatement,
    to_row: Callable[[Any], R],
    limit: int,
    parameters: dict[str, Any],
) -> list[tuple[R, float]]:
    """Run a compiled `nearest_statement` with `parameters` (from `nearest_parameters`) and
    keep the first `limit` (row, distance_m) pairs."""
    rows = await fetch_all(conn, statement, parameters)
    return nearest_page([(to_row(row), float(row.distance_m)) for row in rows], limit)


def nearest_page(rows: Sequence[tuple[R, float]], limit: int) -> list[tuple[R, float]]:
    """Sort a `WITH TIES` result by (distance_m, id) and keep `limit` rows."""
    return sorted(rows, key=lambda pair: (pair[1], pair[0].id))[:limit]


ROW_ID = bindparam("row_id", type_=Integer)


def distance_statement(location: Any, ident: Any) -> ReadStatement:
    """Distance from the bound origin to the row `row_id`'s `location`, as the searches compute
    it (build it once per table)."""
    return ReadStatement.of(select(sphere_distance(location)).where(ident == ROW_ID))


async def distance_to_m(
    conn: ReadConnection, statement: ReadStatement, row_id: int, origin: LngLat
) -> float | None:
    """Distance from `origin` to one row (None: no such row), with a `distance_statement`: to
    resume a search after that row, whose cursor holds its id only."""
    rows = await fetch_all(
        conn, statement, {"origin_lng": origin.lng, "origin_lat": origin.lat, "row_id": row_id}
    )
    return float(rows[0][0]) if rows else None

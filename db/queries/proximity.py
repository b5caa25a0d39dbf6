"""Building blocks of the nearest-first searches (lenders, posts, gardens), in one place.

Every such search orders by the KNN operator `<->` on a `::geography` expression, alone and
`WITH TIES`, bounded by `ST_DWithin` on the same expression: that is the shape PostgreSQL serves
with one walk of the GiST index in distance order (adding the id to the ORDER BY turns the plan
into "fetch all in range, sort"). Pages are keyset on (distance, id); the caller gets the whole
last tie group and cuts it with `nearest_page`. Distances are metres on the sphere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Float, and_, func, or_

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


def nearest_page(rows: Sequence[tuple[R, float]], limit: int) -> list[tuple[R, float]]:
    """Sort a `WITH TIES` result by (distance_m, id) and keep `limit` rows."""
    return sorted(rows, key=lambda pair: (pair[1], pair[0].id))[:limit]

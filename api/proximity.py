"""The rules every nearest-first search shares: `nearestLenders`, `postsNear`, `gardensNear`.

Privacy (docs/sharing.md): no circle smaller than the proximity floor, since "anything within
50 m of here?" asked from many points would draw households' public points on a map; distances
leave rounded; cursors hold an id only, and the distance is recomputed from the origin, since an
exact distance in a cursor anyone can decode would give away what the rounded one hides. Keeping
these rules here, rather than in each resolver, is what keeps the three searches alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, NamedTuple, Protocol, TypeVar

import strawberry

from api.errors import ErrorCode, UserError
from api.inputs import LocationInput
from api.pagination import PageInfo, decode_id_cursor, encode_cursor, page_info, page_size
from api.ratelimit import proximity_refusal
from api.settings import Settings
from db.queries.proximity import R
from db.replicas import run_read
from db.searches import ReadConnection, Reads
from geo.coords import LngLat
from geo.distance import round_distance_m

WIDENING_STEPS_M = (2_000, 5_000, 10_000, 25_000)
"""Radii a search without maxDistanceMeters reports, below the ceiling (settings)."""

SearchOrigin = Annotated[
    LocationInput, strawberry.argument(description="Where to search from, e.g. your home.")
]
SearchAfter = Annotated[
    str | None,
    strawberry.argument(description="endCursor of the previous page, with the same near."),
]
MaxDistanceMeters = Annotated[
    int | None,
    strawberry.argument(
        description="Farthest to look, in metres: at least the proximity floor (500 by "
        "default), at most the ceiling (50,000 by default)."
    ),
]
"""The `maxDistanceMeters` argument of every nearest-first search; see `check_max_distance`."""

Anchor = tuple[float, int]
"""(distance_m, id) of the last row already shown: where the next page starts."""


Node = TypeVar("Node")
Edge = TypeVar("Edge")
Connection = TypeVar("Connection")
Node_contra = TypeVar("Node_contra", contravariant=True)
Edge_co = TypeVar("Edge_co", covariant=True)
Connection_co = TypeVar("Connection_co", covariant=True)


class EdgeType(Protocol[Node_contra, Edge_co]):
    """A search's edge type, e.g. `ItemSearchEdge`."""

    def __call__(self, *, node: Node_contra, cursor: str, distance_meters: int) -> Edge_co: ...


class ConnectionType(Protocol[Edge, Connection_co]):
    """A search's connection type, e.g. `ItemSearchConnection`."""

    def __call__(
        self, *, edges: list[Edge], page_info: PageInfo, searched_radius_meters: int
    ) -> Connection_co: ...


class DistanceQuery(Protocol):
    """A `db.queries` function: metres from `origin` to row `row_id` (None: no such row)."""

    def __call__(
        self, conn: ReadConnection, origin: LngLat, row_id: int, /
    ) -> Awaitable[float | None]: ...


class NearestQuery(Protocol[R]):
    """A `db.queries` search: up to `limit` (row, distance_m) pairs, nearest first."""

    def __call__(
        self,
        conn: ReadConnection,
        origin: LngLat,
        /,
        *,
        limit: int,
        after: Anchor | None,
        max_distance_m: float,
    ) -> Awaitable[list[tuple[R, float]]]: ...


async def charge_proximity_searches(context: object, searches: int = 1) -> None:
    """Charge `searches` proximity searches to the client behind `context` (its address, its
    account or partner key), or raise RATE_LIMITED with `retryAfterSeconds`.

    For every path that searches around a point outside the operations the rate-limit guard
    already charges (`api.cost.PROXIMITY_FIELDS`): a subscription filtered by distance, its
    catch-up. Each call is one more point an attacker learns about; a context without rate
    limits (a test's) charges nothing.
    """
    limits = getattr(context, "rate_limits", None)
    refusal = await proximity_refusal(limits, context, searches)
    if refusal is not None:
        wait_s = (refusal.extensions or {})["retryAfterSeconds"]
        raise UserError(ErrorCode.RATE_LIMITED, refusal.message, retryAfterSeconds=wait_s)


def check_max_distance(max_distance_m: int | None, settings: Settings) -> int:
    """The search bound in metres: the ceiling, or `max_distance_m` if within floor..ceiling.

    The floor is a privacy rule: "anything within 50 m of here?" asked from many points would
    draw households' public points on a map.
    """
    floor_m, ceiling_m = settings.proximity_floor_m, settings.search_ceiling_m
    if max_distance_m is None:
        return ceiling_m
    if not floor_m <= max_distance_m <= ceiling_m:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`maxDistanceMeters` must be between {floor_m} and {ceiling_m}: searches closer "
            f"than {floor_m} m are refused to protect where households live; got "
            f"{max_distance_m}.",
            argument="maxDistanceMeters",
        )
    return max_distance_m


def widening_radius_m(last_distance_m: float | None, settings: Settings) -> int:
    """The radius a widening search stops at: the first step holding a full page.

    Equivalent to querying 2, 5, 10, 25 km, then the ceiling, in turn, but computed from one
    KNN scan bounded by the ceiling, which stops after a page anyway. `last_distance_m` is the
    distance of the page's last row when the page is full, else None (the ceiling was reached).
    """
    floor_m, ceiling_m = settings.proximity_floor_m, settings.search_ceiling_m
    if last_distance_m is None:
        return ceiling_m
    steps = [step for step in WIDENING_STEPS_M if floor_m <= step < ceiling_m]
    return next((step for step in steps if last_distance_m <= step), ceiling_m)


class NearestEdge(NamedTuple, Generic[R]):
    """A row of a page as it may leave: an id-only cursor and a rounded distance in metres."""

    row: R
    cursor: str
    distance_meters: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NearestPage(Generic[R]):
    """One page of a nearest-first search, ready to wrap in its connection type."""

    edges: list[NearestEdge[R]]
    page_info: PageInfo
    searched_radius_m: int

    def connection(
        self,
        connection: ConnectionType[Edge, Connection],
        edge: EdgeType[Node, Edge],
        node: Callable[[R], Node],
    ) -> Connection:
        """The page as `connection` of `edge`s whose nodes are built from rows by `node`."""
        return connection(
            edges=[
                edge(node=node(each.row), cursor=each.cursor, distance_meters=each.distance_meters)
                for each in self.edges
            ],
            page_info=self.page_info,
            searched_radius_meters=self.searched_radius_m,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NearestSearch:
    """The checked arguments of one search (`limit`: the page size), and how to run it.

    `cursor_kind` tells its cursors from other searches'; `noun` names its rows in errors.
    """

    origin: LngLat
    limit: int
    max_distance_m: int
    widens: bool
    cursor_kind: str
    noun: str
    settings: Settings

    @classmethod
    def from_arguments(
        cls,
        near: LocationInput,
        *,
        first: int | None,
        max_distance_meters: int | None,
        cursor_kind: str,
        noun: str,
        settings: Settings,
    ) -> NearestSearch:
        """Checked in argument order: `near`, `first`, then `maxDistanceMeters`."""
        origin = near.to_lnglat()
        limit = page_size(first, settings.max_page_size)
        return cls(
            origin=origin,
            limit=limit,
            max_distance_m=check_max_distance(max_distance_meters, settings),
            widens=max_distance_meters is None,
            cursor_kind=cursor_kind,
            noun=noun,
            settings=settings,
        )

    async def run(
        self,
        reads: Reads,
        after: str | None,
        *,
        distance_m: DistanceQuery,
        rows: NearestQuery[R],
    ) -> NearestPage[R]:
        """The page after the `after` cursor: its row's distance is recomputed by `distance_m`
        (a row deleted since is an INVALID_CURSOR), then `rows` fetches one row more than a
        page, which only tells that a next page exists."""
        after_id = decode_id_cursor(after, self.cursor_kind)

        async def read(conn: ReadConnection) -> tuple[list[tuple[R, float]], Anchor | None]:
            anchor = None
            if after_id is not None:
                found_m = await distance_m(conn, self.origin, after_id)
                if found_m is None:
                    raise UserError(
                        ErrorCode.INVALID_CURSOR,
                        f"The {self.noun} this cursor points at was deleted: start from the "
                        "first page.",
                    )
                anchor = (found_m, after_id)
            found = await rows(
                conn,
                self.origin,
                limit=self.limit + 1,
                after=anchor,
                max_distance_m=self.max_distance_m,
            )
            return found, anchor

        # On a standby when the request may read there; on the primary again if it fails.
        found, anchor = await run_read(reads, read)
        return self.page(found, resumed=anchor is not None)

    def page(self, rows: Sequence[tuple[R, float]], *, resumed: bool) -> NearestPage[R]:
        """The page from up to `limit + 1` (row, exact distance_m) pairs, nearest first."""
        shown = rows[: self.limit]
        if self.widens:
            full = len(shown) == self.limit
            searched_m = widening_radius_m(shown[-1][1] if full else None, self.settings)
        else:
            searched_m = self.max_distance_m
        edges = [
            NearestEdge(row, encode_cursor(self.cursor_kind, row.id), round_distance_m(distance_m))
            for row, distance_m in shown
        ]
        return NearestPage(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges],
                has_next_page=len(rows) > self.limit,
                has_previous_page=resumed,
            ),
            searched_radius_m=searched_m,
        )

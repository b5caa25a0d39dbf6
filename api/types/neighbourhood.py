"""The public Neighbourhood type, built explicitly from `NeighbourhoodRow`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from shapely.geometry import mapping
from strawberry import relay

from api.context import Context
from api.pagination import PageInfo
from api.scalars import GeoJSON, H3Cell
from api.types.members import members_by_value
from api.validation import node_keys
from db.rows import NeighbourhoodRow
from geo.cells import cell_to_polygon

if TYPE_CHECKING:
    from api.types.post import PostConnection, PostKind


@strawberry.enum(description="How a neighbourhood's extent was decided.")
class NeighbourhoodKind(Enum):
    POLYGON = strawberry.enum_value(
        "POLYGON", description="A boundary drawn by residents, often a commune or part of a town."
    )
    H3_CELL = strawberry.enum_value(
        "H3_CELL",
        description="An H3 cell holding the homes no polygon covers, so nobody is left out.",
    )


@strawberry.enum(description="Who becomes a member of a neighbourhood.")
class MembershipPolicy(Enum):
    OPEN = strawberry.enum_value(
        "OPEN", description="Living there is enough (the default): geography alone decides."
    )
    APPROVAL = strawberry.enum_value(
        "APPROVAL",
        description="Newcomers wait until an ambassador checks they are really neighbours "
        "(approveMembership), unless they came with an invitation of this neighbourhood.",
    )


KIND_OF = members_by_value(NeighbourhoodKind)
POLICY_OF = members_by_value(MembershipPolicy)

SMALL_COUNT = 5
"""k-anonymity threshold: a count of households below it is not shown to strangers (null)."""


def coarse_count(count: int) -> int | None:
    """A count about strangers' households for someone who may not see them: null below
    `SMALL_COUNT`, else rounded down to a multiple of it, so that no answer, nor the difference
    of two answers, singles out one household."""
    return None if count < SMALL_COUNT else count - count % SMALL_COUNT


@strawberry.type(description="A neighbourhood network: the community a household belongs to.")
class Neighbourhood(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Display name, e.g. the commune's name.")
    kind: NeighbourhoodKind = strawberry.field(description="Drawn polygon or H3 cell.")
    h3_cell: H3Cell | None = strawberry.field(description="The cell, for H3_CELL neighbourhoods.")
    commune_code: str | None = strawberry.field(description="INSEE code of the commune, if any.")
    area_square_meters: float = strawberry.field(description="Area on the spheroid, in m².")
    created_at: datetime = strawberry.field(description="When the neighbourhood was created.")
    membership_policy: MembershipPolicy = strawberry.field(
        description="Whether living there is enough to be a member, or an ambassador approves "
        "newcomers (see pendingMemberships)."
    )
    shown_to_reader: strawberry.Private[bool] = False
    """Built for someone who reads this network although the request's viewer does not say so
    yet: its drawer, in the payload of the mutation that made them its ambassador."""

    @classmethod
    def from_row(cls, row: NeighbourhoodRow, *, shown_to_reader: bool = False) -> Neighbourhood:
        return cls(
            shown_to_reader=shown_to_reader,
            id=row.id,
            name=row.name,
            kind=KIND_OF[row.kind],
            h3_cell=H3Cell(row.h3_cell) if row.h3_cell else None,
            commune_code=row.commune_code,
            area_square_meters=round(row.area_m2, 1),
            created_at=row.created_at,
            membership_policy=POLICY_OF[row.membership_policy],
        )

    @strawberry.field(description="The boundary as a GeoJSON MultiPolygon (lng/lat, WGS 84).")
    async def boundary(self, info: strawberry.Info[Context, None]) -> GeoJSON:
        value = await info.context.loaders.boundary_by_neighbourhood_id.load(self.id)
        return GeoJSON(value)

    @strawberry.field(
        description="How many households are members now (approved: under an APPROVAL policy, "
        "households waiting for an ambassador are not counted). Exact for its members, "
        "ambassadors and admins; for anyone else null when fewer than 5 (a small count says "
        "too much about a few homes)."
    )
    async def member_count(self, info: strawberry.Info[Context, None]) -> int | None:
        count = await info.context.loaders.member_count_by_neighbourhood_id.load(self.id) or 0
        if count >= SMALL_COUNT or self.shown_to_reader or info.context.viewer.can_read(self.id):
            return count
        return None

    @strawberry.field(
        description="Posts of this neighbourhood, newest first; hidden and expired ones are left "
        "out. Members, its ambassadors and admins only: for anyone else it is null with a "
        "FORBIDDEN error (UNAUTHENTICATED when signed out), never an empty page."
    )
    async def posts(
        self,
        info: strawberry.Info[Context, None],
        kinds: Annotated[
            list[Annotated[PostKind, strawberry.lazy("api.types.post")]] | None,
            strawberry.argument(description="Only these kinds; null or empty: every kind."),
        ] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Annotated[PostConnection, strawberry.lazy("api.types.post")] | None:
        from api.types.post import posts_page  # the post types build on this module

        return await posts_page(info, self.id, kinds=kinds, first=first, after=after)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: strawberry.Info[Context, None],
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Neighbourhood | None]:
        rows = await info.context.loaders.neighbourhood_by_id.load_many(node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A neighbourhood with its approximate distance from the origin.")
class NeighbourhoodEdge:
    node: Neighbourhood
    cursor: str
    distance_meters: int = strawberry.field(
        description="Distance from the origin to the boundary (0 inside), rounded: to 100 m "
        "below 2 km, to 500 m above, never less than 100."
    )


@strawberry.type(description="Neighbourhoods, nearest first.")
class NeighbourhoodConnection:
    edges: list[NeighbourhoodEdge]
    page_info: PageInfo


@strawberry.type(description="Where a point falls, without creating anything.")
class NeighbourhoodLookup:
    neighbourhood: Neighbourhood | None = strawberry.field(
        description="The neighbourhood a home here would join; null when it would be a new "
        "H3_CELL neighbourhood, created on first registration."
    )
    kind: NeighbourhoodKind = strawberry.field(description="Kind of that neighbourhood.")
    h3_cell: H3Cell = strawberry.field(
        description="The point's H3 cell at the configured resolution."
    )

    @strawberry.field(
        description="The outline of the area a home here would join, as GeoJSON (lng/lat, WGS "
        "84): the neighbourhood's boundary (a MultiPolygon), or, when no network exists yet, "
        "the hexagon of the H3 cell (a Polygon) that registration would create."
    )
    async def outline(self, info: strawberry.Info[Context, None]) -> GeoJSON:
        if self.neighbourhood is not None:
            loaders = info.context.loaders
            return GeoJSON(await loaders.boundary_by_neighbourhood_id.load(self.neighbourhood.id))
        return GeoJSON(mapping(cell_to_polygon(self.h3_cell)))


@strawberry.type(
    description="A move proposed to your household because a boundary was drawn or changed: the "
    "assignment rule now puts your home in another network. Nothing changes until you accept "
    "(acceptNeighbourhoodMove); you keep your network, its feed and your status meanwhile. Only "
    "your household sees it: whoever drew the boundary is not told."
)
class NeighbourhoodMove:
    neighbourhood: Neighbourhood | None = strawberry.field(
        description="Where you would move; null when it is your home's H3_CELL network, which "
        "does not exist yet and is created if you accept."
    )
    kind: NeighbourhoodKind = strawberry.field(description="Kind of that network.")
    h3_cell: H3Cell = strawberry.field(description="Your home's H3 cell.")
    proposed_at: datetime = strawberry.field(description="When the boundary change proposed it.")

"""The public Garden type and its search connection, built explicitly from `GardenRow`.

Privacy rule: a PRIVATE garden is usually its owner's own garden, so its exact point and its
boundary would show where the owner lives. Everyone but the owner household sees it at the centre
of its area (an H3 cell of about 36 km², `geo.routes.lnglat_to_area_centre`, as carpool ends) and
without a boundary; distances to it are measured from the owner's public (displaced, 150–400 m)
location and rounded. That public location itself never leaves as coordinates, as for items,
posts and households: a displaced point shown exactly could be averaged or trilaterated back
towards the home. A COMMUNITY garden is a public place: its point (on its boundary's surface when
drawn) and boundary are shown to all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.inputs import Location
from api.pagination import (
    PageInfo,
    decode_id_cursor,
    encode_cursor,
    keyset_page_info,
    page_size,
)
from api.scalars import GeoJSON
from api.types.neighbour import Neighbour
from api.validation import node_keys
from db.queries.gardens import GardenRow, WaitlistEntryRow
from geo.routes import lnglat_to_area_centre
from services import gardens as garden_service

Info = strawberry.Info[Context, None]

WAITLIST_CURSOR_KIND = "w"


@strawberry.enum(description="Who a garden belongs to.")
class GardenKind(Enum):
    COMMUNITY = strawberry.enum_value(
        "COMMUNITY", description="Jardin partagé: a shared community garden, a public place."
    )
    PRIVATE = strawberry.enum_value(
        "PRIVATE",
        description="Jardin privé: a household's own garden offered for sharing; its exact "
        "place is shown to the owner household only.",
    )


@strawberry.type(description="A garden with plots to share, and a waiting list for them.")
class Garden(relay.Node):
    id: relay.NodeID[int]
    kind: GardenKind = strawberry.field(description="Community or private.")
    name: str = strawberry.field(description="Display name, 1 to 120 characters.")
    description: str = strawberry.field(description="Details, up to 2,000 characters.")
    plots_total: int = strawberry.field(description="How many plots the garden has.")
    plots_free: int = strawberry.field(description="How many of them are free now.")
    created_at: datetime = strawberry.field(description="When the garden was listed.")
    row: strawberry.Private[GardenRow]

    @classmethod
    def from_row(cls, row: GardenRow) -> Garden:
        return cls(
            id=row.id,
            kind=GardenKind(row.kind),
            name=row.name,
            description=row.description,
            plots_total=row.plots_total,
            plots_free=row.plots_free,
            created_at=row.created_at,
            row=row,
        )

    def shows_exact_place(self, info: Info) -> bool:
        return self.row.kind == "COMMUNITY" or info.context.viewer.household_id == (
            self.row.household_id
        )

    @strawberry.field(
        description="Where to show the garden on a map: its own point for a COMMUNITY garden "
        "and, for a PRIVATE one, to its owner household. Everyone else sees a PRIVATE garden at "
        "the centre of its area (about 6 km across), the same for every garden of that area."
    )
    def location(self, info: Info) -> Location:
        if self.shows_exact_place(info):
            return Location.from_lnglat(self.row.location)
        # From the public point, not the exact one: nothing others see starts from the home.
        return Location.from_lnglat(lnglat_to_area_centre(self.row.public))

    @strawberry.field(
        description="The garden's exact point (on its boundary's surface when drawn). A "
        "COMMUNITY garden's is public; a PRIVATE garden's is null for all but its owner."
    )
    def exact_location(self, info: Info) -> Location | None:
        return Location.from_lnglat(self.row.location) if self.shows_exact_place(info) else None

    @strawberry.field(
        description="The boundary as a GeoJSON MultiPolygon (lng/lat), when one was drawn; for "
        "a PRIVATE garden, null for all but its owner."
    )
    def boundary(self, info: Info) -> GeoJSON | None:
        if self.row.boundary_geojson is None or not self.shows_exact_place(info):
            return None
        return GeoJSON(self.row.boundary_geojson)

    @strawberry.field(description="The household that offers the garden: name and neighbourhood.")
    async def owner(self, info: Info) -> Neighbour:
        return await Neighbour.load(info, self.row.household_id)

    @strawberry.field(description="How many households are waiting for a plot.")
    async def waitlist_length(self, info: Info) -> int:
        return await info.context.loaders.waitlist_length_by_garden_id.load(self.row.id) or 0

    @strawberry.field(
        description="Your household's place on the waiting list, 1 for the first to have "
        "joined (ties by order of arrival); null when you are not on it or not signed in."
    )
    async def my_waitlist_position(self, info: Info) -> int | None:
        household_id = info.context.viewer.household_id
        if household_id is None:
            return None
        loader = info.context.loaders.waitlist_position_by_garden_household
        return await loader.load((self.row.id, household_id))

    @strawberry.field(
        description="The waiting list, first in line first, with each household's name: for "
        "the owner household only (null for everyone else). One statement per page."
    )
    async def waitlist(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> WaitlistConnection | None:
        limit = page_size(first, info.context.settings.max_page_size)
        after_position = decode_id_cursor(after, WAITLIST_CURSOR_KIND)
        rows = await garden_service.waitlist(
            info.context.reader,
            household_id=info.context.viewer.household_id,
            garden=self.row,
            limit=limit + 1,
            after_position=after_position,
        )
        if rows is None:
            return None
        edges = [WaitlistEdge.from_row(row) for row in rows[:limit]]
        return WaitlistConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=after_position),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Garden | None]:
        rows = await info.context.loaders.garden_by_id.load_many(node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A garden with its approximate distance from the search origin.")
class GardenSearchEdge:
    node: Garden
    cursor: str = strawberry.field(description="Pass as `after` to continue after this garden.")
    distance_meters: int = strawberry.field(
        description="Distance from the origin to the garden's point (a PRIVATE garden's: its "
        "owner's public location, displaced 150 to 400 m from the home), rounded: to 100 m "
        "below 2 km, to 500 m above, never less than 100."
    )


@strawberry.type(description="Gardens, nearest first.")
class GardenSearchConnection:
    edges: list[GardenSearchEdge]
    page_info: PageInfo
    searched_radius_meters: int = strawberry.field(
        description="How far this page looked, in metres: maxDistanceMeters when given; "
        "otherwise the first of 2, 5, 10, 25 km and the ceiling (50 km by default) that holds "
        "a full page, or the ceiling when fewer gardens were found."
    )


@strawberry.type(description="A household waiting for a plot, as the garden's owner sees it.")
class WaitlistEntry:
    position: int = strawberry.field(description="Its place on the list, 1 = next in line.")
    household_name: str = strawberry.field(description="The waiting household's display name.")
    joined_at: datetime = strawberry.field(description="When it joined the list.")


@strawberry.type(description="One place on a garden's waiting list.")
class WaitlistEdge:
    node: WaitlistEntry = strawberry.field(description="The household waiting there.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this place.")

    @classmethod
    def from_row(cls, row: WaitlistEntryRow) -> WaitlistEdge:
        return cls(
            node=WaitlistEntry(
                position=row.position, household_name=row.household_name, joined_at=row.joined_at
            ),
            cursor=encode_cursor(WAITLIST_CURSOR_KIND, row.position),
        )


@strawberry.type(description="A garden's waiting list, first in line first.")
class WaitlistConnection:
    edges: list[WaitlistEdge] = strawberry.field(description="This page, in order.")
    page_info: PageInfo = strawberry.field(description="Whether there is a next page, and cursors.")


@strawberry.type(description="One of your household's gardens.")
class GardenEdge:
    node: Garden = strawberry.field(description="The garden.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this garden.")


@strawberry.type(description="Gardens your household offers, newest first.")
class GardenConnection:
    edges: list[GardenEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether there is a next page, and cursors.")


@strawberry.type(description="Your household's place on one garden's waiting list.")
class WaitlistPlace:
    garden: Garden = strawberry.field(description="The garden it waits for.")
    position: int = strawberry.field(description="Its place on the list, 1 = next in line.")
    joined_at: datetime = strawberry.field(description="When it joined the list.")


@strawberry.type(description="One of your household's waiting places.")
class WaitlistPlaceEdge:
    node: WaitlistPlace = strawberry.field(description="The place.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this place.")


@strawberry.type(description="The waiting lists your household is on, latest joined first.")
class WaitlistPlaceConnection:
    edges: list[WaitlistPlaceEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Whether there is a next page, and cursors.")

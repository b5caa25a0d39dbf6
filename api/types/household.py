"""The public Household type: the exact location resolves only for the household itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.inputs import Location
from api.pagination import decode_id_cursor, encode_cursor, keyset_page_info, page_size
from api.types.item import Item, ItemConnection, ItemEdge
from api.types.neighbourhood import Neighbourhood
from api.types.review import ReviewSummary, review_summary
from api.validation import node_keys
from db.rows import HouseholdRow
from services import households as household_service
from services import items as item_service

ITEM_CURSOR_KIND = "hi"


@strawberry.type(description="An account that shares your home, as your household sees it.")
class HouseholdMember:
    display_name: str = strawberry.field(description="The name the account chose.")
    is_you: bool = strawberry.field(description="Whether this is the account asking.")


@strawberry.type(description="A home in a neighbourhood network.")
class Household(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Display name chosen by the household.")
    created_at: datetime = strawberry.field(description="When the household registered.")
    row: strawberry.Private[HouseholdRow]
    shown_to_itself: strawberry.Private[bool] = False

    @classmethod
    def from_row(cls, row: HouseholdRow, *, shown_to_itself: bool = False) -> Household:
        """`shown_to_itself`: the response goes to this household (e.g. its own registration)."""
        return cls(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            row=row,
            shown_to_itself=shown_to_itself,
        )

    @strawberry.field(description="The neighbourhood this household belongs to.")
    async def neighbourhood(self, info: strawberry.Info[Context, None]) -> Neighbourhood:
        row = await info.context.loaders.neighbourhood_by_id.load(self.row.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)

    @strawberry.field(
        description="The exact home location. Private: null for everyone but the household itself."
    )
    def exact_location(self, info: strawberry.Info[Context, None]) -> Location | None:
        if not self.shown_to_itself and info.context.viewer.household_id != self.row.id:
            return None
        return Location.from_lnglat(self.row.home)

    @strawberry.field(
        description="The accounts that share this home, oldest first (several accounts, one "
        "home: inviteToHousehold / joinHousehold). Only the household itself sees them: null "
        "for everyone else."
    )
    async def members(self, info: strawberry.Info[Context, None]) -> list[HouseholdMember] | None:
        viewer = info.context.viewer
        if viewer.household_id != self.row.id:
            return None
        found = await household_service.household_members(info.context.engine, [self.row.id])
        return [
            HouseholdMember(
                display_name=member.display_name, is_you=member.account_id == viewer.account_id
            )
            for member in found[self.row.id]
        ]

    @strawberry.field(
        description="Stars received from other households after returned loans: average and "
        "count (the comments are for the two households of each loan only)."
    )
    async def reviews(self, info: strawberry.Info[Context, None]) -> ReviewSummary:
        return await review_summary(info, self.row.id)

    @strawberry.field(
        description="The items this household lends, available or not, newest first. Only the "
        "household itself sees them here (null for everyone else, who finds items through "
        "nearestLenders); one statement per page."
    )
    async def items(
        self,
        info: strawberry.Info[Context, None],
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> ItemConnection | None:
        if info.context.viewer.household_id != self.row.id:
            return None
        limit = page_size(first, info.context.settings.max_page_size)
        after_id = decode_id_cursor(after, ITEM_CURSOR_KIND)
        rows = await item_service.household_items(
            info.context.reader, self.row.id, limit=limit + 1, after_id=after_id
        )
        edges = [
            ItemEdge(node=Item.from_row(row), cursor=encode_cursor(ITEM_CURSOR_KIND, row.id))
            for row in rows[:limit]
        ]
        return ItemConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=after_id),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: strawberry.Info[Context, None],
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Household | None]:
        rows = await info.context.loaders.household_by_id.load_many(node_keys(node_ids))
        viewer = info.context.viewer
        return [
            cls.from_row(row) if row and can_see_household(viewer, row) else None for row in rows
        ]


def can_see_household(viewer: Viewer, row: HouseholdRow) -> bool:
    """Households are visible to themselves and to whoever reads their neighbourhood (its
    members, ambassadors, admins, granted partners), to nobody else."""
    return viewer.household_id == row.id or viewer.can_read(row.neighbourhood_id)

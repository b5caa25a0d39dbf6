"""Items to lend and `nearestLenders`. Thin: validate, authorise, call db, wrap.

Privacy rules of the search (see docs/sharing.md and `api.proximity`): no circle smaller than the
proximity floor, distances rounded, cursors that hold no distance, and no location of any kind in
a response.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    unauthenticated,
)
from api.proximity import MaxDistanceMeters, NearestSearch, SearchAfter, SearchOrigin
from api.resolvers.household_access import acting_household
from api.resolvers.item_input import CreateItemInput, UpdateItemInput, clean_item, clean_query
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.service_errors import refusal_error
from api.types.item import Item, ItemCategory, ItemSearchConnection, ItemSearchEdge
from api.validation import decode_node_id
from db.queries import items as item_queries
from db.queries.items import ItemRow
from db.queries.loans import today_in_france
from services import items as item_service
from services.errors import Refusal

Info = strawberry.Info[Context, None]

CURSOR_KIND = "i"


@strawberry.type(description="The item is listed.")
class CreateItemSuccess:
    item: Item = strawberry.field(description="The new item, available.")


@strawberry.type(description="The item's availability changed.")
class UpdateItemAvailabilitySuccess:
    item: Item = strawberry.field(description="The item as it is now.")


@strawberry.type(description="The item's details are replaced.")
class UpdateItemSuccess:
    item: Item = strawberry.field(description="The item as it is now.")


@strawberry.type(
    description="The item is deleted, and its loans with it; each borrower of an accepted or "
    "handed-over loan that has not ended is notified (LOAN_CANCELLED)."
)
class DeleteItemSuccess:
    deleted_item_id: relay.GlobalID = strawberry.field(description="Global ID it had.")
    borrowers_notified: int = strawberry.field(
        description="Borrowers told that their loan is cancelled, one per loan."
    )


CreateItemResult = Annotated[
    CreateItemSuccess | ValidationError | UnauthenticatedError | ForbiddenError,
    strawberry.union("CreateItemResult"),
]
UpdateItemAvailabilityResult = Annotated[
    UpdateItemAvailabilitySuccess
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | ForbiddenError,
    strawberry.union("UpdateItemAvailabilityResult"),
]
UpdateItemResult = Annotated[
    UpdateItemSuccess | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("UpdateItemResult"),
]
DeleteItemResult = Annotated[
    DeleteItemSuccess | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("DeleteItemResult"),
]


@strawberry.type
class ItemQuery:
    @strawberry.field(
        description="Available items nearest first from a point, across neighbourhood borders. "
        "Without maxDistanceMeters the search widens (2, 5, 10, 25 km, then the ceiling) until "
        "a page is full; searchedRadiusMeters tells how far it looked. Lenders' locations are "
        "never returned, and distances are rounded."
    )
    async def nearest_lenders(
        self,
        info: Info,
        near: SearchOrigin,
        category: Annotated[
            ItemCategory | None, strawberry.argument(description="Only items of this category.")
        ] = None,
        query: Annotated[
            str | None,
            strawberry.argument(
                description="French full-text search of titles and descriptions, accent- and "
                'plural-insensitive ("perceuse" finds "Perceuses à percussion"); '
                'web-search syntax: "exact phrase", or, -excluded.'
            ),
        ] = None,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to MAX_PAGE_SIZE (100); default 10."),
        ] = None,
        after: SearchAfter = None,
        max_distance_meters: MaxDistanceMeters = None,
    ) -> ItemSearchConnection:
        search = NearestSearch.from_arguments(
            near,
            first=first,
            max_distance_meters=max_distance_meters,
            cursor_kind=CURSOR_KIND,
            noun="item",
            settings=info.context.settings,
        )
        nearest = partial(
            item_queries.nearest_lenders,
            category=category.name if category else None,
            query=clean_query(query),
        )
        page = await search.run(
            info.context.reads, after, distance_m=item_queries.item_distance_m, rows=nearest
        )
        # Each item comes with its lender and neighbourhood: `lender { name neighbourhood }`
        # resolves without a query or an await (see api.types.item).
        return page.connection(ItemSearchConnection, ItemSearchEdge, Item.from_search)


@strawberry.type
class ItemMutation:
    @strawberry.mutation(
        description="List an item your household lends (signed in, with a household)."
    )
    async def create_item(self, info: Info, input: CreateItemInput) -> CreateItemResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        if viewer.household_id is None:
            return forbidden("Register your household first (registerHousehold): households lend.")
        try:
            clean = clean_item(input)
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row = await item_queries.create_item(
                conn,
                viewer.household_id,
                title=clean.title,
                description=clean.description,
                category=input.category.name,
                condition=input.condition.name,
                terms=input.terms.name,
                deposit_cents=clean.deposit_cents,
                price_per_day_cents=clean.price_per_day_cents,
                photo_urls=clean.photo_urls,
            )
        return CreateItemSuccess(item=Item.from_row(row))

    @strawberry.mutation(
        description="Mark your household's item available to borrow, or not (owner only)."
    )
    async def update_item_availability(
        self, info: Info, id: relay.GlobalID, available: bool
    ) -> UpdateItemAvailabilityResult:
        viewer = info.context.viewer
        refusal = await owner_refusal(info, viewer, id)
        if refusal is not None:
            return refusal
        assert viewer.household_id is not None, "owner_refusal checked it"
        async with info.context.engine.begin() as conn:
            row = await item_queries.set_item_availability(
                conn, int(id.node_id), household_id=viewer.household_id, available=available
            )
        if row is None:
            return item_not_found()
        return UpdateItemAvailabilitySuccess(item=Item.from_row(row))

    @strawberry.mutation(
        description="Change your household's item (owner only): every detail at once, checked "
        "as createItem's; nothing is written when one is refused."
    )
    async def update_item(
        self, info: Info, id: relay.GlobalID, input: UpdateItemInput
    ) -> UpdateItemResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            item_id = decode_item_id(id)
            clean = clean_item(input)
        except UserError as error:
            return validation_error(error)
        details = item_service.ItemDetails(
            title=clean.title,
            description=clean.description,
            category=input.category.name,
            condition=input.condition.name,
            terms=input.terms.name,
            deposit_cents=clean.deposit_cents,
            price_per_day_cents=clean.price_per_day_cents,
            photo_urls=clean.photo_urls,
        )
        row = await item_service.update_item(
            info.context.engine,
            household_id=household_id,
            item_id=item_id,
            details=details,
            today=today_in_france(),
        )
        if isinstance(row, Refusal):
            return refusal_error(row)  # type: ignore[return-value]
        return UpdateItemSuccess(item=Item.from_row(row))

    @strawberry.mutation(
        description="Withdraw your household's item (owner only): it is deleted with its loans, "
        "and each borrower of an accepted or handed-over loan that has not ended is notified."
    )
    async def delete_item(self, info: Info, id: relay.GlobalID) -> DeleteItemResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            item_id = decode_item_id(id)
        except UserError as error:
            return validation_error(error)
        done = await item_service.withdraw_item(
            info.context.engine, household_id=household_id, item_id=item_id, today=today_in_france()
        )
        if isinstance(done, Refusal):
            return refusal_error(done)  # type: ignore[return-value]
        return DeleteItemSuccess(deleted_item_id=id, borrowers_notified=done.borrowers_notified)


async def owner_refusal(
    info: Info, viewer: Viewer, id: relay.GlobalID
) -> ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError | None:
    """Why the viewer may not change this item, or None when it is their household's."""
    if viewer.account_id is None:
        return unauthenticated()
    try:
        item_id = decode_item_id(id)
    except UserError as error:
        return validation_error(error)
    row: ItemRow | None = await info.context.loaders.item_by_id.load(item_id)
    if row is None:
        return item_not_found()
    if viewer.household_id != row.household_id:
        return forbidden("Only the household that lends this item may change it.")
    return None


def item_not_found() -> NotFoundError:
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No item has this ID.")


def decode_item_id(value: relay.GlobalID) -> int:
    return decode_node_id(value, "Item", argument="id", message="This is not an item ID.")

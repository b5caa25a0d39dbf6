"""Items to lend and `nearestLenders`. Thin: validate, authorise, call db, wrap.

Privacy rules of the search (see docs/sharing.md): no circle smaller than the proximity floor,
distances rounded, cursors that hold no distance, and no location of any kind in a response.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated
from urllib.parse import urlsplit

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
from api.inputs import LocationInput
from api.pagination import PageInfo, encode_cursor, page_size
from api.resolvers.neighbourhoods import validation_error
from api.settings import Settings
from api.types.item import (
    Item,
    ItemCategory,
    ItemCondition,
    ItemSearchConnection,
    ItemSearchEdge,
    ItemTerms,
)
from api.validation import clean_text
from db.models import MAX_PHOTOS
from db.queries import items as item_queries
from db.queries.items import ItemRow
from geo.distance import round_distance_m

Info = strawberry.Info[Context, None]

WIDENING_STEPS_M = (2_000, 5_000, 10_000, 25_000)
"""Radii a search without maxDistanceMeters reports, below the ceiling (settings)."""
CURSOR_KIND = "i"
MAX_QUERY_LENGTH = 200


@strawberry.input(description="A new item to lend; it is listed as available at once.")
class CreateItemInput:
    title: str = strawberry.field(description="Short title, 1 to 120 characters.")
    description: str = strawberry.field(default="", description="Details, up to 2,000 chars.")
    category: ItemCategory = strawberry.field(description="What kind of thing it is.")
    condition: ItemCondition = strawberry.field(description="Its state.")
    terms: ItemTerms = strawberry.field(description="Free, against a deposit, or per day.")
    deposit_cents: int | None = strawberry.field(
        default=None,
        description="Refundable deposit in euro cents, 1 to 200000: required with DEPOSIT, "
        "optional with PRICE_PER_DAY, refused with FREE.",
    )
    price_per_day_cents: int | None = strawberry.field(
        default=None,
        description="Price per day in euro cents, 1 to 50000: required with PRICE_PER_DAY, "
        "refused otherwise.",
    )
    photo_urls: list[str] = strawberry.field(
        default_factory=list, description="Up to 8 HTTPS URLs of photos, in display order."
    )


@strawberry.type(description="The item is listed.")
class CreateItemSuccess:
    item: Item = strawberry.field(description="The new item, available.")


@strawberry.type(description="The item's availability changed.")
class UpdateItemAvailabilitySuccess:
    item: Item = strawberry.field(description="The item as it is now.")


@strawberry.type(description="The item is deleted.")
class DeleteItemSuccess:
    deleted_item_id: relay.GlobalID = strawberry.field(description="Global ID it had.")


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
        near: Annotated[
            LocationInput,
            strawberry.argument(description="Where to search from, e.g. your home."),
        ],
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
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page, with the same near."),
        ] = None,
        max_distance_meters: Annotated[
            int | None,
            strawberry.argument(
                description="Farthest to look, in metres: at least the proximity floor (500 by "
                "default), at most the ceiling (50,000 by default)."
            ),
        ] = None,
    ) -> ItemSearchConnection:
        settings = info.context.settings
        origin = near.to_lnglat()
        limit = page_size(first, settings.max_page_size)
        bound_m = check_max_distance(max_distance_meters, settings)
        text = clean_query(query)
        after_id = decode_item_cursor(after)
        async with info.context.engine.connect() as conn:
            anchor = None
            if after_id is not None:
                distance_m = await item_queries.item_distance_m(conn, origin, after_id)
                if distance_m is None:
                    raise UserError(
                        ErrorCode.INVALID_CURSOR,
                        "The item this cursor points at was deleted: start from the first page.",
                    )
                anchor = (distance_m, after_id)
            rows = await item_queries.nearest_lenders(
                conn,
                origin,
                category=category.name if category else None,
                query=text,
                limit=limit + 1,
                after=anchor,
                max_distance_m=bound_m,
            )
        page = rows[:limit]
        if max_distance_meters is not None:
            searched_m = bound_m
        else:
            searched_m = widening_radius_m(page[-1][1] if len(page) == limit else None, settings)
        return search_connection(
            page, has_next=len(rows) > limit, resumed=anchor is not None, searched_m=searched_m
        )


def search_connection(
    page: list[tuple[ItemRow, float]], *, has_next: bool, resumed: bool, searched_m: int
) -> ItemSearchConnection:
    """The connection for a page of (item, exact distance): distances leave rounded."""
    edges = [
        ItemSearchEdge(
            node=Item.from_row(row),
            cursor=encode_cursor(CURSOR_KIND, row.id),
            distance_meters=round_distance_m(distance_m),
        )
        for row, distance_m in page
    ]
    return ItemSearchConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=resumed,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        searched_radius_meters=searched_m,
    )


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
            title = clean_text(input.title, argument="title", max_length=120)
            description = clean_text(
                input.description, argument="description", max_length=2000, min_length=0
            )
            deposit_cents, price_per_day_cents = clean_amounts(input)
            photo_urls = clean_photo_urls(input.photo_urls)
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row = await item_queries.create_item(
                conn,
                viewer.household_id,
                title=title,
                description=description,
                category=input.category.name,
                condition=input.condition.name,
                terms=input.terms.name,
                deposit_cents=deposit_cents,
                price_per_day_cents=price_per_day_cents,
                photo_urls=photo_urls,
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

    @strawberry.mutation(description="Delete your household's item (owner only).")
    async def delete_item(self, info: Info, id: relay.GlobalID) -> DeleteItemResult:
        viewer = info.context.viewer
        refusal = await owner_refusal(info, viewer, id)
        if refusal is not None:
            return refusal
        assert viewer.household_id is not None, "owner_refusal checked it"
        async with info.context.engine.begin() as conn:
            deleted = await item_queries.delete_item(
                conn, int(id.node_id), household_id=viewer.household_id
            )
        if not deleted:
            return item_not_found()
        return DeleteItemSuccess(deleted_item_id=id)


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
    if value.type_name != "Item" or not value.node_id.isdigit():
        raise UserError(ErrorCode.INVALID_ID, "This is not an item ID.", argument="id")
    return int(value.node_id)


def decode_item_cursor(cursor: str | None) -> int | None:
    """The item id in a `nearestLenders` cursor (None: first page).

    Only the id: its distance is recomputed from the origin, because an exact distance in a
    cursor anyone can decode would give away what the rounded `distanceMeters` hides.
    """
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, ident = json.loads(base64.urlsafe_b64decode(padded))
        if kind != CURSOR_KIND or isinstance(ident, bool) or not isinstance(ident, int):
            raise ValueError(kind)
        return ident
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise UserError(
            ErrorCode.INVALID_CURSOR, "This cursor is not valid here: use an endCursor we returned."
        ) from None


def check_max_distance(max_distance_m: int | None, settings: Settings) -> int:
    """The search bound in metres: the ceiling, or `max_distance_m` if within floor..ceiling.

    The floor is a privacy rule: "anything within 50 m of here?" asked from many points would
    draw lenders' public points on a map.
    """
    floor_m, ceiling_m = settings.proximity_floor_m, settings.search_ceiling_m
    if max_distance_m is None:
        return ceiling_m
    if not floor_m <= max_distance_m <= ceiling_m:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`maxDistanceMeters` must be between {floor_m} and {ceiling_m}: searches closer "
            f"than {floor_m} m are refused to protect where lenders live; got {max_distance_m}.",
            argument="maxDistanceMeters",
        )
    return max_distance_m


def widening_radius_m(last_distance_m: float | None, settings: Settings) -> int:
    """The radius a widening search stops at: the first step holding a full page.

    Equivalent to querying 2, 5, 10, 25 km, then the ceiling, in turn, but computed from one
    KNN scan bounded by the ceiling, which stops after a page anyway. `last_distance_m` is the
    distance of the page's last item when the page is full, else None (the ceiling was reached).
    """
    floor_m, ceiling_m = settings.proximity_floor_m, settings.search_ceiling_m
    if last_distance_m is None:
        return ceiling_m
    steps = [step for step in WIDENING_STEPS_M if floor_m <= step < ceiling_m]
    return next((step for step in steps if last_distance_m <= step), ceiling_m)


def clean_query(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return clean_text(value, argument="query", max_length=MAX_QUERY_LENGTH)


MAX_DEPOSIT_CENTS = 200_000
MAX_PRICE_PER_DAY_CENTS = 50_000
MAX_PHOTO_URL_LENGTH = 2_000


def clean_amounts(input: CreateItemInput) -> tuple[int | None, int | None]:
    """(deposit_cents, price_per_day_cents) as the terms require them."""
    deposit, price = input.deposit_cents, input.price_per_day_cents
    if input.terms is ItemTerms.FREE and (deposit is not None or price is not None):
        argument = "depositCents" if deposit is not None else "pricePerDayCents"
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "A FREE item takes neither a deposit nor a price.",
            argument=argument,
        )
    if input.terms is ItemTerms.DEPOSIT:
        if price is not None:
            raise UserError(
                ErrorCode.BAD_USER_INPUT,
                "A DEPOSIT item has no price per day: use PRICE_PER_DAY terms.",
                argument="pricePerDayCents",
            )
        check_cents(deposit, "depositCents", MAX_DEPOSIT_CENTS, required=True)
    if input.terms is ItemTerms.PRICE_PER_DAY:
        check_cents(price, "pricePerDayCents", MAX_PRICE_PER_DAY_CENTS, required=True)
        check_cents(deposit, "depositCents", MAX_DEPOSIT_CENTS, required=False)
    return deposit, price


def check_cents(value: int | None, argument: str, maximum: int, *, required: bool) -> None:
    if value is None and not required:
        return
    if value is None or not 1 <= value <= maximum:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`{argument}` must be between 1 and {maximum} euro cents with these terms.",
            argument=argument,
        )


def clean_photo_urls(urls: list[str]) -> list[str]:
    """At most 8 absolute HTTPS URLs: other schemes (http:, javascript:, data:) are refused."""
    if len(urls) > MAX_PHOTOS:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"At most {MAX_PHOTOS} photos per item.",
            argument="photoUrls",
        )
    cleaned = [https_url(url.strip()) for url in urls]
    if None in cleaned:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "Photo URLs must be absolute https:// URLs without spaces, up to "
            f"{MAX_PHOTO_URL_LENGTH} characters.",
            argument="photoUrls",
        )
    return [url for url in cleaned if url is not None]


def https_url(url: str) -> str | None:
    """`url` with its scheme in lower case (as the database check expects), or None if unfit."""
    if len(url) > MAX_PHOTO_URL_LENGTH or not url.isascii() or not url.isprintable():
        return None
    if any(char.isspace() for char in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or parts.username is not None:
        return None
    return "https" + url[len(parts.scheme) :]

"""`createItem` input and the item search's `query`, checked before anything is read or written.

Amounts are euro cents and depend on the terms; photos are HTTPS URLs only, so that no
`javascript:` or `data:` link ever reaches a client that renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import strawberry

from api.errors import ErrorCode, UserError
from api.types.item import ItemCategory, ItemCondition, ItemTerms
from api.validation import clean_text
from db.models import MAX_PHOTOS

MAX_TITLE = 120
MAX_DESCRIPTION = 2_000
MAX_QUERY_LENGTH = 200
MAX_DEPOSIT_CENTS = 200_000
MAX_PRICE_PER_DAY_CENTS = 50_000
MAX_PHOTO_URL_LENGTH = 2_000


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


@strawberry.input(
    description="An item's new details, all of them, checked exactly as createItem's; its "
    "availability (updateItemAvailability) and its loans are unchanged."
)
class UpdateItemInput(CreateItemInput):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanItem:
    title: str
    description: str
    deposit_cents: int | None
    price_per_day_cents: int | None
    photo_urls: list[str]


def clean_item(input: CreateItemInput) -> CleanItem:
    """The input checked, field by field in the order of the input type."""
    title = clean_text(input.title, argument="title", max_length=MAX_TITLE)
    description = clean_text(
        input.description, argument="description", max_length=MAX_DESCRIPTION, min_length=0
    )
    deposit_cents, price_per_day_cents = clean_amounts(input)
    return CleanItem(
        title=title,
        description=description,
        deposit_cents=deposit_cents,
        price_per_day_cents=price_per_day_cents,
        photo_urls=clean_photo_urls(input.photo_urls),
    )


def clean_query(value: str | None) -> str | None:
    """The full-text `query` of `nearestLenders`; blank means no query."""
    if value is None or not value.strip():
        return None
    return clean_text(value, argument="query", max_length=MAX_QUERY_LENGTH)


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

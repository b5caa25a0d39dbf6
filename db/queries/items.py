"""Item queries: lending, availability, lookups, and the nearest-first search `nearest_lenders`.

Distances are metres on the sphere, from the origin to the lender's *public* (displaced) point,
which the items table carries itself (see `db.models.Item`). The exact home is never read here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncConnection

from db.fastpaths.reads import ReadStatement
from db.models import SEARCH_CONFIG, Household, Item, Neighbourhood
from db.queries.neighbourhoods import NEIGHBOURHOOD_COLUMNS
from db.queries.proximity import (
    distance_statement,
    distance_to_m,
    fetch_nearest,
    nearest_parameters,
    nearest_statement,
)
from db.rows import NeighbourhoodRow
from db.searches import ReadConnection
from geo.coords import LngLat


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRow:
    """An item as lent; amounts in euro cents; no location (the API must not show one)."""

    id: int
    household_id: int
    title: str
    description: str
    category: str
    condition: str
    terms: str
    deposit_cents: int | None
    price_per_day_cents: int | None
    photo_urls: tuple[str, ...]
    available: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LenderRow:
    """What others may know of a lending household: its name and neighbourhood, no location."""

    household_id: int
    name: str
    neighbourhood_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NearbyItem:
    """An item found by `nearest_lenders`, with what a page of results shows of its lender:
    fetched by the search's one statement, so the page needs no further query."""

    item: ItemRow
    lender: LenderRow
    neighbourhood: NeighbourhoodRow

    @property
    def id(self) -> int:
        return self.item.id


ITEM_COLUMNS = (
    Item.id,
    Item.household_id,
    Item.title,
    Item.description,
    Item.category,
    Item.condition,
    Item.terms,
    Item.deposit_cents,
    Item.price_per_day_cents,
    Item.photo_urls,
    Item.available,
    Item.created_at,
    Item.updated_at,
)


ITEM_FIELDS = tuple(column.key for column in ITEM_COLUMNS)
ITEM_COUNT = len(ITEM_FIELDS)


def to_row(row: Any) -> ItemRow:
    """An `ItemRow` from the values of ITEM_COLUMNS, in that order (a result row, or its slice)."""
    mapping = dict(zip(ITEM_FIELDS, row, strict=True))
    mapping["photo_urls"] = tuple(mapping["photo_urls"])
    return ItemRow(**mapping)


async def create_item(
    conn: AsyncConnection,
    household_id: int,
    *,
    title: str,
    description: str,
    category: str,
    condition: str,
    terms: str,
    deposit_cents: int | None,
    price_per_day_cents: int | None,
    photo_urls: Sequence[str],
) -> ItemRow:
    """Insert an available item; a trigger copies the household's public location onto it."""
    result = await conn.execute(
        insert(Item)
        .values(
            household_id=household_id,
            title=title,
            description=description,
            category=category,
            condition=condition,
            terms=terms,
            deposit_cents=deposit_cents,
            price_per_day_cents=price_per_day_cents,
            photo_urls=list(photo_urls),
        )
        .returning(*ITEM_COLUMNS)
    )
    return to_row(result.one())


async def set_item_availability(
    conn: AsyncConnection, item_id: int, *, household_id: int, available: bool
) -> ItemRow | None:
    """Change availability of an item of `household_id` (None: no such item of theirs).

    The owner is part of the WHERE clause as well as checked by the caller, so a check made on a
    stale read can never change someone else's item.
    """
    result = await conn.execute(
        update(Item)
        .where(Item.id == item_id, Item.household_id == household_id)
        .values(available=available, updated_at=func.now())
        .returning(*ITEM_COLUMNS)
    )
    row = result.one_or_none()
    return to_row(row) if row else None


async def update_item(
    conn: AsyncConnection,
    item_id: int,
    *,
    household_id: int,
    title: str,
    description: str,
    category: str,
    condition: str,
    terms: str,
    deposit_cents: int | None,
    price_per_day_cents: int | None,
    photo_urls: Sequence[str],
) -> ItemRow | None:
    """Replace the details of an item of `household_id` (None: no such item of theirs); its
    availability, lender and place are unchanged. The owner is in the WHERE clause, as in
    `set_item_availability`."""
    result = await conn.execute(
        update(Item)
        .where(Item.id == item_id, Item.household_id == household_id)
        .values(
            title=title,
            description=description,
            category=category,
            condition=condition,
            terms=terms,
            deposit_cents=deposit_cents,
            price_per_day_cents=price_per_day_cents,
            photo_urls=list(photo_urls),
            updated_at=func.now(),
        )
        .returning(*ITEM_COLUMNS)
    )
    row = result.one_or_none()
    return to_row(row) if row else None


async def delete_item(conn: AsyncConnection, item_id: int, *, household_id: int) -> bool:
    """Delete an item of `household_id`; False when it has no such item."""
    result = await conn.execute(
        delete(Item).where(Item.id == item_id, Item.household_id == household_id).returning(Item.id)
    )
    return result.scalar_one_or_none() is not None


async def household_items(
    conn: AsyncConnection, household_id: int, *, limit: int, after_id: int | None
) -> list[ItemRow]:
    """The household's items, available or not, newest first; keyset-paged on the id (`after_id`
    is the last item shown). One statement per page whatever the number of items."""
    conditions = [Item.household_id == household_id]
    if after_id is not None:
        conditions.append(Item.id < after_id)
    result = await conn.execute(
        select(*ITEM_COLUMNS).where(*conditions).order_by(Item.id.desc()).limit(limit)
    )
    return [to_row(row) for row in result]


async def items_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ItemRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*ITEM_COLUMNS).where(Item.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


async def lenders_by_household_id(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, LenderRow]:
    """Name and neighbourhood of households; deliberately no location column at all."""
    if not ids:
        return {}
    result = await conn.execute(
        select(Household.id, Household.name, Household.neighbourhood_id).where(
            Household.id.in_(ids)
        )
    )
    return {
        int(hid): LenderRow(household_id=int(hid), name=str(name), neighbourhood_id=int(nid))
        for hid, name, nid in result.all()
    }


@functools.cache
def nearest_lenders_statement(*, category: bool, query: bool, resumed: bool) -> Select[Any]:
    """The statement behind `nearest_lenders` for one shape of search, built once.

    The KNN subquery has the shape of `db.queries.proximity.nearest_statement` (on the public
    point, `WITH TIES`, which the partial GiST index `ix_items_public_location_geog` serves in
    distance order); the lender's name and neighbourhood are joined onto its few rows by
    primary key, so a page with its lenders costs one statement. Bind parameters: those of
    `nearest_parameters`, plus `category` and `query` when used.
    """
    filters: list[ColumnElement[bool]] = [
        Item.available == true(),  # simplified to `available`: the partial index's predicate
    ]
    if category:
        filters.append(Item.category == bindparam("category"))
    if query:
        terms = func.websearch_to_tsquery(cast(SEARCH_CONFIG, REGCONFIG), bindparam("query"))
        # A query of stop words only ("le", "des") has no lexeme: ignore it rather than match none.
        filters.append(or_(func.numnode(terms) == 0, Item.search.op("@@")(terms)))
    nearest = nearest_statement(
        ITEM_COLUMNS, Item.public_location, Item.id, filters=filters, resumed=resumed
    ).subquery("nearest")
    return (
        select(
            nearest,
            Household.name.label("lender_name"),
            *(column.label(f"neighbourhood_{column.key}") for column in NEIGHBOURHOOD_COLUMNS),
        )
        .join_from(nearest, Household, Household.id == nearest.c.household_id)
        .join(Neighbourhood, Neighbourhood.id == Household.neighbourhood_id)
    )


def lenders_parameters(
    origin: LngLat,
    *,
    category: str | None,
    query: str | None,
    limit: int,
    after: tuple[float, int] | None,
    max_distance_m: float,
) -> dict[str, Any]:
    parameters = nearest_parameters(origin, limit=limit, after=after, max_distance_m=max_distance_m)
    if category is not None:
        parameters["category"] = category
    if query is not None:
        parameters["query"] = query
    return parameters


def nearest_lenders_query(
    origin: LngLat,
    *,
    category: str | None,
    query: str | None,
    limit: int,
    after: tuple[float, int] | None,
    max_distance_m: float,
) -> Select[Any]:
    """The statement `nearest_lenders` runs, with these values bound, for tests to EXPLAIN."""
    statement = nearest_lenders_statement(
        category=category is not None, query=query is not None, resumed=after is not None
    )
    return statement.params(
        lenders_parameters(
            origin,
            category=category,
            query=query,
            limit=limit,
            after=after,
            max_distance_m=max_distance_m,
        )
    )


def to_nearby(row: Any) -> NearbyItem:
    """A row of `nearest_lenders_statement`: the item's columns, distance_m, lender_name, then
    the neighbourhood's columns, taken by position (the hot path of every search)."""
    item = to_row(row[:ITEM_COUNT])
    lender_name = row[ITEM_COUNT + 1]
    neighbourhood = NeighbourhoodRow(
        **dict(zip(NEIGHBOURHOOD_FIELDS, row[ITEM_COUNT + 2 :], strict=True))
    )
    return NearbyItem(
        item=item,
        lender=LenderRow(
            household_id=item.household_id, name=lender_name, neighbourhood_id=neighbourhood.id
        ),
        neighbourhood=neighbourhood,
    )


NEIGHBOURHOOD_FIELDS = tuple(column.key for column in NEIGHBOURHOOD_COLUMNS)


@functools.cache
def nearest_lenders_read(*, category: bool, query: bool, resumed: bool) -> ReadStatement:
    """`nearest_lenders_statement` compiled for `db.searches`, once per shape."""
    return ReadStatement.of(
        nearest_lenders_statement(category=category, query=query, resumed=resumed)
    )


ITEM_DISTANCE = functools.cache(lambda: distance_statement(Item.public_location, Item.id))


async def nearest_lenders(
    conn: ReadConnection,
    origin: LngLat,
    *,
    category: str | None,
    query: str | None,
    limit: int,
    after: tuple[float, int] | None,
    max_distance_m: float,
) -> list[tuple[NearbyItem, float]]:
    """Up to `limit` available items within `max_distance_m` of `origin`, nearest first, each
    with its lender's name and neighbourhood (no location).

    Distances are metres on the sphere to the lender's public point. Keyset-paged on
    (distance_m, id): `after` is the pair of the last item already shown; the id breaks ties (all
    items of one household are at the same distance), so pages never repeat or skip, even when
    items are added between pages. One index scan: the partial GiST index on
    `public_location::geography` serves the `ST_DWithin` bound and the KNN order, stopping after
    `limit` matches. `query` is French full-text (`websearch_to_tsquery`: quotes, `or`, `-mot`).
    """
    statement = nearest_lenders_read(
        category=category is not None, query=query is not None, resumed=after is not None
    )
    parameters = lenders_parameters(
        origin,
        category=category,
        query=query,
        limit=limit,
        after=after,
        max_distance_m=max_distance_m,
    )
    return await fetch_nearest(conn, statement, to_nearby, limit, parameters)


async def item_distance_m(conn: ReadConnection, origin: LngLat, item_id: int) -> float | None:
    """Distance from `origin` to one item (None: deleted), to resume a search after it.

    Cursors carry only the item id: an exact distance inside a cursor (which anyone can decode)
    would let a client trilaterate the lender's public point, which the API only ever shows
    rounded.
    """
    return await distance_to_m(conn, ITEM_DISTANCE(), item_id, origin)

"""Post and comment queries: the neighbourhood feed, giveaway claims, moderation, `postsNear`.

Visibility in feeds is decided here, in SQL, for every reader: a post leaves feeds when it is
hidden by a moderator or when its `expires_at` passes (`expires_at IS NULL OR expires_at > now()`),
with no job to run. Who may read which neighbourhood is the API's business (`api.types.post`).

Distances are metres on the sphere from the origin to the post's public `location` (the author
household's displaced point copied at creation, or the event's place); the column itself never
leaves this module, only distances computed from it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    Text,
    any_,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncConnection

from db.fastpaths.reads import ReadStatement
from db.models import Comment, Household, Neighbourhood, Post
from db.queries.neighbourhoods import point_param
from db.queries.proximity import (
    distance_statement,
    distance_to_m,
    fetch_nearest,
    nearest_parameters,
    nearest_query,
    nearest_statement,
)
from db.rows import CommentRow, PostAuthorRow, PostRow
from db.searches import ReadConnection
from geo.coords import LngLat

Cursor = tuple[datetime, int]
"""A keyset position in a time-ordered list: (created_at, id); the id makes the order total."""

POST_COLUMNS = (
    Post.id,
    Post.neighbourhood_id,
    Post.household_id,
    Post.account_id,
    Post.kind,
    Post.title,
    Post.body,
    Post.created_at,
    Post.expires_at,
    Post.starts_at,
    Post.ends_at,
    Post.place_name,
    func.ST_X(Post.place_location).label("place_lng"),
    func.ST_Y(Post.place_location).label("place_lat"),
    Post.claimed_at,
    Post.claimed_by_household_id,
    Post.hidden_at,
    Post.posted_via,
)
COMMENT_COLUMNS = (
    Comment.id,
    Comment.post_id,
    Comment.household_id,
    Comment.account_id,
    Comment.body,
    Comment.created_at,
    Comment.hidden_at,
)


def to_post_row(row: Row[Any]) -> PostRow:
    mapping = row._asdict()
    lng, lat = mapping.pop("place_lng"), mapping.pop("place_lat")
    mapping.pop("distance_m", None)
    place = LngLat(lng=lng, lat=lat) if lng is not None else None
    return PostRow(**mapping, place=place)


def to_comment_row(row: Row[*tuple[Any, ...]]) -> CommentRow:
    return CommentRow(**row._mapping)


def in_feeds() -> list[ColumnElement[bool]]:
    """Not hidden and not expired, as of the statement's transaction time."""
    return [
        Post.hidden_at.is_(None),
        or_(Post.expires_at.is_(None), Post.expires_at > func.now()),
    ]


def of_kinds(kinds: Sequence[str] | None) -> list[ColumnElement[bool]]:
    """No filter for None or an empty list: both mean "every kind". `= ANY(ARRAY[...])`, which is
    what PostgreSQL makes of an `IN` list, without SQLAlchemy's expanding parameter (so the
    statement can also run through `db.searches`)."""
    return [Post.kind == any_(array(list(kinds)))] if kinds else []


async def create_post(
    conn: AsyncConnection,
    household_id: int,
    *,
    account_id: int | None,
    kind: str,
    title: str,
    body: str,
    expires_at: datetime | None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    place_name: str | None = None,
    place: LngLat | None = None,
) -> PostRow | None:
    """Insert a post in the household's current neighbourhood (None: no such household).

    One INSERT ... SELECT from the household row, so the neighbourhood and the public point
    copied onto the post are those of the same instant; the exact home is not read.
    """
    location = point_param(place) if place is not None else Household.public_location
    values: list[Any] = [
        Household.neighbourhood_id,
        Household.id,
        literal(account_id, BigInteger),
        literal(kind, Text),
        literal(title, Text),
        literal(body, Text),
        literal(expires_at, Post.expires_at.type),
        literal(starts_at, Post.starts_at.type),
        literal(ends_at, Post.ends_at.type),
        literal(place_name, Text),
        point_param(place) if place is not None else null(),
        location,
    ]
    source = select(*values).where(Household.id == household_id)
    columns = [
        "neighbourhood_id",
        "household_id",
        "account_id",
        "kind",
        "title",
        "body",
        "expires_at",
        "starts_at",
        "ends_at",
        "place_name",
        "place_location",
        "location",
    ]
    result = await conn.execute(insert(Post).from_select(columns, source).returning(*POST_COLUMNS))
    row = result.one_or_none()
    return to_post_row(row) if row else None


async def posts_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, PostRow]:
    """Posts whatever their state (hidden, expired): callers decide who may see which."""
    if not ids:
        return {}
    result = await conn.execute(select(*POST_COLUMNS).where(Post.id.in_(ids)))
    return {row.id: to_post_row(row) for row in result}


async def neighbourhood_posts(
    conn: AsyncConnection,
    neighbourhood_id: int,
    *,
    kinds: Sequence[str] | None,
    limit: int,
    before: Cursor | None,
) -> list[PostRow]:
    """The feed: newest first, keyset-paged on (created_at, id) strictly `before` the cursor.

    Served by `ix_posts_feed` (neighbourhood_id, created_at DESC, id DESC) in index order. Posts
    written after the first page have a later (created_at, id), so they never shift later pages.
    """
    conditions = [Post.neighbourhood_id == neighbourhood_id, *in_feeds(), *of_kinds(kinds)]
    if before is not None:
        conditions.append(tuple_(Post.created_at, Post.id) < tuple_(*before))
    result = await conn.execute(
        select(*POST_COLUMNS)
        .where(*conditions)
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return [to_post_row(row) for row in result]


async def posts_after(
    conn: AsyncConnection,
    neighbourhood_id: int,
    *,
    after: Cursor | None,
    kinds: Sequence[str] | None,
    limit: int,
) -> list[PostRow]:
    """Feed posts oldest first strictly after `after`: the catch-up of a reconnecting subscriber.

    `after` is the (created_at, id) of the last post the subscriber saw; None starts from the
    oldest post still in the feed. Hidden and expired posts are left out, as in the feed.
    `created_at` is the writing transaction's start time, so a transaction that started before
    another but committed after it can land behind a cursor already handed out; subscribers
    should resume from a cursor a few seconds older than their last event and drop ids they
    have seen.
    """
    conditions = [Post.neighbourhood_id == neighbourhood_id, *in_feeds(), *of_kinds(kinds)]
    if after is not None:
        conditions.append(tuple_(Post.created_at, Post.id) > tuple_(*after))
    result = await conn.execute(
        select(*POST_COLUMNS).where(*conditions).order_by(Post.created_at, Post.id).limit(limit)
    )
    return [to_post_row(row) for row in result]


async def delete_post(conn: AsyncConnection, post_id: int, *, account_id: int) -> bool:
    """Delete a post written by `account_id`; False when it wrote no such post."""
    result = await conn.execute(
        delete(Post).where(Post.id == post_id, Post.account_id == account_id).returning(Post.id)
    )
    return result.scalar_one_or_none() is not None


async def claim_giveaway(
    conn: AsyncConnection,
    post_id: int,
    *,
    household_id: int,
    account_id: int,
    neighbourhood_id: int,
) -> PostRow | None:
    """Claim an open giveaway for `household_id`; None when it cannot be claimed (any more).

    First come, first served, decided by PostgreSQL: the UPDATE matches only while `claimed_at`
    is NULL. A concurrent claim blocks on the row lock of the first, then re-evaluates the WHERE
    clause on the committed row, finds it claimed and updates nothing. Every other condition
    (open, same neighbourhood, not one's own) is in the statement too, so a check made by the
    caller on a stale read cannot let a claim through.
    """
    result = await conn.execute(
        update(Post)
        .where(
            Post.id == post_id,
            Post.kind == "GIVEAWAY",
            Post.claimed_at.is_(None),
            Post.neighbourhood_id == neighbourhood_id,
            Post.household_id != household_id,
            *in_feeds(),
        )
        .values(
            claimed_at=func.now(),
            claimed_by_household_id=household_id,
            claimed_by_account_id=account_id,
        )
        .returning(*POST_COLUMNS)
    )
    row = result.one_or_none()
    return to_post_row(row) if row else None


async def hide_post(
    conn: AsyncConnection, post_id: int, *, account_id: int, reason: str
) -> PostRow | None:
    """Hide a post from every feed (None: no such post). Hiding again keeps the first time."""
    result = await conn.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(
            hidden_at=func.coalesce(Post.hidden_at, func.now()),
            hidden_reason=reason,
            hidden_by_account_id=account_id,
        )
        .returning(*POST_COLUMNS)
    )
    row = result.one_or_none()
    return to_post_row(row) if row else None


def nearest_posts_query(
    origin: LngLat,
    *,
    kinds: Sequence[str] | None,
    limit: int,
    after: tuple[float, int] | None,
    max_distance_m: float,
) -> Select[Any]:
    """The statement behind `nearest_posts`, separate so that tests can EXPLAIN exactly it.

    The shape of `db.queries.proximity.nearest_query`: KNN on `location`, `WITH TIES`, which the
    partial GiST index `ix_posts_location_geog` serves in distance order.
    """
    return nearest_query(
        POST_COLUMNS,
        Post.location,
        Post.id,
        origin,
        filters=[*in_feeds(), *of_kinds(kinds)],  # `hidden_at IS NULL`: the index's predicate
        limit=limit,
        after=after,
        max_distance_m=max_distance_m,
    )


async def nearest_posts(
    conn: ReadConnection,
    origin: LngLat,
    *,
    kinds: Sequence[str] | None,
    limit: int,
    after: tuple[float, int] | None,
    max_distance_m: float,
) -> list[tuple[PostRow, float]]:
    """Up to `limit` feed posts within `max_distance_m` of `origin`, nearest first, across
    neighbourhoods; keyset-paged on (distance_m, id), `after` being the last pair shown."""
    statement = nearest_posts_read(
        kinds=tuple(sorted(set(kinds))) if kinds else None, resumed=after is not None
    )
    parameters = nearest_parameters(origin, limit=limit, after=after, max_distance_m=max_distance_m)
    return await fetch_nearest(conn, statement, to_post_row, limit, parameters)


@functools.cache
def nearest_posts_statement(*, kinds: tuple[str, ...] | None, resumed: bool) -> Select[Any]:
    """`nearest_posts_query` with bind parameters (`nearest_parameters`), built once per set
    of kinds (at most 2^7 of them)."""
    return nearest_statement(
        POST_COLUMNS,
        Post.location,
        Post.id,
        filters=[*in_feeds(), *of_kinds(kinds)],
        resumed=resumed,
    )


@functools.cache
def nearest_posts_read(*, kinds: tuple[str, ...] | None, resumed: bool) -> ReadStatement:
    """`nearest_posts_statement` compiled for `db.searches`, once per shape."""
    return ReadStatement.of(nearest_posts_statement(kinds=kinds, resumed=resumed))


POST_DISTANCE = functools.cache(lambda: distance_statement(Post.location, Post.id))


async def post_distance_m(conn: ReadConnection, origin: LngLat, post_id: int) -> float | None:
    """Distance from `origin` to one post (None: deleted), to resume a search after it."""
    return await distance_to_m(conn, POST_DISTANCE(), post_id, origin)


async def add_comment(
    conn: AsyncConnection,
    post_id: int,
    *,
    household_id: int,
    account_id: int | None,
    body: str,
) -> CommentRow | None:
    """Comment on a post that is not hidden (None: gone or hidden meanwhile)."""
    source = select(
        Post.id,
        literal(household_id, BigInteger),
        literal(account_id, BigInteger),
        literal(body, Text),
    ).where(Post.id == post_id, Post.hidden_at.is_(None))
    result = await conn.execute(
        insert(Comment)
        .from_select(["post_id", "household_id", "account_id", "body"], source)
        .returning(*COMMENT_COLUMNS)
    )
    row = result.one_or_none()
    return to_comment_row(row) if row else None


async def post_comments(
    conn: AsyncConnection, post_id: int, *, limit: int, after: Cursor | None
) -> list[CommentRow]:
    """A post's visible comments, oldest first, keyset-paged on (created_at, id)."""
    conditions = [Comment.post_id == post_id, Comment.hidden_at.is_(None)]
    if after is not None:
        conditions.append(tuple_(Comment.created_at, Comment.id) > tuple_(*after))
    result = await conn.execute(
        select(*COMMENT_COLUMNS)
        .where(*conditions)
        .order_by(Comment.created_at, Comment.id)
        .limit(limit)
    )
    return [to_comment_row(row) for row in result]


async def comments_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, CommentRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*COMMENT_COLUMNS).where(Comment.id.in_(ids)))
    return {row.id: to_comment_row(row) for row in result}


async def post_authors_by_household_id(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, PostAuthorRow]:
    """Household and neighbourhood names of authors, in one join; no location column at all."""
    if not ids:
        return {}
    result = await conn.execute(
        select(Household.id, Household.name, Neighbourhood.name)
        .join(Neighbourhood, Neighbourhood.id == Household.neighbourhood_id)
        .where(Household.id.in_(ids))
    )
    return {
        int(hid): PostAuthorRow(household_id=int(hid), name=str(name), neighbourhood_name=str(nn))
        for hid, name, nn in result.all()
    }


async def update_post(
    conn: AsyncConnection,
    post_id: int,
    *,
    account_id: int,
    title: str,
    body: str,
    expires_at: datetime | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    place_name: str | None,
    place: LngLat | None,
) -> PostRow | None:
    """Replace a post written by `account_id` that is not hidden (None: no such post).

    The point searches measure to follows the same rule as at creation: the event's place when
    given; else the point it had (the household's public point of its creation: the post stays
    where it was posted if the household moved since), or, when the edit removes the event's
    place, the household's public point now. Never the home. Its neighbourhood and kind stay."""
    public = (
        select(Household.public_location).where(Household.id == Post.household_id).scalar_subquery()
    )
    result = await conn.execute(
        update(Post)
        .where(Post.id == post_id, Post.account_id == account_id, Post.hidden_at.is_(None))
        .values(
            title=title,
            body=body,
            expires_at=expires_at,
            starts_at=starts_at,
            ends_at=ends_at,
            place_name=place_name,
            place_location=point_param(place) if place is not None else null(),
            location=point_param(place)
            if place is not None
            else case((Post.place_location.is_(None), Post.location), else_=public),
        )
        .returning(*POST_COLUMNS)
    )
    row = result.one_or_none()
    return to_post_row(row) if row else None


async def update_comment(
    conn: AsyncConnection, comment_id: int, *, account_id: int, body: str
) -> CommentRow | None:
    """Replace the text of a visible comment written by `account_id` (None: no such comment)."""
    result = await conn.execute(
        update(Comment)
        .where(
            Comment.id == comment_id,
            Comment.account_id == account_id,
            Comment.hidden_at.is_(None),
        )
        .values(body=body)
        .returning(*COMMENT_COLUMNS)
    )
    row = result.one_or_none()
    return to_comment_row(row) if row else None


async def delete_comment(conn: AsyncConnection, comment_id: int, *, account_id: int) -> bool:
    """Delete a comment written by `account_id`; False when it wrote no such comment."""
    result = await conn.execute(
        delete(Comment)
        .where(Comment.id == comment_id, Comment.account_id == account_id)
        .returning(Comment.id)
    )
    return result.scalar_one_or_none() is not None

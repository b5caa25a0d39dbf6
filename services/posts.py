"""Post and comment use cases for their author: editing a post, editing or deleting a comment.

Only the account that wrote a post or a comment changes it (FORBIDDEN for others; moderators
hide content, they do not rewrite it: see docs/moderation.md). Which posts a viewer may read at
all is the API's feed rule (`api.types.post.can_read_post`), checked before these are called, so
that an unreadable post answers NOT_FOUND whatever its author.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import posts as post_queries
from db.rows import CommentRow, PostRow
from geo.coords import LngLat
from services.errors import Refusal, forbidden, not_found


@dataclass(frozen=True, slots=True, kw_only=True)
class PostDetails:
    """A post's content checked by the API as at creation, for its unchanged kind."""

    title: str
    body: str
    expires_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    place_name: str | None
    place: LngLat | None


async def update_post(
    engine: AsyncEngine, *, account_id: int, post: PostRow, details: PostDetails
) -> PostRow | Refusal:
    if post.account_id != account_id:
        return forbidden("Only the author of this post may change it.")
    async with engine.begin() as conn:
        row = await post_queries.update_post(
            conn,
            post.id,
            account_id=account_id,
            title=details.title,
            body=details.body,
            expires_at=details.expires_at,
            starts_at=details.starts_at,
            ends_at=details.ends_at,
            place_name=details.place_name,
            place=details.place,
        )
    return row if row is not None else not_found("No post has this ID.")


async def update_comment(
    engine: AsyncEngine, *, account_id: int, comment: CommentRow, body: str
) -> CommentRow | Refusal:
    if comment.account_id != account_id:
        return forbidden("Only the author of this comment may change it.")
    async with engine.begin() as conn:
        row = await post_queries.update_comment(conn, comment.id, account_id=account_id, body=body)
    return row if row is not None else not_found("No comment has this ID.")


async def delete_comment(
    engine: AsyncEngine, *, account_id: int, comment: CommentRow
) -> Refusal | None:
    if comment.account_id != account_id:
        return forbidden("Only the author of this comment may delete it.")
    async with engine.begin() as conn:
        deleted = await post_queries.delete_comment(conn, comment.id, account_id=account_id)
    return None if deleted else not_found("No comment has this ID.")

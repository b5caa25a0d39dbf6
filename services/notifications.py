"""The inbox of a household: its stored notifications, the unread count, marking them read.

Notifications belong to a household, not to an account: the accounts sharing a household see
the same inbox and the same read marks (one of them reading a loan request is enough). They
are written by `db.queries.events.notify_household` inside each use case's transaction; this
module only reads and marks them. A household touches only its own rows: the queries filter on
it, so another household's ids match nothing (marking them reads as "0 marked").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from string import Template

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.queries import notifications as queries
from db.queries.events import notify_household
from db.queries.notifications import NotificationRow
from db.rows import PostRow
from services.errors import Refusal, forbidden
from services.messages import fr

MAX_IDS = 100
"""Notifications one `markNotificationsRead` call may name."""


def no_household() -> Refusal:
    return forbidden("Notifications belong to a household: register yours first.")


@dataclass(frozen=True, slots=True)
class Marked:
    ids: list[int]
    """The notifications this call marked read (unread ones of the household among those named)."""
    unread_count: int


async def inbox(
    engine: AsyncEngine,
    *,
    household_id: int | None,
    limit: int,
    before_id: int | None,
    unread_only: bool,
) -> list[NotificationRow] | Refusal:
    if household_id is None:
        return no_household()
    async with engine.connect() as conn:
        return await queries.household_notifications(
            conn, household_id, limit=limit, before_id=before_id, unread_only=unread_only
        )


async def unread_count(engine: AsyncEngine, *, household_id: int | None) -> int:
    """0 for an account without a household (it has no inbox)."""
    if household_id is None:
        return 0
    async with engine.connect() as conn:
        return await queries.unread_count(conn, household_id)


async def mark_read(
    engine: AsyncEngine, *, household_id: int | None, ids: Sequence[int] | None
) -> Marked | Refusal:
    """Mark the named notifications (None: all) of the household read. Ids that are not the
    household's unread notifications are ignored: they are someone else's or read already."""
    if household_id is None:
        return no_household()
    if ids is not None and len(ids) > MAX_IDS:
        return Refusal("BAD_USER_INPUT", f"Mark at most {MAX_IDS} notifications at once.", "ids")
    async with engine.begin() as conn:
        marked = await queries.mark_read(conn, household_id, ids)
        count = await queries.unread_count(conn, household_id)
    return Marked(ids=marked, unread_count=count)


async def notifications_of(
    engine: AsyncEngine, *, household_id: int | None, ids: Sequence[int]
) -> dict[int, NotificationRow]:
    """The household's notifications among `ids` (for `node(id:)`): others' are left out."""
    if household_id is None or not ids:
        return {}
    async with engine.connect() as conn:
        found = await queries.notifications_by_id(conn, ids)
    return {key: row for key, row in found.items() if row.household_id == household_id}


def notice(notice_id: str, **values: str) -> str:
    """A notification's French sentence from the catalogue (`services.messages.fr.NOTICES`)."""
    return Template(fr.NOTICES[notice_id]).substitute(values)


async def comment_added(
    conn: AsyncConnection,
    *,
    post: PostRow,
    comment_id: int,
    commenter_household_id: int,
    commenter_name: str,
) -> None:
    """Tell a post's household that another household commented on it (COMMENT_ADDED), in the
    comment's transaction. Its own comments (any account of the household) tell it nothing."""
    if post.household_id == commenter_household_id:
        return
    await notify_household(
        conn,
        post.household_id,
        kind="COMMENT_ADDED",
        subject_type="Comment",
        subject_id=comment_id,
        message=notice("comment_added", name=commenter_name, title=post.title),
    )

"""The weekly digest: who asked for it, what happened in a network this week, the opt-in.

Recipients are accounts that opted in (`digest_enabled`), confirmed their address, and whose
household is an approved member of its network (the digest shows members' content), and that
were not sent a digest in the last `not_since` (so a cron run twice in a week, or a retry
after a crash, sends nobody two). What it lists is what members read in their feed: posts not
hidden, events, items of the network's households.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Household, Item, Neighbourhood, Post

MAX_PER_SECTION = 10
"""Entries per section of one e-mail (the rest: "et N autres" with a link to the feed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    account_id: int
    email: str
    display_name: str
    neighbourhood_id: int
    neighbourhood_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    title: str
    when: datetime | None
    """An event's start; None for posts and items."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Week:
    """What happened in one network over the week (each list newest first, capped)."""

    posts: list[Entry]
    events: list[Entry]
    items: list[Entry]
    total: int
    """Everything new, uncapped (0: nothing to tell, no e-mail)."""


async def recipients(conn: AsyncConnection, *, not_since: timedelta) -> list[Recipient]:
    result = await conn.execute(
        select(
            Account.id,
            Account.email,
            Account.display_name,
            Neighbourhood.id,
            Neighbourhood.name,
        )
        .join(Household, Household.id == Account.household_id)
        .join(Neighbourhood, Neighbourhood.id == Household.neighbourhood_id)
        .where(
            Account.digest_enabled.is_(True),
            Account.email_verified_at.is_not(None),
            Household.membership_status == "APPROVED",
            Household.erased_at.is_(None),
            or_(
                Account.digest_sent_at.is_(None),
                Account.digest_sent_at < func.now() - not_since,
            ),
        )
        .order_by(Neighbourhood.id, Account.id)
    )
    return [
        Recipient(
            account_id=account_id,
            email=email,
            display_name=name,
            neighbourhood_id=nid,
            neighbourhood_name=neighbourhood_name,
        )
        for account_id, email, name, nid, neighbourhood_name in result
    ]


async def week_in(conn: AsyncConnection, neighbourhood_id: int, *, since: datetime) -> Week:
    """New posts and items since `since`, and events that are new or start within 7 days of it
    (served by the posts' (neighbourhood_id, created_at) index and items' household index)."""
    visible = [Post.neighbourhood_id == neighbourhood_id, Post.hidden_at.is_(None)]
    posts = await conn.execute(
        select(Post.title, Post.created_at)
        .where(*visible, Post.kind != "EVENT", Post.created_at >= since)
        .order_by(Post.created_at.desc(), Post.id.desc())
    )
    events = await conn.execute(
        select(Post.title, Post.starts_at)
        .where(
            *visible,
            Post.kind == "EVENT",
            or_(
                Post.created_at >= since,
                Post.starts_at.between(func.now(), func.now() + timedelta(days=7)),
            ),
            or_(Post.ends_at.is_(None), Post.ends_at >= func.now()),
        )
        .order_by(Post.starts_at, Post.id)
    )
    items = await conn.execute(
        select(Item.title, Item.created_at)
        .join(Household, Household.id == Item.household_id)
        .where(
            Household.neighbourhood_id == neighbourhood_id,
            Household.membership_status == "APPROVED",
            Item.available.is_(True),
            Item.created_at >= since,
        )
        .order_by(Item.created_at.desc(), Item.id.desc())
    )
    new_posts = [Entry(title=title, when=None) for title, _ in posts]
    new_events = [Entry(title=title, when=starts) for title, starts in events]
    new_items = [Entry(title=title, when=None) for title, _ in items]
    return Week(
        posts=new_posts[:MAX_PER_SECTION],
        events=new_events[:MAX_PER_SECTION],
        items=new_items[:MAX_PER_SECTION],
        total=len(new_posts) + len(new_events) + len(new_items),
    )


async def mark_sent(conn: AsyncConnection, account_id: int) -> None:
    await conn.execute(
        update(Account).where(Account.id == account_id).values(digest_sent_at=func.now())
    )


async def set_digest(conn: AsyncConnection, account_id: int, *, enabled: bool) -> bool:
    """Opt in or out; False when no such account."""
    result = await conn.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(digest_enabled=enabled)
        .returning(Account.id)
    )
    return result.scalar_one_or_none() is not None


async def digest_enabled(conn: AsyncConnection, account_id: int) -> bool:
    result = await conn.execute(select(Account.digest_enabled).where(Account.id == account_id))
    return bool(result.scalar_one_or_none())

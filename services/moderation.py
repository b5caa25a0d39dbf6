"""Moderation use cases: filing a report (and telling the network's moderators live), undoing a
hide, and what an ambassador's networks are waiting for.

Who may read the reported thing is decided by the API's reading rules (the same as for
queries) before these are called; who may moderate a network is passed in as `may_moderate`
(the viewer's rule: its ambassadors and admins), so that this layer needs no GraphQL.
See docs/moderation.md.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import posts as post_queries
from db.queries import reports as queries
from db.queries.events import notify_report_filed
from db.queries.reports import AnimatedRow, ReportRow
from services.errors import Refusal, not_found

HIDDEN_KINDS = ("POST", "COMMENT")
"""What HIDE (and `unhide`) applies to: items, skills and households are kept or warned."""


def already_reported() -> Refusal:
    return Refusal(
        "ALREADY_REPORTED", "You have already reported this; moderators will deal with it."
    )


async def file_report(
    engine: AsyncEngine,
    *,
    kind: str,
    subject_id: int,
    account_id: int,
    household_id: int | None,
    reason: str,
    details: str,
) -> ReportRow | Refusal:
    """Queue a report of a post, comment, item, skill or household, once per account and
    subject, and announce it to the network's moderators (`reportFiled`) at commit."""
    async with engine.begin() as conn:
        report = functools.partial(
            report_of_kind(kind),
            reporter_account_id=account_id,
            reporter_household_id=household_id,
            reason=reason,
            details=details,
        )
        row = await report(conn, subject_id)
        if row is not None:
            await notify_report_filed(conn, report_id=row.id, neighbourhood_id=row.neighbourhood_id)
            return row
        if kind == "POST":
            duplicate = await queries.has_reported(conn, account_id, post_id=subject_id)
        elif kind == "COMMENT":
            duplicate = await queries.has_reported(conn, account_id, comment_id=subject_id)
        else:
            duplicate = await queries.has_reported_subject(conn, account_id, kind, subject_id)
    return already_reported() if duplicate else not_found("Nothing you may read has this ID.")


def report_of_kind(kind: str) -> Callable[..., Awaitable[ReportRow | None]]:
    if kind == "POST":
        return queries.report_post
    if kind == "COMMENT":
        return queries.report_comment
    return functools.partial(queries.report_subject, kind=kind)


async def unhide(
    engine: AsyncEngine,
    *,
    kind: str,
    subject_id: int,
    may_moderate: Callable[[int], bool],
) -> int | Refusal:
    """Put a hidden post or comment back (its neighbourhood's ambassadors and admins); the
    neighbourhood's id. A report resolved with HIDE stays resolved: its outcome is history."""
    async with engine.begin() as conn:
        if kind == "POST":
            post = (await post_queries.posts_by_id(conn, [subject_id])).get(subject_id)
        else:
            comment = (await post_queries.comments_by_id(conn, [subject_id])).get(subject_id)
            post = (
                (await post_queries.posts_by_id(conn, [comment.post_id])).get(comment.post_id)
                if comment is not None
                else None
            )
        if post is None or not may_moderate(post.neighbourhood_id):
            return not_found("No post or comment you may moderate has this ID.")
        restored = (
            await queries.unhide_post(conn, subject_id)
            if kind == "POST"
            else await queries.unhide_comment(conn, subject_id)
        )
    if not restored:
        return Refusal("INVALID_TRANSITION", "This is not hidden: nothing to restore.")
    return post.neighbourhood_id


async def animated_networks(engine: AsyncEngine, *, account_id: int | None) -> list[AnimatedRow]:
    """The networks the account is ambassador of, with their open reports and pending
    households (empty when signed out)."""
    if account_id is None:
        return []
    async with engine.connect() as conn:
        return await queries.animated_networks(conn, account_id)

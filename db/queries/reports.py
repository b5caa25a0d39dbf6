"""Report queries: reporting a post, comment, item, skill or household, the moderation queue,
resolving, `myReports`, unhiding, and what an ambassador's networks are waiting for.

Nothing in the queue is dropped: a report is never deleted, expires never, and leaves the OPEN
queue only through `resolve_report`. Deleting its target sets `post_id`/`comment_id` to NULL (the
excerpt copied at report time stays for moderators). Resolving is one `UPDATE ... WHERE status =
'OPEN' RETURNING`, so two moderators resolving at once cannot both apply an outcome: the second
finds the report RESOLVED and changes nothing.

Who may report, read the queue or resolve is the API's business (`api.resolvers.reports`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    String,
    Text,
    case,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Comment, Household, Item, NeighbourhoodRole, Post, Report, Skill

Cursor = tuple[datetime, int]
"""A keyset position: (created_at, id) of the last report shown."""
EXCERPT_LENGTH = 280
"""Characters of the reported text copied onto the report, for moderators."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRow:
    """A report; `post_id`/`comment_id` are NULL once the reported content was deleted."""

    id: int
    neighbourhood_id: int
    target_kind: str
    post_id: int | None
    comment_id: int | None
    item_id: int | None = None
    skill_id: int | None = None
    reported_household_id: int | None = None
    target_household_id: int | None
    excerpt: str
    reporter_account_id: int | None
    reporter_household_id: int | None
    reason: str
    details: str
    created_at: datetime
    status: str
    outcome: str | None
    resolved_by_account_id: int | None
    resolved_at: datetime | None
    resolution_note: str


REPORT_COLUMNS = (
    Report.id,
    Report.neighbourhood_id,
    Report.target_kind,
    Report.post_id,
    Report.comment_id,
    Report.item_id,
    Report.skill_id,
    Report.reported_household_id,
    Report.target_household_id,
    Report.excerpt,
    Report.reporter_account_id,
    Report.reporter_household_id,
    Report.reason,
    Report.details,
    Report.created_at,
    Report.status,
    Report.outcome,
    Report.resolved_by_account_id,
    Report.resolved_at,
    Report.resolution_note,
)
INSERTED = [
    "neighbourhood_id",
    "target_kind",
    "post_id",
    "comment_id",
    "target_household_id",
    "excerpt",
    "reporter_account_id",
    "reporter_household_id",
    "reason",
    "details",
]


def to_row(row: Row[*tuple[Any, ...]]) -> ReportRow:
    return ReportRow(**row._mapping)


async def report_post(
    conn: AsyncConnection,
    post_id: int,
    *,
    reporter_account_id: int,
    reporter_household_id: int | None,
    reason: str,
    details: str,
) -> ReportRow | None:
    """Report a post (None: no such post, or this account already reported it).

    One INSERT ... SELECT from the post, so the neighbourhood, author and excerpt are those of
    the post as it is; the partial unique index decides duplicates, also under concurrency.
    """
    excerpt = case((Post.body == "", Post.title), else_=Post.title + " — " + Post.body)
    source = select(
        Post.neighbourhood_id,
        literal("POST", String),
        Post.id,
        literal(None, BigInteger),
        Post.household_id,
        func.left(excerpt, EXCERPT_LENGTH),
        *reporter_values(reporter_account_id, reporter_household_id, reason, details),
    ).where(Post.id == post_id)
    return await insert_report(conn, source)


async def report_comment(
    conn: AsyncConnection,
    comment_id: int,
    *,
    reporter_account_id: int,
    reporter_household_id: int | None,
    reason: str,
    details: str,
) -> ReportRow | None:
    """Report a comment, queued in its post's neighbourhood (None: gone, or already reported)."""
    source = (
        select(
            Post.neighbourhood_id,
            literal("COMMENT", String),
            literal(None, BigInteger),
            Comment.id,
            Comment.household_id,
            func.left(Comment.body, EXCERPT_LENGTH),
            *reporter_values(reporter_account_id, reporter_household_id, reason, details),
        )
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id == comment_id)
    )
    return await insert_report(conn, source)


def reporter_values(
    account_id: int, household_id: int | None, reason: str, details: str
) -> list[ColumnElement[Any]]:
    return [
        literal(account_id, BigInteger),
        literal(household_id, BigInteger),
        literal(reason, String),
        literal(details, Text),
    ]


async def insert_report(conn: AsyncConnection, source: Any) -> ReportRow | None:
    statement = (
        pg_insert(Report)
        .from_select(INSERTED, source)
        .on_conflict_do_nothing()
        .returning(*REPORT_COLUMNS)
    )
    row = (await conn.execute(statement)).one_or_none()
    return to_row(row) if row else None


async def has_reported(
    conn: AsyncConnection,
    account_id: int,
    *,
    post_id: int | None = None,
    comment_id: int | None = None,
) -> bool:
    """Whether the account has a report (open or resolved) of this post or comment."""
    target = Report.post_id == post_id if post_id is not None else Report.comment_id == comment_id
    result = await conn.execute(
        select(func.count()).where(Report.reporter_account_id == account_id, target)
    )
    return bool(result.scalar_one())


async def resolve_report(
    conn: AsyncConnection, report_id: int, *, outcome: str, account_id: int, note: str
) -> ReportRow | None:
    """Resolve an OPEN report (None: no such report, or resolved already: read it to tell)."""
    result = await conn.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == "OPEN")
        .values(
            status="RESOLVED",
            outcome=outcome,
            resolved_by_account_id=account_id,
            resolved_at=func.now(),
            resolution_note=note,
        )
        .returning(*REPORT_COLUMNS)
    )
    row = result.one_or_none()
    return to_row(row) if row else None


async def hide_comment(conn: AsyncConnection, comment_id: int) -> bool:
    """Hide a comment from its thread (False: no such comment). Hiding again keeps the first
    time."""
    result = await conn.execute(
        update(Comment)
        .where(Comment.id == comment_id)
        .values(hidden_at=func.coalesce(Comment.hidden_at, func.now()))
        .returning(Comment.id)
    )
    return result.scalar_one_or_none() is not None


async def reports_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ReportRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*REPORT_COLUMNS).where(Report.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


async def report_by_id(conn: AsyncConnection, report_id: int) -> ReportRow | None:
    return (await reports_by_id(conn, [report_id])).get(report_id)


async def moderation_queue(
    conn: AsyncConnection,
    neighbourhood_id: int,
    *,
    status: str,
    limit: int,
    after: Cursor | None,
) -> list[ReportRow]:
    """A neighbourhood's reports in `status`, oldest first, keyset-paged on (created_at, id).

    Served by `ix_reports_queue` in index order. No expiry and no cap besides the page: every
    report is reached by following `after`, and reports arriving meanwhile land after the last
    page, never between pages.
    """
    conditions = [Report.neighbourhood_id == neighbourhood_id, Report.status == status]
    if after is not None:
        conditions.append(tuple_(Report.created_at, Report.id) > tuple_(*after))
    result = await conn.execute(
        select(*REPORT_COLUMNS)
        .where(*conditions)
        .order_by(Report.created_at, Report.id)
        .limit(limit)
    )
    return [to_row(row) for row in result]


async def count_reports(conn: AsyncConnection, neighbourhood_id: int, *, status: str) -> int:
    result = await conn.execute(
        select(func.count()).where(
            Report.neighbourhood_id == neighbourhood_id, Report.status == status
        )
    )
    return int(result.scalar_one())


async def account_reports(
    conn: AsyncConnection, account_id: int, *, limit: int, after: Cursor | None
) -> list[ReportRow]:
    """The reports an account made, newest first, keyset-paged on (created_at, id)."""
    conditions = [Report.reporter_account_id == account_id]
    if after is not None:
        conditions.append(tuple_(Report.created_at, Report.id) < tuple_(*after))
    result = await conn.execute(
        select(*REPORT_COLUMNS)
        .where(*conditions)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    )
    return [to_row(row) for row in result]


SUBJECT_COLUMNS = {"ITEM": "item_id", "SKILL": "skill_id", "HOUSEHOLD": "reported_household_id"}
"""The column naming each newer kind of subject (posts and comments have theirs above)."""


async def report_subject(
    conn: AsyncConnection,
    subject_id: int,
    *,
    kind: str,
    reporter_account_id: int,
    reporter_household_id: int | None,
    reason: str,
    details: str,
) -> ReportRow | None:
    """Report an item, a skill or a household (None: gone, or already reported by this account).

    Queued in the neighbourhood of the household concerned (the lender, the skill's household,
    the household itself), as it is now; one INSERT ... SELECT, so the partial unique index
    decides duplicates under concurrency as for posts.
    """
    if kind == "ITEM":
        source = (
            select(
                Household.neighbourhood_id,
                Item.household_id,
                func.left(
                    case(
                        (Item.description == "", Item.title),
                        else_=Item.title + " — " + Item.description,
                    ),
                    EXCERPT_LENGTH,
                ),
            )
            .join(Household, Household.id == Item.household_id)
            .where(Item.id == subject_id)
        )
    elif kind == "SKILL":
        source = (
            select(
                Household.neighbourhood_id,
                Skill.household_id,
                func.left(
                    case(
                        (Skill.description == "", Skill.title),
                        else_=Skill.title + " — " + Skill.description,
                    ),
                    EXCERPT_LENGTH,
                ),
            )
            .join(Household, Household.id == Skill.household_id)
            .where(Skill.id == subject_id)
        )
    else:
        source = select(
            Household.neighbourhood_id, Household.id, func.left(Household.name, EXCERPT_LENGTH)
        ).where(Household.id == subject_id, Household.erased_at.is_(None))
    found = source.subquery()
    values = select(
        found.c[0],
        literal(kind, String),
        literal(subject_id, BigInteger),
        found.c[1],
        found.c[2],
        *reporter_values(reporter_account_id, reporter_household_id, reason, details),
    )
    columns = [
        "neighbourhood_id",
        "target_kind",
        SUBJECT_COLUMNS[kind],
        "target_household_id",
        "excerpt",
        "reporter_account_id",
        "reporter_household_id",
        "reason",
        "details",
    ]
    statement = (
        pg_insert(Report)
        .from_select(columns, values)
        .on_conflict_do_nothing()
        .returning(*REPORT_COLUMNS)
    )
    row = (await conn.execute(statement)).one_or_none()
    return to_row(row) if row else None


async def has_reported_subject(
    conn: AsyncConnection, account_id: int, kind: str, subject_id: int
) -> bool:
    column = getattr(Report, SUBJECT_COLUMNS[kind])
    result = await conn.execute(
        select(func.count()).where(Report.reporter_account_id == account_id, column == subject_id)
    )
    return bool(result.scalar_one())


async def unhide_post(conn: AsyncConnection, post_id: int) -> bool:
    """Put a hidden post back in the feeds (False: no such post, or not hidden)."""
    result = await conn.execute(
        update(Post)
        .where(Post.id == post_id, Post.hidden_at.is_not(None))
        .values(hidden_at=None, hidden_reason=None, hidden_by_account_id=None)
        .returning(Post.id)
    )
    return result.scalar_one_or_none() is not None


async def unhide_comment(conn: AsyncConnection, comment_id: int) -> bool:
    """Put a hidden comment back in its thread (False: no such comment, or not hidden)."""
    result = await conn.execute(
        update(Comment)
        .where(Comment.id == comment_id, Comment.hidden_at.is_not(None))
        .values(hidden_at=None)
        .returning(Comment.id)
    )
    return result.scalar_one_or_none() is not None


@dataclass(frozen=True, slots=True)
class AnimatedRow:
    """A network an account is ambassador of, and what waits for its moderators."""

    neighbourhood_id: int
    open_reports: int
    pending_households: int


async def animated_networks(conn: AsyncConnection, account_id: int) -> list[AnimatedRow]:
    """The networks `account_id` is ambassador of (oldest id first), with their open reports
    and pending households: two counts per network, in one statement (correlated counts served
    by `ix_reports_queue` and the households' pending index)."""
    open_reports = (
        select(func.count())
        .where(
            Report.neighbourhood_id == NeighbourhoodRole.neighbourhood_id,
            Report.status == "OPEN",
        )
        .scalar_subquery()
    )
    pending = (
        select(func.count())
        .where(
            Household.neighbourhood_id == NeighbourhoodRole.neighbourhood_id,
            Household.membership_status == "PENDING",
        )
        .scalar_subquery()
    )
    result = await conn.execute(
        select(NeighbourhoodRole.neighbourhood_id, open_reports, pending)
        .where(NeighbourhoodRole.account_id == account_id)
        .order_by(NeighbourhoodRole.neighbourhood_id)
    )
    return [AnimatedRow(int(n), int(r), int(p)) for n, r, p in result]

"""Feedback to the team and the admins' queue of it (oldest first per state, keyset-paged)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Feedback


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackRow:
    id: int
    kind: str
    message: str
    screen: str | None
    state: str
    answer: str | None
    answered_at: datetime | None
    created_at: datetime
    account_id: int | None
    reply_to: str | None
    """The account's e-mail when signed in, else the address given (if any)."""


COLUMNS = (
    Feedback.id,
    Feedback.kind,
    Feedback.message,
    Feedback.screen,
    Feedback.state,
    Feedback.answer,
    Feedback.answered_at,
    Feedback.created_at,
    Feedback.account_id,
    func.coalesce(Account.email, Feedback.email).label("reply_to"),
)


def to_row(row: Row[*tuple[Any, ...]]) -> FeedbackRow:
    return FeedbackRow(**row._mapping)


async def create_feedback(
    conn: AsyncConnection,
    *,
    kind: str,
    message: str,
    screen: str | None,
    account_id: int | None,
    email: str | None,
) -> int:
    result = await conn.execute(
        insert(Feedback)
        .values(kind=kind, message=message, screen=screen, account_id=account_id, email=email)
        .returning(Feedback.id)
    )
    return int(result.scalar_one())


async def feedback_sent_since(
    conn: AsyncConnection, *, account_id: int | None, email: str | None, within: timedelta
) -> int:
    """Messages from this account or reply address lately (the per-sender limit)."""
    senders = []
    if account_id is not None:
        senders.append(Feedback.account_id == account_id)
    if email is not None:
        senders.append(Feedback.email == email)
    if not senders:
        return 0
    result = await conn.execute(
        select(func.count()).where(or_(*senders), Feedback.created_at > func.now() - within)
    )
    return int(result.scalar_one())


async def feedback_by_id(conn: AsyncConnection, feedback_id: int) -> FeedbackRow | None:
    row = (
        await conn.execute(
            select(*COLUMNS)
            .outerjoin(Account, Account.id == Feedback.account_id)
            .where(Feedback.id == feedback_id)
        )
    ).one_or_none()
    return to_row(row) if row else None


async def feedback_queue(
    conn: AsyncConnection, *, state: str, limit: int, after: tuple[datetime, int] | None
) -> list[FeedbackRow]:
    """Feedback in `state`, oldest first on (created_at, id): `ix_feedback_state_created_at_id`."""
    conditions = [Feedback.state == state]
    if after is not None:
        conditions.append(tuple_(Feedback.created_at, Feedback.id) > tuple_(*after))
    result = await conn.execute(
        select(*COLUMNS)
        .outerjoin(Account, Account.id == Feedback.account_id)
        .where(*conditions)
        .order_by(Feedback.created_at, Feedback.id)
        .limit(limit)
    )
    return [to_row(row) for row in result]


async def answer_feedback(
    conn: AsyncConnection, feedback_id: int, *, answer: str, admin_id: int
) -> bool:
    result = await conn.execute(
        update(Feedback)
        .where(Feedback.id == feedback_id)
        .values(
            answer=answer,
            answered_at=func.now(),
            answered_by_account_id=admin_id,
            state="ANSWERED",
        )
    )
    return result.rowcount > 0


async def set_feedback_state(conn: AsyncConnection, feedback_id: int, *, state: str) -> bool:
    result = await conn.execute(
        update(Feedback).where(Feedback.id == feedback_id).values(state=state)
    )
    return result.rowcount > 0

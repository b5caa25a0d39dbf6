"""Feedback: anyone tells the team something (a bug, an idea...); admins work through the
queue and answer by e-mail. The answer is stored with the message, and lands in the inbox of
the sender's household (FEEDBACK_ANSWERED) when the sender had an account with a household."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.queries import accounts as account_queries
from db.queries import feedback as queries
from db.queries.events import notify_household
from db.queries.feedback import FeedbackRow
from services.errors import Refusal, forbidden, not_found
from services.mail import Mailer
from services.notifications import notice

PER_SENDER_PER_HOUR = 10
"""Messages one account or reply address may send per hour (beyond: RATE_LIMITED)."""


def admins_only() -> Refusal:
    return forbidden("Only platform administrators read and answer feedback.")


async def send_feedback(
    engine: AsyncEngine,
    *,
    account_id: int | None,
    kind: str,
    message: str,
    screen: str | None,
    email: str | None,
) -> int | Refusal:
    """Store a message; the id, or RATE_LIMITED. A signed-in sender is answered at their
    account's address (so `email` is ignored for them: one address per person)."""
    email = None if account_id is not None else email
    async with engine.begin() as conn:
        recent = await queries.feedback_sent_since(
            conn, account_id=account_id, email=email, within=timedelta(hours=1)
        )
        if recent >= PER_SENDER_PER_HOUR:
            return Refusal(
                "RATE_LIMITED", "You have sent a lot of messages this hour: retry later."
            )
        return await queries.create_feedback(
            conn, kind=kind, message=message, screen=screen, account_id=account_id, email=email
        )


async def feedback_queue(
    engine: AsyncEngine,
    *,
    is_admin: bool,
    state: str,
    limit: int,
    after: tuple[datetime, int] | None,
) -> list[FeedbackRow] | Refusal:
    if not is_admin:
        return admins_only()
    async with engine.connect() as conn:
        return await queries.feedback_queue(conn, state=state, limit=limit, after=after)


async def answer_feedback(
    engine: AsyncEngine,
    mailer: Mailer,
    *,
    admin_id: int | None,
    is_admin: bool,
    feedback_id: int,
    answer: str,
) -> FeedbackRow | Refusal:
    """Store the answer (state ANSWERED) and e-mail it to the sender, when there is an address."""
    if admin_id is None or not is_admin:
        return admins_only()
    async with engine.begin() as conn:
        if not await queries.answer_feedback(conn, feedback_id, answer=answer, admin_id=admin_id):
            return not_found("No feedback has this id.")
        row = await queries.feedback_by_id(conn, feedback_id)
        if row is not None and row.account_id is not None:
            await tell_sender_household(conn, row, answer)
    if row is None:
        return not_found("No feedback has this id.")
    if row.reply_to is not None:
        await mailer.send(
            mailer.compose(row.reply_to, "feedback_answer", message=row.message, answer=answer)
        )
    return row


async def tell_sender_household(conn: AsyncConnection, row: FeedbackRow, answer: str) -> None:
    """The answer in the inbox of the sender's household too (FEEDBACK_ANSWERED), in the
    answering transaction; a sender without a household (or anonymous) has only the e-mail."""
    assert row.account_id is not None
    account = await account_queries.account_by_id(conn, row.account_id)
    if account is None or account.household_id is None:
        return
    await notify_household(
        conn,
        account.household_id,
        kind="FEEDBACK_ANSWERED",
        subject_type="Feedback",
        subject_id=row.id,
        message=notice("feedback_answered", answer=answer),
    )


async def set_feedback_state(
    engine: AsyncEngine, *, is_admin: bool, feedback_id: int, state: str
) -> FeedbackRow | Refusal:
    if not is_admin:
        return admins_only()
    async with engine.begin() as conn:
        if not await queries.set_feedback_state(conn, feedback_id, state=state):
            return not_found("No feedback has this id.")
        row = await queries.feedback_by_id(conn, feedback_id)
    return row if row is not None else not_found("No feedback has this id.")

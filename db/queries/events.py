"""Events for live subscribers, sent with PostgreSQL NOTIFY.

`NOTIFY` inside a transaction is delivered when (and only if) the transaction commits, so an event
can never announce a row that was rolled back, nor arrive before the row is visible. Every server
process listens on the one channel and dispatches to its own subscribers (see `api.pubsub`).
Payloads stay well under PostgreSQL's 8,000-byte limit: public fields only, never a home.

A household's notifications are also stored (`db.queries.notifications`, the inbox) by the same
call, `notify_household`, the one path for them: nothing is sent live that the inbox lacks.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.queries.notifications import store_notification

CHANNEL = "voisinage_events"
MAX_PAYLOAD_BYTES = 7900


async def notify(conn: AsyncConnection, event_type: str, payload: dict[str, Any]) -> None:
    """Queue an event for delivery at commit."""
    message = json.dumps({"type": event_type, **payload}, ensure_ascii=False, default=str)
    if len(message.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"event {event_type} is too large for NOTIFY")
    await conn.execute(
        text("SELECT pg_notify(:channel, :message)"), {"channel": CHANNEL, "message": message}
    )


async def notify_household(
    conn: AsyncConnection,
    household_id: int,
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    message: str,
) -> int:
    """An event that concerns one household (a loan request on its item, a booked seat...):
    stored in its inbox and sent live, both in the caller's transaction, so the notification
    exists (and is delivered) if and only if the change it announces commits. The id of the
    stored notification, which the live event carries too (`Notification.id`)."""
    row = await store_notification(
        conn,
        household_id,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        message=message,
    )
    await notify(
        conn,
        "household_notification",
        {
            "id": row.id,
            "household_id": household_id,
            "kind": row.kind,
            "subject_type": row.subject_type,
            "subject_id": row.subject_id,
            "message": row.message,
            "created_at": row.created_at.isoformat(),
        },
    )
    return row.id


async def notify_report_filed(
    conn: AsyncConnection, *, report_id: int, neighbourhood_id: int
) -> None:
    """A new report in a neighbourhood's queue, for its moderators' `reportFiled` (ids only:
    the subscriber reads the report as its viewer may see it)."""
    await notify(
        conn, "report_filed", {"report_id": report_id, "neighbourhood_id": neighbourhood_id}
    )

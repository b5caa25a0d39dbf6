"""Events for live subscribers, sent with PostgreSQL NOTIFY.

`NOTIFY` inside a transaction is delivered when (and only if) the transaction commits, so an event
can never announce a row that was rolled back, nor arrive before the row is visible. Every server
process listens on the one channel and dispatches to its own subscribers (see `api.pubsub`).
Payloads stay well under PostgreSQL's 8,000-byte limit: public fields only, never a home.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

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
) -> None:
    """An event that concerns one household (a loan request on its item, a booked seat...)."""
    await notify(
        conn,
        "household_notification",
        {
            "household_id": household_id,
            "kind": kind,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "message": message[:500],
        },
    )

"""The inbox: notifications stored per household, newest first, and their read marks.

Rows are written only by `db.queries.events.notify_household`, in the transaction of the change
they announce. Every read and write here names the household: a household never reads or marks
another's notifications (an id of another household matches nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Notification

MAX_MESSAGE = 500
"""Characters of a notification's message kept (and sent live)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationRow:
    id: int
    household_id: int
    kind: str
    subject_type: str
    subject_id: int
    message: str
    created_at: datetime
    read_at: datetime | None


COLUMNS = (
    Notification.id,
    Notification.household_id,
    Notification.kind,
    Notification.subject_type,
    Notification.subject_id,
    Notification.message,
    Notification.created_at,
    Notification.read_at,
)


def to_row(row: Row[*tuple[Any, ...]]) -> NotificationRow:
    return NotificationRow(**row._mapping)


async def store_notification(
    conn: AsyncConnection,
    household_id: int,
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    message: str,
) -> NotificationRow:
    result = await conn.execute(
        insert(Notification)
        .values(
            household_id=household_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            message=message[:MAX_MESSAGE],
        )
        .returning(*COLUMNS)
    )
    return to_row(result.one())


async def household_notifications(
    conn: AsyncConnection,
    household_id: int,
    *,
    limit: int,
    before_id: int | None,
    unread_only: bool,
) -> list[NotificationRow]:
    """A household's notifications, newest first (id descending: ids grow with time), keyset
    on the id; served by `ix_notifications_household_id_id` (or the unread partial index)."""
    conditions = [Notification.household_id == household_id]
    if before_id is not None:
        conditions.append(Notification.id < before_id)
    if unread_only:
        conditions.append(Notification.read_at.is_(None))
    result = await conn.execute(
        select(*COLUMNS).where(*conditions).order_by(Notification.id.desc()).limit(limit)
    )
    return [to_row(row) for row in result]


async def unread_count(conn: AsyncConnection, household_id: int) -> int:
    result = await conn.execute(
        select(func.count()).where(
            Notification.household_id == household_id, Notification.read_at.is_(None)
        )
    )
    return int(result.scalar_one())


async def mark_read(
    conn: AsyncConnection, household_id: int, ids: Sequence[int] | None
) -> list[int]:
    """Mark the household's unread notifications among `ids` (None: all of them) read; the ids
    changed. Ids of another household's notifications are ignored."""
    conditions = [Notification.household_id == household_id, Notification.read_at.is_(None)]
    if ids is not None:
        if not ids:
            return []
        conditions.append(Notification.id.in_(ids))
    result = await conn.execute(
        update(Notification)
        .where(*conditions)
        .values(read_at=func.now())
        .returning(Notification.id)
    )
    return sorted(int(ident) for ident in result.scalars())


async def notifications_by_id(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, NotificationRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*COLUMNS).where(Notification.id.in_(ids)))
    return {row.id: to_row(row) for row in result}

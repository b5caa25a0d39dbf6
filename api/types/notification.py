"""Notifications for one household: stored in its inbox and pushed live (`notificationReceived`).

A notification belongs to a household (accounts sharing a household share its inbox and its
read marks); `node(id:)` returns one to its household only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from api.context import Context
from api.pagination import PageInfo
from api.validation import node_keys
from db.queries.notifications import NotificationRow
from services import notifications as service

Info = strawberry.Info[Context, None]


@strawberry.enum(description="What happened that concerns your household.")
class NotificationKind(Enum):
    LOAN_REQUESTED = strawberry.enum_value(
        "LOAN_REQUESTED", description="A neighbour asks to borrow your item (subject: the loan)."
    )
    LOAN_ACCEPTED = strawberry.enum_value(
        "LOAN_ACCEPTED", description="The lender accepted your request (subject: the loan)."
    )
    LOAN_DECLINED = strawberry.enum_value(
        "LOAN_DECLINED", description="The lender declined your request (subject: the loan)."
    )
    LOAN_CANCELLED = strawberry.enum_value(
        "LOAN_CANCELLED", description="The other side cancelled the loan (subject: the loan)."
    )
    LOAN_HANDED_OVER = strawberry.enum_value(
        "LOAN_HANDED_OVER", description="The item was handed over (subject: the loan)."
    )
    LOAN_RETURNED = strawberry.enum_value(
        "LOAN_RETURNED", description="The item was returned (subject: the loan)."
    )
    SEAT_BOOKED = strawberry.enum_value(
        "SEAT_BOOKED", description="A seat was booked in your carpool (subject: the carpool)."
    )
    SEAT_CANCELLED = strawberry.enum_value(
        "SEAT_CANCELLED",
        description="A seat was cancelled (subject: the carpool): a passenger gave theirs back "
        "(to the driver), or the driver cancelled the trip or dropped the date you booked (to "
        "the passenger).",
    )
    COMMENT_ADDED = strawberry.enum_value(
        "COMMENT_ADDED",
        description="Another household commented on your post (subject: the comment).",
    )
    CONTENT_WARNED = strawberry.enum_value(
        "CONTENT_WARNED",
        description="A moderator warned you about reported content (subject: the post, comment, "
        "item or skill).",
    )
    REPORT_RESOLVED = strawberry.enum_value(
        "REPORT_RESOLVED", description="A report you made was resolved (subject: the report)."
    )
    MEMBERSHIP_APPROVED = strawberry.enum_value(
        "MEMBERSHIP_APPROVED",
        description="An ambassador approved your household (subject: the household).",
    )
    MEMBERSHIP_DECLINED = strawberry.enum_value(
        "MEMBERSHIP_DECLINED",
        description="An ambassador declined your household (subject: the household).",
    )
    FEEDBACK_ANSWERED = strawberry.enum_value(
        "FEEDBACK_ANSWERED",
        description="The team answered a message you sent with sendFeedback (subject: the "
        "feedback; the answer is in `message`).",
    )
    ITEM_CHANGED = strawberry.enum_value(
        "ITEM_CHANGED",
        description="The lender changed an item you have an accepted loan of (subject: the item).",
    )
    CARPOOL_CHANGED = strawberry.enum_value(
        "CARPOOL_CHANGED",
        description="The driver changed a trip you booked a seat on (subject: the carpool).",
    )
    GARDEN_PLOT_OFFERED = strawberry.enum_value(
        "GARDEN_PLOT_OFFERED",
        description="You were first in line: a plot of the garden is yours (subject: the garden).",
    )
    GARDEN_WITHDRAWN = strawberry.enum_value(
        "GARDEN_WITHDRAWN",
        description="A garden whose waiting list you were on is withdrawn (subject: the garden, "
        "now gone).",
    )


@strawberry.type(
    description="Something that concerns your household: kept in its inbox (`notifications`) "
    "and sent live (`notificationReceived`) with the same ID. Shared by the accounts of the "
    "household, read marks included."
)
class Notification(relay.Node):
    id: relay.NodeID[int]
    kind: NotificationKind = strawberry.field(description="What happened.")
    subject: relay.GlobalID = strawberry.field(
        description="The loan, carpool, post, comment, report, household or feedback concerned "
        "(fetch it with node(id:))."
    )
    message: str = strawberry.field(description="A short French sentence to show as is.")
    received_at: datetime = strawberry.field(description="When it happened (stored).")
    read_at: datetime | None = strawberry.field(
        description="When an account of your household marked it read; null while unread."
    )

    @classmethod
    def from_row(cls, row: NotificationRow) -> Notification:
        return cls(
            id=row.id,
            kind=NotificationKind(row.kind),
            subject=relay.GlobalID(row.subject_type, str(row.subject_id)),
            message=row.message,
            received_at=row.created_at,
            read_at=row.read_at,
        )

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Notification:
        """A live event of `db.queries.events.notify_household` (just stored, so unread)."""
        created = event.get("created_at")
        return cls(
            id=int(event["id"]),
            kind=NotificationKind(event["kind"]),
            subject=relay.GlobalID(str(event["subject_type"]), str(event["subject_id"])),
            message=str(event["message"]),
            received_at=datetime.fromisoformat(created) if created else datetime.now(UTC),
            read_at=None,
        )

    @strawberry.field(description="Whether an account of your household marked it read.")
    def read(self) -> bool:
        return self.read_at is not None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Notification | None]:
        keys = node_keys(node_ids)
        found = await service.notifications_of(
            info.context.engine, household_id=info.context.viewer.household_id, ids=keys
        )
        return [cls.from_row(found[key]) if key in found else None for key in keys]


@strawberry.type(description="A notification in your inbox, with its cursor.")
class NotificationEdge:
    node: Notification = strawberry.field(description="The notification.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="Your household's notifications, newest first.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursors.")

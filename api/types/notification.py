"""Notifications for one household, pushed live (`notificationReceived`)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay


@strawberry.enum(description="What happened that concerns your household.")
class NotificationKind(Enum):
    LOAN_REQUESTED = "LOAN_REQUESTED"
    LOAN_ACCEPTED = "LOAN_ACCEPTED"
    LOAN_DECLINED = "LOAN_DECLINED"
    LOAN_CANCELLED = "LOAN_CANCELLED"
    LOAN_HANDED_OVER = "LOAN_HANDED_OVER"
    LOAN_RETURNED = "LOAN_RETURNED"
    SEAT_BOOKED = "SEAT_BOOKED"
    SEAT_CANCELLED = "SEAT_CANCELLED"
    COMMENT_ADDED = "COMMENT_ADDED"
    CONTENT_WARNED = "CONTENT_WARNED"
    REPORT_RESOLVED = "REPORT_RESOLVED"
    MEMBERSHIP_APPROVED = "MEMBERSHIP_APPROVED"
    MEMBERSHIP_DECLINED = "MEMBERSHIP_DECLINED"


@strawberry.type(description="Something that concerns your household, as it happens.")
class Notification:
    kind: NotificationKind
    subject: relay.GlobalID = strawberry.field(
        description="The loan, carpool, post, comment, report or household concerned (fetch it with "
        "node(id:))."
    )
    message: str = strawberry.field(description="A short French sentence to show as is.")
    received_at: datetime

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Notification:
        return cls(
            kind=NotificationKind(event["kind"]),
            subject=relay.GlobalID(str(event["subject_type"]), str(event["subject_id"])),
            message=str(event["message"]),
            received_at=datetime.now(UTC),
        )

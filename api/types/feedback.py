"""Feedback to the team, as admins see it in their queue."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from api.pagination import PageInfo, encode_time_cursor
from db.queries.feedback import FeedbackRow

QUEUE_CURSOR = "fq"


@strawberry.enum(description="What kind of message this is, as its sender chose.")
class FeedbackKind(Enum):
    BUG = "BUG"
    IDEA = "IDEA"
    PRAISE = "PRAISE"
    COMPLAINT = "COMPLAINT"
    QUESTION = "QUESTION"


@strawberry.enum(description="Where a message stands in the admins' queue.")
class FeedbackState(Enum):
    NEW = "NEW"
    IN_PROGRESS = "IN_PROGRESS"
    ANSWERED = "ANSWERED"


@strawberry.type(description="A message sent with sendFeedback (shown to admins only).")
class Feedback:
    id: relay.GlobalID = strawberry.field(description="Global ID of the message.")
    kind: FeedbackKind = strawberry.field(description="Bug, idea, praise, complaint or question.")
    message: str = strawberry.field(description="What the sender wrote.")
    screen: str | None = strawberry.field(
        description="The client screen it was sent from (e.g. `/prets`), if given."
    )
    state: FeedbackState = strawberry.field(description="NEW, IN_PROGRESS or ANSWERED.")
    answer: str | None = strawberry.field(description="The team's answer, once given.")
    answered_at: datetime | None = strawberry.field(description="When it was answered.")
    created_at: datetime = strawberry.field(description="When it was sent.")
    signed_in: bool = strawberry.field(description="Sent by a signed-in account.")
    reply_to: str | None = strawberry.field(
        description="Where the answer is e-mailed: the account's address, or the one given by "
        "an anonymous sender; null when there is none (the answer is only stored)."
    )
    created_at_cursor: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: FeedbackRow) -> Feedback:
        return cls(
            id=relay.GlobalID("Feedback", str(row.id)),
            kind=FeedbackKind(row.kind),
            message=row.message,
            screen=row.screen,
            state=FeedbackState(row.state),
            answer=row.answer,
            answered_at=row.answered_at,
            created_at=row.created_at,
            signed_in=row.account_id is not None,
            reply_to=row.reply_to,
            created_at_cursor=encode_time_cursor(QUEUE_CURSOR, row.created_at, row.id),
        )


@strawberry.type(description="A message in the queue, with its cursor.")
class FeedbackEdge:
    node: Feedback = strawberry.field(description="The message.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="Feedback in one state, oldest first.")
class FeedbackConnection:
    edges: list[FeedbackEdge] = strawberry.field(description="This page's messages.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursors.")


@strawberry.type(description="Thank you: the message reached the team.")
class SendFeedbackSuccess:
    id: relay.GlobalID = strawberry.field(description="Global ID of the message.")


@strawberry.type(description="The message after an admin's change.")
class FeedbackChanged:
    feedback: Feedback = strawberry.field(description="The message as it now stands.")

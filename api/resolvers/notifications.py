"""The inbox: `notifications`, `unreadNotificationCount`, `markNotificationsRead`,
`markAllNotificationsRead`. Thin: the rules (one household's own rows) are in
`services.notifications`. See docs/live.md, "Your household's inbox"."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    ForbiddenError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    unauthenticated,
)
from api.mailer import raise_refusal
from api.pagination import decode_id_cursor, encode_cursor, keyset_page_info, page_size
from api.types.notification import Notification, NotificationConnection, NotificationEdge
from api.validation import decode_node_id
from services import notifications as service
from services.errors import Refusal

Info = strawberry.Info[Context, None]
CURSOR = "nt"


@strawberry.type(
    description="The notifications are marked read for every account of your household."
)
class MarkNotificationsReadSuccess:
    marked: list[relay.GlobalID] = strawberry.field(
        description="The notifications this call marked read: the unread ones of your "
        "household among those named (others' IDs, and read ones, are left out)."
    )
    unread_count: int = strawberry.field(description="Your household's unread count after this.")


MarkNotificationsReadResult = Annotated[
    MarkNotificationsReadSuccess | ValidationError | ForbiddenError | UnauthenticatedError,
    strawberry.union("MarkNotificationsReadResult"),
]


def refused(refusal: Refusal) -> ValidationError | ForbiddenError:
    if refusal.code == ErrorCode.FORBIDDEN.value:
        return ForbiddenError(code=ErrorCode.FORBIDDEN, message=refusal.message)
    return ValidationError(
        code=ErrorCode(refusal.code), message=refusal.message, field=refusal.field
    )


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="Your household's notifications, newest first (signed in, with a "
        "household). Shared by the accounts of the household. `unreadOnly` lists the unread "
        "ones only."
    )
    async def notifications(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page, same filter."),
        ] = None,
        unread_only: Annotated[
            bool, strawberry.argument(description="Only those not marked read yet.")
        ] = False,
    ) -> NotificationConnection:
        viewer = info.context.viewer
        if viewer.account_id is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        limit = page_size(first, info.context.settings.max_page_size)
        before_id = decode_id_cursor(after, CURSOR)
        rows = await service.inbox(
            info.context.engine,
            household_id=viewer.household_id,
            limit=limit + 1,
            before_id=before_id,
            unread_only=unread_only,
        )
        if isinstance(rows, Refusal):
            raise_refusal(rows)
        edges = [
            NotificationEdge(node=Notification.from_row(row), cursor=encode_cursor(CURSOR, row.id))
            for row in rows[:limit]
        ]
        return NotificationConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=before_id),
        )

    @strawberry.field(
        description="How many of your household's notifications are unread (0 signed out or "
        "without a household)."
    )
    async def unread_notification_count(self, info: Info) -> int:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return 0
        return await service.unread_count(info.context.engine, household_id=viewer.household_id)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description="Mark some of your household's notifications read (at most 100 IDs). IDs "
        "of notifications that are not your household's change nothing and are left out of "
        "`marked`."
    )
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[list[relay.GlobalID], strawberry.argument(description="Notification IDs.")],
    ) -> MarkNotificationsReadResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            keys = [decode_node_id(ident, "Notification", argument="ids") for ident in ids]
        except UserError as error:
            return ValidationError(code=ErrorCode(error.code), message=error.message, field="ids")
        return await mark(info, keys)

    @strawberry.mutation(description="Mark every notification of your household read.")
    async def mark_all_notifications_read(self, info: Info) -> MarkNotificationsReadResult:
        if info.context.viewer.account_id is None:
            return unauthenticated()
        return await mark(info, None)


async def mark(info: Info, keys: list[int] | None) -> MarkNotificationsReadResult:
    outcome = await service.mark_read(
        info.context.engine, household_id=info.context.viewer.household_id, ids=keys
    )
    if isinstance(outcome, Refusal):
        return refused(outcome)
    return MarkNotificationsReadSuccess(
        marked=[relay.GlobalID("Notification", str(ident)) for ident in outcome.ids],
        unread_count=outcome.unread_count,
    )

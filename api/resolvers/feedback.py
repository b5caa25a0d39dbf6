"""sendFeedback (anyone), and the admins' feedbackQueue, answerFeedback and setFeedbackState."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    unauthenticated,
)
from api.mailer import charge_mail, mailer_for, raise_refusal
from api.pagination import decode_time_cursor, keyset_page_info, page_size
from api.resolvers.accounts import clean_email
from api.types.feedback import (
    QUEUE_CURSOR,
    Feedback,
    FeedbackChanged,
    FeedbackConnection,
    FeedbackEdge,
    FeedbackKind,
    FeedbackState,
    SendFeedbackSuccess,
)
from api.validation import clean_text, decode_node_id
from services import feedback
from services.errors import Refusal

Info = strawberry.Info[Context, None]
MAX_MESSAGE = 5000
MAX_SCREEN = 200

SendFeedbackResult = Annotated[
    SendFeedbackSuccess | ValidationError, strawberry.union("SendFeedbackResult")
]
FeedbackChangeResult = Annotated[
    FeedbackChanged | NotFoundError | ForbiddenError | UnauthenticatedError | ValidationError,
    strawberry.union("FeedbackChangeResult"),
]

First = Annotated[
    int | None,
    strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
]
After = Annotated[
    str | None, strawberry.argument(description="endCursor of the previous page, same state.")
]
FeedbackId = Annotated[relay.GlobalID, strawberry.argument(description="The Feedback's ID.")]


def change_refused(refusal: Refusal) -> NotFoundError | ForbiddenError:
    if refusal.code == ErrorCode.NOT_FOUND.value:
        return NotFoundError(code=ErrorCode.NOT_FOUND, message=refusal.message)
    return ForbiddenError(code=ErrorCode(refusal.code), message=refusal.message)


def invalid(error: UserError) -> ValidationError:
    return ValidationError(
        code=ErrorCode(error.code), message=error.message, field=error.extensions.get("argument")
    )


@strawberry.type
class FeedbackQuery:
    @strawberry.field(
        description="Feedback in one state, oldest first (admins only; FORBIDDEN otherwise)."
    )
    async def feedback_queue(
        self,
        info: Info,
        state: Annotated[
            FeedbackState, strawberry.argument(description="NEW (the default), IN_PROGRESS...")
        ] = FeedbackState.NEW,
        first: First = None,
        after: After = None,
    ) -> FeedbackConnection:
        viewer = info.context.viewer
        if viewer.account_id is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        limit = page_size(first, info.context.settings.max_page_size)
        anchor = decode_time_cursor(after, QUEUE_CURSOR)
        rows = await feedback.feedback_queue(
            info.context.engine,
            is_admin=viewer.is_admin,
            state=state.value,
            limit=limit + 1,
            after=anchor,
        )
        if isinstance(rows, Refusal):
            raise_refusal(rows)
        edges = [
            FeedbackEdge(node=node, cursor=node.created_at_cursor)
            for node in map(Feedback.from_row, rows[:limit])
        ]
        return FeedbackConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=anchor),
        )


@strawberry.type
class FeedbackMutation:
    @strawberry.mutation(
        description="Tell the team something: a bug, an idea, praise, a complaint, a question. "
        "Signed in or not; an anonymous sender may leave an e-mail to be answered at. At most "
        "10 messages an hour per sender."
    )
    async def send_feedback(
        self,
        info: Info,
        kind: Annotated[FeedbackKind, strawberry.argument(description="What kind of message.")],
        message: Annotated[str, strawberry.argument(description="1 to 5000 characters.")],
        screen: Annotated[
            str | None,
            strawberry.argument(description="The client screen it is about, e.g. `/prets`."),
        ] = None,
        email: Annotated[
            str | None,
            strawberry.argument(
                description="Where to answer, when not signed in (ignored when signed in: "
                "the account's address is used)."
            ),
        ] = None,
    ) -> SendFeedbackResult:
        try:
            text = clean_text(message, argument="message", max_length=MAX_MESSAGE)
            where = (
                clean_text(screen, argument="screen", max_length=MAX_SCREEN)
                if screen is not None
                else None
            )
            reply_to = clean_email(email) if email is not None else None
        except UserError as error:
            return invalid(error)
        await charge_mail(info.context)
        outcome = await feedback.send_feedback(
            info.context.engine,
            account_id=info.context.viewer.account_id,
            kind=kind.value,
            message=text,
            screen=where,
            email=reply_to,
        )
        if isinstance(outcome, Refusal):
            return ValidationError(code=ErrorCode(outcome.code), message=outcome.message)
        return SendFeedbackSuccess(id=relay.GlobalID("Feedback", str(outcome)))

    @strawberry.mutation(
        description="Answer a message (admins): stored with it (state ANSWERED) and e-mailed "
        "to its sender when there is an address."
    )
    async def answer_feedback(
        self,
        info: Info,
        id: FeedbackId,
        answer: Annotated[str, strawberry.argument(description="1 to 5000 characters.")],
    ) -> FeedbackChangeResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            feedback_id = decode_node_id(id, "Feedback", argument="id")
            text = clean_text(answer, argument="answer", max_length=MAX_MESSAGE)
        except UserError as error:
            return invalid(error)
        outcome = await feedback.answer_feedback(
            info.context.engine,
            mailer_for(info.context),
            admin_id=viewer.account_id,
            is_admin=viewer.is_admin,
            feedback_id=feedback_id,
            answer=text,
        )
        if isinstance(outcome, Refusal):
            return change_refused(outcome)
        return FeedbackChanged(feedback=Feedback.from_row(outcome))

    @strawberry.mutation(description="Move a message in the queue (admins), e.g. IN_PROGRESS.")
    async def set_feedback_state(
        self,
        info: Info,
        id: FeedbackId,
        state: Annotated[FeedbackState, strawberry.argument(description="The new state.")],
    ) -> FeedbackChangeResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            feedback_id = decode_node_id(id, "Feedback", argument="id")
        except UserError as error:
            return invalid(error)
        outcome = await feedback.set_feedback_state(
            info.context.engine,
            is_admin=viewer.is_admin,
            feedback_id=feedback_id,
            state=state.value,
        )
        if isinstance(outcome, Refusal):
            return change_refused(outcome)
        return FeedbackChanged(feedback=Feedback.from_row(outcome))

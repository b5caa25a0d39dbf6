"""Reports and moderation: `reportContent`, `moderationQueue`, `resolveReport`, `myReports`.

Thin: validate, authorise, call db, notify, wrap. Reading rules for reports are in
`api.types.report`; for the reported posts and comments, `api.types.post.can_read_post`.
See docs/moderation.md.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import relay

from api.context import Context, Viewer
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    unauthenticated,
)
from api.pagination import (
    decode_time_cursor,
    encode_time_cursor,
    keyset_page_info,
    page_size,
)
from api.resolvers.neighbourhoods import decode_neighbourhood_id, validation_error
from api.types.post import can_read_post
from api.types.report import (
    AlreadyReportedError,
    ModerationQueue,
    Report,
    ReportAlreadyResolvedError,
    ReportConnection,
    ReportEdge,
    ReportOutcome,
    ReportReason,
    ReportStatus,
    can_moderate_report,
    can_see_report,
)
from api.validation import clean_text, decode_node_id
from db.models import MAX_REPORT_DETAILS
from db.queries import posts as post_queries
from db.queries import reports as report_queries
from db.queries.events import notify_household
from db.queries.reports import ReportRow

Info = strawberry.Info[Context, None]
QUEUE_CURSOR = "rq"
MINE_CURSOR = "rm"
MAX_HIDDEN_REASON = 500
"""`posts.hidden_reason` is written by `hidePost` too, which allows 500 characters."""


@strawberry.type(description="Your report is in the moderation queue of the neighbourhood.")
class ReportContentSuccess:
    report: Report = strawberry.field(description="The report, OPEN.")


@strawberry.type(description="The report is resolved and its outcome applied.")
class ResolveReportSuccess:
    report: Report = strawberry.field(description="The report, RESOLVED.")


ReportContentResult = Annotated[
    ReportContentSuccess
    | AlreadyReportedError
    | ValidationError
    | NotFoundError
    | UnauthenticatedError,
    strawberry.union("ReportContentResult"),
]
ResolveReportResult = Annotated[
    ResolveReportSuccess
    | ReportAlreadyResolvedError
    | ValidationError
    | NotFoundError
    | ForbiddenError
    | UnauthenticatedError,
    strawberry.union("ResolveReportResult"),
]

First = Annotated[
    int | None,
    strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
]
After = Annotated[
    str | None, strawberry.argument(description="endCursor of the previous page, same filters.")
]


@strawberry.type
class ReportQuery:
    @strawberry.field(
        description="A neighbourhood's reports in one status, oldest first (its ambassadors and "
        "admins only; FORBIDDEN for anyone else). Nothing is dropped: a report stays OPEN, with "
        "no expiry, until a moderator resolves it; follow `after` to reach every one."
    )
    async def moderation_queue(
        self,
        info: Info,
        neighbourhood_id: Annotated[
            relay.GlobalID, strawberry.argument(description="The Neighbourhood's global ID.")
        ],
        status: Annotated[
            ReportStatus,
            strawberry.argument(description="OPEN (the default) or RESOLVED reports."),
        ] = ReportStatus.OPEN,
        first: First = None,
        after: After = None,
    ) -> ModerationQueue:
        viewer = info.context.viewer
        if viewer.account_id is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        nid = decode_neighbourhood_id(neighbourhood_id)
        if not viewer.can_moderate(nid):
            raise UserError(
                ErrorCode.FORBIDDEN,
                "Only this neighbourhood's ambassadors and admins may read its reports.",
            )
        limit = page_size(first, info.context.settings.max_page_size)
        anchor = decode_time_cursor(after, QUEUE_CURSOR)
        async with info.context.engine.connect() as conn:
            rows = await report_queries.moderation_queue(
                conn, nid, status=status.name, limit=limit + 1, after=anchor
            )
        edges = report_edges(rows[:limit], QUEUE_CURSOR)
        return ModerationQueue(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=anchor),
            neighbourhood_id=nid,
            status=status.name,
        )

    @strawberry.field(
        description="The reports you made, newest first, with their status and outcome (signed in)."
    )
    async def my_reports(
        self, info: Info, first: First = None, after: After = None
    ) -> ReportConnection:
        viewer = info.context.viewer
        if viewer.account_id is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        limit = page_size(first, info.context.settings.max_page_size)
        anchor = decode_time_cursor(after, MINE_CURSOR)
        async with info.context.engine.connect() as conn:
            rows = await report_queries.account_reports(
                conn, viewer.account_id, limit=limit + 1, after=anchor
            )
        edges = report_edges(rows[:limit], MINE_CURSOR)
        return ReportConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=anchor),
        )


def report_edges(rows: list[ReportRow], kind: str) -> list[ReportEdge]:
    return [
        ReportEdge(
            node=Report.from_row(row),
            cursor=encode_time_cursor(kind, row.created_at, row.id),
        )
        for row in rows
    ]


@strawberry.type
class ReportMutation:
    @strawberry.mutation(
        description="Report a post or a comment you may read (signed in): give exactly one of "
        "postId and commentId. It goes to the moderation queue of the post's neighbourhood; "
        "once per account and post or comment. You see the outcome in myReports and as a "
        "REPORT_RESOLVED notification."
    )
    async def report_content(
        self,
        info: Info,
        reason: Annotated[ReportReason, strawberry.argument(description="Why you report it.")],
        post_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="The Post to report.")
        ] = None,
        comment_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="The Comment to report.")
        ] = None,
        details: Annotated[
            str,
            strawberry.argument(
                description="What moderators should know, up to 1,000 characters; required "
                "for OTHER."
            ),
        ] = "",
    ) -> ReportContentResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            target = report_target(post_id, comment_id)
            text = clean_text(
                details,
                argument="details",
                max_length=MAX_REPORT_DETAILS,
                min_length=1 if reason is ReportReason.OTHER else 0,
            )
        except UserError as error:
            return validation_error(error)
        kind, target_id = target
        if not await can_read_target(info, kind, target_id):
            return target_not_found(kind)
        duplicate = False
        async with info.context.engine.begin() as conn:
            report = report_queries.report_post if kind == "Post" else report_queries.report_comment
            row = await report(
                conn,
                target_id,
                reporter_account_id=viewer.account_id,
                reporter_household_id=viewer.household_id,
                reason=reason.name,
                details=text,
            )
            if row is None:
                ids = {"post_id" if kind == "Post" else "comment_id": target_id}
                duplicate = await report_queries.has_reported(conn, viewer.account_id, **ids)
        if row is not None:
            return ReportContentSuccess(report=Report.from_row(row))
        if duplicate:
            return AlreadyReportedError(
                code=ErrorCode.ALREADY_REPORTED,
                message="You have already reported this; moderators will deal with it.",
            )
        return target_not_found(kind)

    @strawberry.mutation(
        description="Resolve an OPEN report of your neighbourhood (its ambassadors and admins): "
        "HIDE hides the post or comment, KEEP leaves it, WARN leaves it and notifies its "
        "author's household (CONTENT_WARNED). The reporter is notified (REPORT_RESOLVED). A "
        "report is resolved once: ReportAlreadyResolvedError (INVALID_TRANSITION) after that."
    )
    async def resolve_report(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The Report's global ID.")],
        outcome: Annotated[ReportOutcome, strawberry.argument(description="Your decision.")],
        note: Annotated[
            str,
            strawberry.argument(
                description="For the moderators, up to 1,000 characters; never shown to the "
                "reporter or the author."
            ),
        ] = "",
    ) -> ResolveReportResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            report_id = decode_node_id(id, "Report", argument="id")
            text = clean_text(note, argument="note", max_length=MAX_REPORT_DETAILS, min_length=0)
        except UserError as error:
            return validation_error(error)
        found = await info.context.loaders.report_by_id.load(report_id)
        if found is None or not can_see_report(viewer, found):
            return report_not_found()
        if not can_moderate_report(viewer, found):
            return forbidden("Only this neighbourhood's ambassadors and admins resolve reports.")
        current: ReportRow | None = None
        async with info.context.engine.begin() as conn:
            row = await report_queries.resolve_report(
                conn, report_id, outcome=outcome.name, account_id=viewer.account_id, note=text
            )
            if row is not None:
                await apply_outcome(conn, row, viewer)
            else:
                current = await report_queries.report_by_id(conn, report_id)
        if row is not None:
            return ResolveReportSuccess(report=Report.from_row(row))
        if current is None or current.outcome is None:
            return report_not_found()
        return ReportAlreadyResolvedError(
            code=ErrorCode.INVALID_TRANSITION,
            message="This report is already resolved; its outcome stands. Nothing changed.",
            outcome=ReportOutcome(current.outcome),
        )


def report_target(
    post_id: relay.GlobalID | None, comment_id: relay.GlobalID | None
) -> tuple[str, int]:
    """("Post" or "Comment", database id) from exactly one of the two arguments."""
    if (post_id is None) == (comment_id is None):
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "Give exactly one of `postId` and `commentId`.",
            argument="postId" if post_id is None else "commentId",
        )
    if post_id is not None:
        return "Post", decode_node_id(post_id, "Post", argument="postId")
    assert comment_id is not None
    return "Comment", decode_node_id(comment_id, "Comment", argument="commentId")


async def can_read_target(info: Info, kind: str, target_id: int) -> bool:
    """Whether the viewer, as a person, may read the post or comment: a partner key sent along
    with a bearer token widens what that person may read, never what they may report."""
    viewer = as_person(info.context.viewer)
    loaders = info.context.loaders
    if kind == "Comment":
        comment = await loaders.comment_by_id.load(target_id)
        if comment is None or comment.hidden_at is not None:
            return False
        target_id = comment.post_id
    post = await loaders.post_by_id.load(target_id)
    return post is not None and can_read_post(viewer, post)


def as_person(viewer: Viewer) -> Viewer:
    return dataclasses.replace(
        viewer, partner_key_id=None, partner_scopes=frozenset(), partner_neighbourhoods=frozenset()
    )


NOTES = {
    "HIDE": "Votre signalement a été traité : le contenu a été masqué. Merci !",
    "KEEP": "Votre signalement a été traité : le contenu reste en ligne. Merci de votre vigilance.",
    "WARN": "Votre signalement a été traité : son auteur a reçu un avertissement. Merci !",
}
WARNINGS = {
    "POST": "Une de vos publications a été signalée. Merci de respecter la charte du voisinage.",
    "COMMENT": "Un de vos commentaires a été signalé. Merci de respecter la charte du voisinage.",
}


async def apply_outcome(conn: AsyncConnection, row: ReportRow, viewer: Viewer) -> None:
    """Carry out a report's outcome and tell those concerned, in the resolving transaction:
    notifications leave only if it commits. A target deleted meanwhile has nothing to hide or
    warn about; the reporter still hears of the outcome."""
    assert viewer.account_id is not None, "only signed-in moderators resolve"
    if row.outcome == "HIDE" and row.post_id is not None:
        reason = f"Signalement {row.reason}" + (
            f" : {row.resolution_note}" if row.resolution_note else ""
        )
        await post_queries.hide_post(
            conn, row.post_id, account_id=viewer.account_id, reason=reason[:MAX_HIDDEN_REASON]
        )
    elif row.outcome == "HIDE" and row.comment_id is not None:
        await report_queries.hide_comment(conn, row.comment_id)
    target = row.post_id or row.comment_id
    if row.outcome == "WARN" and row.target_household_id is not None and target is not None:
        await notify_household(
            conn,
            row.target_household_id,
            kind="CONTENT_WARNED",
            subject_type="Post" if row.post_id is not None else "Comment",
            subject_id=target,
            message=WARNINGS[row.target_kind],
        )
    if row.reporter_household_id is not None:
        assert row.outcome is not None, "a resolved report has an outcome"
        await notify_household(
            conn,
            row.reporter_household_id,
            kind="REPORT_RESOLVED",
            subject_type="Report",
            subject_id=row.id,
            message=NOTES[row.outcome],
        )


def target_not_found(kind: str) -> NotFoundError:
    what = "post" if kind == "Post" else "comment"
    return NotFoundError(code=ErrorCode.NOT_FOUND, message=f"No {what} you may read has this ID.")


def report_not_found() -> NotFoundError:
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No report you may see has this ID.")

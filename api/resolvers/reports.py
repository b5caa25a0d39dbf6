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
    subject_of,
)
from api.types.skill import can_see_skill
from api.validation import clean_text, decode_node_id
from db.models import MAX_REPORT_DETAILS
from db.queries import posts as post_queries
from db.queries import reports as report_queries
from db.queries.events import notify_household
from db.queries.reports import ReportRow
from services import moderation
from services.errors import Refusal

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


@strawberry.type(description="The post or comment is visible again, where it was.")
class UnhideSuccess:
    subject: relay.GlobalID = strawberry.field(description="The restored Post or Comment.")


UnhideResult = Annotated[
    UnhideSuccess | ValidationError | NotFoundError | UnauthenticatedError,
    strawberry.union("UnhideResult"),
]
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
        description="Report something you may read (signed in): give exactly one of postId, "
        "commentId, itemId, skillId and householdId. It goes to the moderation queue of its "
        "neighbourhood (a post's, a comment's post's, the lender's, the skill's household's, "
        "the household's); once per account and subject. Its moderators hear of it live "
        "(reportFiled). You see the outcome in myReports and as a REPORT_RESOLVED "
        "notification."
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
        item_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="The Item to report.")
        ] = None,
        skill_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="The Skill to report.")
        ] = None,
        household_id: Annotated[
            relay.GlobalID | None,
            strawberry.argument(
                description="The Household to report (a neighbour: not your own household)."
            ),
        ] = None,
    ) -> ReportContentResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            kind, target_id = report_target(
                {
                    "postId": post_id,
                    "commentId": comment_id,
                    "itemId": item_id,
                    "skillId": skill_id,
                    "householdId": household_id,
                }
            )
            text = clean_text(
                details,
                argument="details",
                max_length=MAX_REPORT_DETAILS,
                min_length=1 if reason is ReportReason.OTHER else 0,
            )
        except UserError as error:
            return validation_error(error)
        if not await can_read_target(info, kind, target_id):
            return target_not_found(kind)
        outcome = await moderation.file_report(
            info.context.engine,
            kind=kind,
            subject_id=target_id,
            account_id=viewer.account_id,
            household_id=viewer.household_id,
            reason=reason.name,
            details=text,
        )
        if not isinstance(outcome, Refusal):
            return ReportContentSuccess(report=Report.from_row(outcome))
        if outcome.code == ErrorCode.ALREADY_REPORTED.value:
            return AlreadyReportedError(code=ErrorCode.ALREADY_REPORTED, message=outcome.message)
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
        if outcome is ReportOutcome.HIDE and found.target_kind not in moderation.HIDDEN_KINDS:
            return ValidationError(
                code=ErrorCode.BAD_USER_INPUT,
                message="HIDE applies to posts and comments: KEEP or WARN this report.",
                field="outcome",
            )
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

    @strawberry.mutation(
        description="Restore a hidden post or comment (hidden by hidePost or a report resolved "
        "with HIDE): back in its feed or thread. The neighbourhood's ambassadors and admins; "
        "NotFoundError for anyone else. A report resolved with HIDE stays resolved. "
        "ValidationError (INVALID_TRANSITION) when it is not hidden."
    )
    async def unhide(
        self,
        info: Info,
        id: Annotated[
            relay.GlobalID, strawberry.argument(description="The hidden Post or Comment.")
        ],
    ) -> UnhideResult:
        return await restore(info, id)


async def restore(info: Info, id: relay.GlobalID) -> UnhideResult:
    viewer = info.context.viewer
    if viewer.account_id is None:
        return unauthenticated()
    if id.type_name not in ("Post", "Comment"):
        return ValidationError(
            code=ErrorCode.INVALID_ID, message="Give a Post or Comment ID.", field="id"
        )
    try:
        subject_id = decode_node_id(id, id.type_name, argument="id")
    except UserError as error:
        return validation_error(error)
    outcome = await moderation.unhide(
        info.context.engine,
        kind=id.type_name.upper(),
        subject_id=subject_id,
        may_moderate=viewer.can_moderate,
    )
    if isinstance(outcome, Refusal):
        if outcome.code == ErrorCode.NOT_FOUND.value:
            return NotFoundError(code=ErrorCode.NOT_FOUND, message=outcome.message)
        return ValidationError(code=ErrorCode(outcome.code), message=outcome.message, field="id")
    return UnhideSuccess(subject=relay.GlobalID(id.type_name, str(subject_id)))


TARGETS = {
    "postId": ("POST", "Post"),
    "commentId": ("COMMENT", "Comment"),
    "itemId": ("ITEM", "Item"),
    "skillId": ("SKILL", "Skill"),
    "householdId": ("HOUSEHOLD", "Household"),
}
"""Argument of `reportContent` → (report target kind, GraphQL type of its ID)."""


def report_target(given: dict[str, relay.GlobalID | None]) -> tuple[str, int]:
    """(target kind, database id) from exactly one of the subject arguments."""
    named = [(argument, value) for argument, value in given.items() if value is not None]
    if len(named) != 1:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "Give exactly one of `postId`, `commentId`, `itemId`, `skillId` and `householdId`.",
            argument=named[1][0] if len(named) > 1 else "postId",
        )
    argument, value = named[0]
    kind, type_name = TARGETS[argument]
    return kind, decode_node_id(value, type_name, argument=argument)


async def can_read_target(info: Info, kind: str, target_id: int) -> bool:
    """Whether the viewer, as a person, may read what it reports: a partner key sent along
    with a bearer token widens what that person may read, never what they may report. Items
    are read by the lender's network (as the lender's name is), households by their network
    (not one's own household)."""
    viewer = as_person(info.context.viewer)
    loaders = info.context.loaders
    if kind == "ITEM":
        item = await loaders.item_by_id.load(target_id)
        lender = await loaders.lender_by_household_id.load(item.household_id) if item else None
        return lender is not None and viewer.can_read(lender.neighbourhood_id)
    if kind == "SKILL":
        skill = await loaders.skill_by_id.load(target_id)
        return skill is not None and can_see_skill(viewer, skill)
    if kind == "HOUSEHOLD":
        household = await loaders.household_by_id.load(target_id)
        return (
            household is not None
            and household.id != viewer.household_id
            and viewer.can_read(household.neighbourhood_id)
        )
    if kind == "COMMENT":
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
    "ITEM": "Un de vos objets à prêter a été signalé. Merci de respecter la charte du voisinage.",
    "SKILL": "Un de vos savoir-faire a été signalé. Merci de respecter la charte du voisinage.",
    "HOUSEHOLD": "Votre foyer a été signalé par un voisin. Merci de respecter la charte du "
    "voisinage.",
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
    target = subject_of(row)
    if row.outcome == "WARN" and row.target_household_id is not None and target is not None:
        await notify_household(
            conn,
            row.target_household_id,
            kind="CONTENT_WARNED",
            subject_type=target[0],
            subject_id=int(target[1]),
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
    return NotFoundError(
        code=ErrorCode.NOT_FOUND, message=f"No {kind.lower()} you may read has this ID."
    )


def report_not_found() -> NotFoundError:
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No report you may see has this ID.")

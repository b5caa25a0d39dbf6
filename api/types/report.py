"""Reports of posts and comments, built explicitly from rows, and who may see them.

A report is seen by the moderators of its neighbourhood (ambassadors, admins) and by the account
that made it; to anyone else it does not exist. The reporter sees the outcome, never the
moderators' note; moderators never see who reported (reports are anonymous towards them too,
so that nobody hesitates to report a neighbour).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.errors import MutationError
from api.pagination import PageInfo
from api.types.neighbourhood import Neighbourhood
from api.types.post import Comment, Post, can_read_post
from api.validation import node_keys
from db.queries import reports as report_queries
from db.queries.reports import ReportRow

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Why something is reported (French label first).")
class ReportReason(Enum):
    SPAM = strawberry.enum_value("SPAM", description="Indésirable: advertising, repeated posts.")
    ABUSE = strawberry.enum_value(
        "ABUSE", description="Propos abusifs: insults, harassment, hate, discrimination."
    )
    DANGEROUS = strawberry.enum_value(
        "DANGEROUS", description="Dangereux: a risk to someone's safety or health, or illegal."
    )
    PERSONAL_DATA = strawberry.enum_value(
        "PERSONAL_DATA",
        description="Données personnelles: an address, a phone number, a photo of someone, "
        "shared without consent.",
    )
    OTHER = strawberry.enum_value(
        "OTHER", description="Autre: say what in `details` (required for this reason)."
    )


@strawberry.enum(description="Whether moderators have dealt with a report yet.")
class ReportStatus(Enum):
    OPEN = strawberry.enum_value(
        "OPEN", description="Waiting in the moderation queue; it stays there until resolved."
    )
    RESOLVED = strawberry.enum_value("RESOLVED", description="A moderator chose an outcome.")


@strawberry.enum(description="What a moderator decided about reported content.")
class ReportOutcome(Enum):
    HIDE = strawberry.enum_value(
        "HIDE",
        description="The post or comment is hidden: out of every feed and thread (a hidden "
        "post stays readable by moderators; `unhide` restores it). For posts and comments "
        "only.",
    )
    KEEP = strawberry.enum_value("KEEP", description="It stays as it is: nothing wrong found.")
    WARN = strawberry.enum_value(
        "WARN",
        description="It stays, and its author's household receives a warning notification "
        "(CONTENT_WARNED).",
    )


@strawberry.enum(description="What a report is about.")
class ReportTargetKind(Enum):
    POST = strawberry.enum_value("POST", description="A post of a neighbourhood's feed.")
    COMMENT = strawberry.enum_value("COMMENT", description="A comment under a post.")
    ITEM = strawberry.enum_value("ITEM", description="An item offered for loan.")
    SKILL = strawberry.enum_value("SKILL", description="A skill a household offers.")
    HOUSEHOLD = strawberry.enum_value(
        "HOUSEHOLD",
        description="A neighbour: the household behind one or more accounts (how the API shows "
        "people to others).",
    )


def subject_of(row: ReportRow) -> tuple[str, str] | None:
    """(GraphQL type name, id) of what the report is about, while it exists."""
    for type_name, ident in (
        ("Post", row.post_id),
        ("Comment", row.comment_id),
        ("Item", row.item_id),
        ("Skill", row.skill_id),
        ("Household", row.reported_household_id),
    ):
        if ident is not None:
            return type_name, str(ident)
    return None


def can_moderate_report(viewer: Viewer, row: ReportRow) -> bool:
    return viewer.can_moderate(row.neighbourhood_id)


def is_reporter(viewer: Viewer, row: ReportRow) -> bool:
    return viewer.account_id is not None and viewer.account_id == row.reporter_account_id


def can_see_report(viewer: Viewer, row: ReportRow) -> bool:
    """Moderators of the report's neighbourhood, and the account that made it."""
    return can_moderate_report(viewer, row) or is_reporter(viewer, row)


@strawberry.type(
    description="A report of a post, comment, item, skill or household and what moderators "
    "decided. Visible to the "
    "ambassadors of its neighbourhood and admins, and to the account that made it."
)
class Report(relay.Node):
    id: relay.NodeID[int]
    target_kind: ReportTargetKind = strawberry.field(description="What kind of thing it is about.")
    reason: ReportReason = strawberry.field(description="Why it was reported.")
    details: str = strawberry.field(
        description="The reporter's words, up to 1,000 characters; may be empty unless OTHER."
    )
    excerpt: str = strawberry.field(
        description="The reported text as it was when reported (a post's or item's or skill's "
        "title and text, a comment, a household's name), up to 280 characters; kept when the "
        "content is deleted."
    )
    created_at: datetime = strawberry.field(description="When it was reported.")
    status: ReportStatus = strawberry.field(description="OPEN until a moderator resolves it.")
    outcome: ReportOutcome | None = strawberry.field(
        description="What the moderator decided; null while OPEN."
    )
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    row: strawberry.Private[ReportRow]

    @classmethod
    def from_row(cls, row: ReportRow) -> Report:
        return cls(
            id=row.id,
            target_kind=ReportTargetKind(row.target_kind),
            reason=ReportReason(row.reason),
            details=row.details,
            excerpt=row.excerpt,
            created_at=row.created_at,
            status=ReportStatus(row.status),
            outcome=ReportOutcome(row.outcome) if row.outcome else None,
            resolved_at=row.resolved_at,
            row=row,
        )

    @strawberry.field(
        description="The moderator's note on the resolution: for moderators only, null for the "
        "reporter (and while OPEN)."
    )
    def resolution_note(self, info: Info) -> str | None:
        if self.row.status != "RESOLVED" or not can_moderate_report(info.context.viewer, self.row):
            return None
        return self.row.resolution_note

    @strawberry.field(
        description="Whether the reported post, comment, item, skill or household has been "
        "deleted since (by its author, or with its post): the report stays, with its excerpt."
    )
    def target_deleted(self) -> bool:
        return subject_of(self.row) is None

    @strawberry.field(
        description="The reported post, comment, item, skill or household (fetch it with "
        "node(id:), which answers as to anyone: moderators read hidden posts); null once "
        "deleted."
    )
    def subject(self) -> relay.GlobalID | None:
        found = subject_of(self.row)
        return relay.GlobalID(*found) if found else None

    @strawberry.field(description="The neighbourhood whose moderators handle it.")
    async def neighbourhood(self, info: Info) -> Neighbourhood:
        row = await info.context.loaders.neighbourhood_by_id.load(self.row.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)

    @strawberry.field(
        description="The reported post, or for a comment the post it is under; null once "
        "deleted, or when you may no longer read it (moderators read hidden posts)."
    )
    async def post(self, info: Info) -> Post | None:
        loaders = info.context.loaders
        post_id = self.row.post_id
        if post_id is None and self.row.comment_id is not None:
            comment = await loaders.comment_by_id.load(self.row.comment_id)
            post_id = comment.post_id if comment else None
        if post_id is None:
            return None
        row = await loaders.post_by_id.load(post_id)
        if row is None or not can_read_post(info.context.viewer, row):
            return None
        return Post.from_row(row)

    @strawberry.field(
        description="The reported comment (COMMENT reports); null once deleted. Moderators see "
        "it even hidden; the reporter only while it is visible in its thread."
    )
    async def comment(self, info: Info) -> Comment | None:
        if self.row.comment_id is None:
            return None
        loaders = info.context.loaders
        row = await loaders.comment_by_id.load(self.row.comment_id)
        if row is None:
            return None
        viewer = info.context.viewer
        if can_moderate_report(viewer, self.row):
            return Comment.from_row(row)
        post = await loaders.post_by_id.load(row.post_id)
        if row.hidden_at is not None or post is None or not can_read_post(viewer, post):
            return None
        return Comment.from_row(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Report | None]:
        rows = await info.context.loaders.report_by_id.load_many(node_keys(node_ids))
        viewer = info.context.viewer
        return [cls.from_row(row) if row and can_see_report(viewer, row) else None for row in rows]


@strawberry.type(description="A report in a list, with its cursor.")
class ReportEdge:
    node: Report = strawberry.field(description="The report.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this report.")


@strawberry.type(description="Reports, in the order the query states.")
class ReportConnection:
    edges: list[ReportEdge] = strawberry.field(description="This page's reports.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursors.")


@strawberry.type(
    description="A neighbourhood's reports in one status, oldest first. Nothing is dropped: no "
    "expiry, no cap besides the page size; follow `after` to reach every report."
)
class ModerationQueue:
    edges: list[ReportEdge] = strawberry.field(description="This page's reports, oldest first.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursors.")
    neighbourhood_id: strawberry.Private[int]
    status: strawberry.Private[str]

    @strawberry.field(
        description="How many reports of this neighbourhood are in this status, all pages "
        "together (one extra query, run only when asked)."
    )
    async def total_count(self, info: Info) -> int:
        async with info.context.engine.connect() as conn:
            return await report_queries.count_reports(
                conn, self.neighbourhood_id, status=self.status
            )


@strawberry.type(description="You have already reported this; your report is in the queue.")
class AlreadyReportedError(MutationError):
    pass


@strawberry.type(
    description="This report is already resolved; nothing changed. `outcome` is the decision "
    "that stands."
)
class ReportAlreadyResolvedError(MutationError):
    outcome: ReportOutcome = strawberry.field(description="The outcome already chosen.")

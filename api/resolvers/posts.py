"""Posts, comments, giveaway claims, moderation and `postsNear`. Thin: validate, authorise,
call db, wrap. Who may read what is decided in `api.types.post` (`can_read_post`)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.errors import (
    ErrorCode,
    ForbiddenError,
    MutationError,
    NotAMemberError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    not_a_member,
    unauthenticated,
)
from api.inputs import LocationInput
from api.proximity import MaxDistanceMeters, NearestSearch
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.on_behalf import create_post_on_behalf
from api.resolvers.post_input import CreatePostInput, UpdatePostInput, clean_post
from api.resolvers.service_errors import refusal_error
from api.types.post import (
    Comment,
    NearbyPost,
    NearbyPostConnection,
    NearbyPostEdge,
    Post,
    PostKind,
    can_read_post,
)
from api.validation import clean_text
from db.queries import live as live_queries
from db.queries import posts as post_queries
from db.rows import CommentRow, PostRow
from services import notifications
from services import posts as post_service
from services.errors import Refusal

Info = strawberry.Info[Context, None]

MAX_COMMENT = 2000
MAX_REASON = 500
NEAR_CURSOR = "p"


@strawberry.type(description="The post is in your neighbourhood's feed.")
class CreatePostSuccess:
    post: Post


@strawberry.type(description="The post is deleted, with its comments.")
class DeletePostSuccess:
    deleted_post_id: relay.GlobalID = strawberry.field(description="Global ID it had.")


@strawberry.type(description="The giveaway is yours: arrange the pick-up in the comments.")
class ClaimGiveawaySuccess:
    post: Post


@strawberry.type(description="Someone claimed this giveaway first.")
class AlreadyClaimedError(MutationError):
    pass


@strawberry.type(description="The comment is posted.")
class AddCommentSuccess:
    comment: Comment


@strawberry.type(description="The post is hidden from every feed.")
class HidePostSuccess:
    post: Post


CreatePostResult = Annotated[
    CreatePostSuccess | ValidationError | UnauthenticatedError | NotAMemberError | ForbiddenError,
    strawberry.union("CreatePostResult"),
]
DeletePostResult = Annotated[
    DeletePostSuccess | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("DeletePostResult"),
]
ClaimGiveawayResult = Annotated[
    ClaimGiveawaySuccess
    | AlreadyClaimedError
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | NotAMemberError,
    strawberry.union("ClaimGiveawayResult"),
]
AddCommentResult = Annotated[
    AddCommentSuccess | ValidationError | NotFoundError | UnauthenticatedError | NotAMemberError,
    strawberry.union("AddCommentResult"),
]


@strawberry.type(description="The post's content is replaced.")
class UpdatePostSuccess:
    post: Post = strawberry.field(description="The post as it is now.")


@strawberry.type(description="The comment's text is replaced.")
class UpdateCommentSuccess:
    comment: Comment = strawberry.field(description="The comment as it is now.")


@strawberry.type(description="The comment is deleted.")
class DeleteCommentSuccess:
    deleted_comment_id: relay.GlobalID = strawberry.field(description="Global ID it had.")


AuthorErrors = ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError
UpdatePostResult = Annotated[UpdatePostSuccess | AuthorErrors, strawberry.union("UpdatePostResult")]
UpdateCommentResult = Annotated[
    UpdateCommentSuccess | AuthorErrors, strawberry.union("UpdateCommentResult")
]
DeleteCommentResult = Annotated[
    DeleteCommentSuccess | AuthorErrors, strawberry.union("DeleteCommentResult")
]
HidePostResult = Annotated[
    HidePostSuccess | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("HidePostResult"),
]


@strawberry.type
class PostQuery:
    @strawberry.field(
        description="Posts of every neighbourhood nearest first from a point: kind, title, "
        "neighbourhood name and a rounded distance only, never a body, an author or a location. "
        "Without maxDistanceMeters the search widens (2, 5, 10, 25 km, then the ceiling) until "
        "a page is full. Hidden and expired posts are left out."
    )
    async def posts_near(
        self,
        info: Info,
        near: LocationInput,
        kinds: Annotated[
            list[PostKind] | None,
            strawberry.argument(description="Only these kinds; null or empty: every kind."),
        ] = None,
        first: int | None = None,
        after: str | None = None,
        max_distance_meters: MaxDistanceMeters = None,
    ) -> NearbyPostConnection:
        search = NearestSearch.from_arguments(
            near,
            first=first,
            max_distance_meters=max_distance_meters,
            cursor_kind=NEAR_CURSOR,
            noun="post",
            settings=info.context.settings,
        )
        nearest = partial(post_queries.nearest_posts, kinds=[kind.name for kind in kinds or ()])
        page = await search.run(
            info.context.reads, after, distance_m=post_queries.post_distance_m, rows=nearest
        )
        return page.connection(NearbyPostConnection, NearbyPostEdge, NearbyPost.from_row)


@strawberry.type
class PostMutation:
    @strawberry.mutation(
        description="Post in your household's neighbourhood (signed in, with an approved "
        "household). The post stays in that neighbourhood if your household moves later. A "
        "partner key with POST_ON_BEHALF posts for a household that authorised it with "
        "`onBehalfOf` (see docs/partners.md)."
    )
    async def create_post(
        self,
        info: Info,
        input: CreatePostInput,
        on_behalf_of: Annotated[
            relay.GlobalID | None,
            strawberry.argument(
                description="Partner keys only: the Household to post for; it must have "
                "authorised this key (authorisePartner)."
            ),
        ] = None,
    ) -> CreatePostResult:
        viewer = info.context.viewer
        if on_behalf_of is not None:
            written = await create_post_on_behalf(info, input, on_behalf_of)
            return (
                CreatePostSuccess(post=Post.from_row(written))
                if isinstance(written, PostRow)
                else written
            )
        if viewer.account_id is None:
            return unauthenticated()
        if viewer.household_id is None:
            return not_a_member("Register your household first (registerHousehold) to post.")
        if viewer.neighbourhood_id is not None and not viewer.is_member_of(viewer.neighbourhood_id):
            return not_a_member(
                "Your household is waiting for an ambassador's approval: you can post once "
                "it is a member."
            )
        try:
            clean = clean_post(input, now=datetime.now(UTC))
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row = await post_queries.create_post(
                conn,
                viewer.household_id,
                account_id=viewer.account_id,
                kind=input.kind.name,
                title=clean.title,
                body=clean.body,
                expires_at=clean.expires_at,
                starts_at=clean.starts_at,
                ends_at=clean.ends_at,
                place_name=clean.place_name,
                place=clean.place,
            )
            if row is not None:  # delivered to live subscribers when this transaction commits
                await live_queries.notify_post_created(conn, row.id)
        if row is None:
            return not_a_member("Your household no longer exists: register it again.")
        return CreatePostSuccess(post=Post.from_row(row))

    @strawberry.mutation(description="Delete a post you wrote, with its comments (author only).")
    async def delete_post(self, info: Info, id: relay.GlobalID) -> DeletePostResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        found = await readable_post(info, id)
        if not isinstance(found, PostRow):
            return found
        if found.account_id != viewer.account_id:
            return forbidden("Only the author of this post may delete it.")
        async with info.context.engine.begin() as conn:
            deleted = await post_queries.delete_post(conn, found.id, account_id=viewer.account_id)
        if not deleted:
            return post_not_found()
        return DeletePostSuccess(deleted_post_id=id)

    @strawberry.mutation(
        description="Claim a giveaway of your neighbourhood, first come first served: exactly "
        "one household gets it, however many claim at the same moment."
    )
    async def claim_giveaway(self, info: Info, id: relay.GlobalID) -> ClaimGiveawayResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        found = await readable_post(info, id)
        if not isinstance(found, PostRow):
            return found
        refusal = claim_refusal(viewer, found)
        if refusal is not None:
            return refusal
        assert viewer.household_id is not None, "claim_refusal checked membership"
        fresh: PostRow | None = None
        async with info.context.engine.begin() as conn:
            row = await post_queries.claim_giveaway(
                conn,
                found.id,
                household_id=viewer.household_id,
                account_id=viewer.account_id,
                neighbourhood_id=found.neighbourhood_id,
            )
            if row is None:  # lost a race, or hidden/deleted meanwhile: read it again
                fresh = (await post_queries.posts_by_id(conn, [found.id])).get(found.id)
        if row is not None:
            return ClaimGiveawaySuccess(post=Post.from_row(row))
        if fresh is not None and fresh.claimed_at is not None:
            return already_claimed()
        return post_not_found()

    @strawberry.mutation(description="Comment on a post of your neighbourhood (members only).")
    async def add_comment(self, info: Info, post_id: relay.GlobalID, body: str) -> AddCommentResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            text = clean_text(body, argument="body", max_length=MAX_COMMENT)
        except UserError as error:
            return validation_error(error)
        found = await readable_post(info, post_id, argument="postId")
        if not isinstance(found, PostRow):
            return found
        if viewer.household_id is None or not viewer.is_member_of(found.neighbourhood_id):
            return not_a_member("Only households of this post's neighbourhood may comment.")
        author = await info.context.loaders.post_author_by_household_id.load(viewer.household_id)
        async with info.context.engine.begin() as conn:
            row = await post_queries.add_comment(
                conn,
                found.id,
                household_id=viewer.household_id,
                account_id=viewer.account_id,
                body=text,
            )
            if row is not None:
                await notifications.comment_added(
                    conn,
                    post=found,
                    comment_id=row.id,
                    commenter_household_id=viewer.household_id,
                    commenter_name=author.name if author else "Un voisin",
                )
        if row is None:
            return post_not_found()
        return AddCommentSuccess(comment=Comment.from_row(row))

    @strawberry.mutation(
        description="Hide a post from every feed (the neighbourhood's ambassadors and admins). "
        "The reason is kept for moderators and never shown to members."
    )
    async def hide_post(self, info: Info, id: relay.GlobalID, reason: str) -> HidePostResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            why = clean_text(reason, argument="reason", max_length=MAX_REASON)
        except UserError as error:
            return validation_error(error)
        found = await readable_post(info, id)
        if not isinstance(found, PostRow):
            return found
        if not viewer.can_moderate(found.neighbourhood_id):
            return forbidden("Only this neighbourhood's ambassadors and admins may hide posts.")
        async with info.context.engine.begin() as conn:
            row = await post_queries.hide_post(
                conn, found.id, account_id=viewer.account_id, reason=why
            )
        if row is None:
            return post_not_found()
        return HidePostSuccess(post=Post.from_row(row))

    @strawberry.mutation(
        description="Change a post you wrote (author only): its whole content, checked exactly "
        "as createPost's for its kind; nothing is written when a field is refused. The kind, "
        "the neighbourhood and the comments stay; the post's point follows createPost's rule "
        "and is never shown."
    )
    async def update_post(
        self, info: Info, id: relay.GlobalID, input: UpdatePostInput
    ) -> UpdatePostResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        found = await readable_post(info, id)
        if not isinstance(found, PostRow):
            return found
        try:
            clean = clean_post(input.as_creation(PostKind(found.kind)), now=datetime.now(UTC))
        except UserError as error:
            return validation_error(error)
        details = post_service.PostDetails(
            title=clean.title,
            body=clean.body,
            expires_at=clean.expires_at,
            starts_at=clean.starts_at,
            ends_at=clean.ends_at,
            place_name=clean.place_name,
            place=clean.place,
        )
        row = await post_service.update_post(
            info.context.engine, account_id=viewer.account_id, post=found, details=details
        )
        if isinstance(row, Refusal):
            return refusal_error(row)  # type: ignore[return-value]
        return UpdatePostSuccess(post=Post.from_row(row))

    @strawberry.mutation(
        description="Change the text of a comment you wrote (author only), checked as "
        "addComment's body."
    )
    async def update_comment(
        self, info: Info, id: relay.GlobalID, body: str
    ) -> UpdateCommentResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            text = clean_text(body, argument="body", max_length=MAX_COMMENT)
        except UserError as error:
            return validation_error(error)
        found = await readable_comment(info, id)
        if not isinstance(found, CommentRow):
            return found
        row = await post_service.update_comment(
            info.context.engine, account_id=viewer.account_id, comment=found, body=text
        )
        if isinstance(row, Refusal):
            return refusal_error(row)  # type: ignore[return-value]
        return UpdateCommentSuccess(comment=Comment.from_row(row))

    @strawberry.mutation(
        description="Delete a comment you wrote (author only). Moderators hide comments "
        "instead (see docs/moderation.md)."
    )
    async def delete_comment(self, info: Info, id: relay.GlobalID) -> DeleteCommentResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        found = await readable_comment(info, id)
        if not isinstance(found, CommentRow):
            return found
        refused = await post_service.delete_comment(
            info.context.engine, account_id=viewer.account_id, comment=found
        )
        if refused is not None:
            return refusal_error(refused)  # type: ignore[return-value]
        return DeleteCommentSuccess(deleted_comment_id=id)


async def readable_comment(
    info: Info, id: relay.GlobalID
) -> CommentRow | ValidationError | NotFoundError:
    """The comment if the viewer may read its post and it is not hidden; NOT_FOUND otherwise."""
    if id.type_name != "Comment" or not id.node_id.isdigit():
        return ValidationError(
            code=ErrorCode.INVALID_ID, message="This is not a comment ID.", field="id"
        )
    row = await info.context.loaders.comment_by_id.load(int(id.node_id))
    if row is None or row.hidden_at is not None:
        return comment_not_found()
    post = await info.context.loaders.post_by_id.load(row.post_id)
    if post is None or not can_read_post(info.context.viewer, post):
        return comment_not_found()
    return row


def comment_not_found() -> NotFoundError:
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No comment has this ID.")


async def readable_post(
    info: Info, id: relay.GlobalID, *, argument: str = "id"
) -> PostRow | ValidationError | NotFoundError:
    """The post if the viewer may read it; NOT_FOUND otherwise, so IDs reveal nothing."""
    if id.type_name != "Post" or not id.node_id.isdigit():
        return ValidationError(
            code=ErrorCode.INVALID_ID, message="This is not a post ID.", field=argument
        )
    row = await info.context.loaders.post_by_id.load(int(id.node_id))
    if row is None or not can_read_post(info.context.viewer, row):
        return post_not_found()
    return row


def claim_refusal(
    viewer: Viewer, row: PostRow
) -> NotAMemberError | ValidationError | AlreadyClaimedError | None:
    """Why the viewer cannot claim this post now, as far as this (possibly stale) read shows."""
    if viewer.household_id is None or not viewer.is_member_of(row.neighbourhood_id):
        return not_a_member("Only households of this giveaway's neighbourhood may claim it.")
    if row.kind != PostKind.GIVEAWAY.name:
        return ValidationError(
            code=ErrorCode.BAD_USER_INPUT, message="Only a GIVEAWAY can be claimed.", field="id"
        )
    if row.household_id == viewer.household_id:
        return ValidationError(
            code=ErrorCode.BAD_USER_INPUT,
            message="This is your own household's giveaway.",
            field="id",
        )
    if row.claimed_at is not None:
        return already_claimed()
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        return ValidationError(
            code=ErrorCode.BAD_USER_INPUT, message="This giveaway has expired.", field="id"
        )
    return None


def post_not_found() -> NotFoundError:
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No post you may read has this ID.")


def already_claimed() -> AlreadyClaimedError:
    return AlreadyClaimedError(
        code=ErrorCode.ALREADY_CLAIMED, message="Another household claimed this giveaway first."
    )

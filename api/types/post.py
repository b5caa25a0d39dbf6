"""Posts and comments, built explicitly from rows, and who may read them.

A neighbourhood's posts are for its members: `can_read_feed` and `can_read_post` are the one
place the rule is written, used by the feed, `node(id)`, comments and the mutations. Authors are
shown by name only (household and neighbourhood), never with a location; an event's place is
the only point a post shows, because its author gave it to be shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.errors import ErrorCode, UserError
from api.inputs import Location
from api.pagination import (
    PageInfo,
    decode_time_cursor,
    encode_time_cursor,
    keyset_page_info,
    page_size,
)
from api.types.neighbourhood import Neighbourhood
from api.validation import node_keys
from db.queries import posts as post_queries
from db.rows import CommentRow, PostAuthorRow, PostRow

Info = strawberry.Info[Context, None]
FEED_CURSOR = "f"
COMMENT_CURSOR = "c"


@strawberry.enum(description="What a post is about (French label first).")
class PostKind(Enum):
    OFFER = strawberry.enum_value("OFFER", description="Offre: a service, help or a thing offered.")
    REQUEST = strawberry.enum_value(
        "REQUEST", description="Demande: looking for help, a thing or a hand."
    )
    GIVEAWAY = strawberry.enum_value(
        "GIVEAWAY",
        description="Don: something given away, first come first served (claimGiveaway); "
        "always has an expiry, 14 days by default.",
    )
    EVENT = strawberry.enum_value(
        "EVENT", description="Événement: a date, a place name and optionally a location."
    )
    RECOMMENDATION = strawberry.enum_value(
        "RECOMMENDATION", description="Bon plan: a craftsperson, a shop, a doctor recommended."
    )
    DISCUSSION = strawberry.enum_value("DISCUSSION", description="Discussion: anything else.")
    LOST_AND_FOUND = strawberry.enum_value(
        "LOST_AND_FOUND", description="Perdu/trouvé: a lost cat, found keys."
    )


def can_read_feed(viewer: Viewer, neighbourhood_id: int) -> bool:
    """Members of the neighbourhood, its ambassadors, admins and granted partner keys read its
    posts; nobody else."""
    return viewer.can_read(neighbourhood_id)


def can_read_post(viewer: Viewer, row: PostRow) -> bool:
    """The feed rule, plus the author's household after a move; hidden: moderators only."""
    if row.hidden_at is not None:
        return viewer.can_moderate(row.neighbourhood_id)
    return can_read_feed(viewer, row.neighbourhood_id) or viewer.household_id == row.household_id


def require_feed_reader(viewer: Viewer, neighbourhood_id: int) -> None:
    if can_read_feed(viewer, neighbourhood_id):
        return
    if viewer.is_anonymous and viewer.partner_key_id is None:
        raise UserError(ErrorCode.UNAUTHENTICATED, "Sign in to read a neighbourhood's posts.")
    if not can_read_feed(viewer, neighbourhood_id):
        raise UserError(
            ErrorCode.FORBIDDEN, "Only members of this neighbourhood may read its posts."
        )


@strawberry.type(
    description="Who wrote a post or comment, as readers see it: names only, never an address "
    "or a location."
)
class PostAuthor:
    name: str = strawberry.field(description="The author household's display name.")
    neighbourhood_name: str = strawberry.field(
        description="Name of the neighbourhood the author's household belongs to now."
    )

    @classmethod
    def from_row(cls, row: PostAuthorRow) -> PostAuthor:
        return cls(name=row.name, neighbourhood_name=row.neighbourhood_name)


async def load_author(info: Info, household_id: int) -> PostAuthor:
    row = await info.context.loaders.post_author_by_household_id.load(household_id)
    assert row is not None, "foreign key (ON DELETE CASCADE) guarantees the household exists"
    return PostAuthor.from_row(row)


@strawberry.type(description="A post in a neighbourhood's feed; members of it only.")
class Post(relay.Node):
    id: relay.NodeID[int]
    kind: PostKind = strawberry.field(description="What the post is about.")
    title: str = strawberry.field(description="Short title, 1 to 120 characters.")
    body: str = strawberry.field(description="Text, up to 5,000 characters; may be empty.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    expires_at: datetime | None = strawberry.field(
        description="When it leaves the feed by itself; null: it stays until deleted."
    )
    starts_at: datetime | None = strawberry.field(description="EVENT: when it starts.")
    ends_at: datetime | None = strawberry.field(description="EVENT: when it ends, if given.")
    place_name: str | None = strawberry.field(description="EVENT: where, as a name.")
    place_location: Location | None = strawberry.field(
        description="EVENT: where, as a point, when its author gave one. No other post has a "
        "location: the author's home is never shown."
    )
    claimed_at: datetime | None = strawberry.field(
        description="GIVEAWAY: when it was claimed; null while it is still up for grabs."
    )
    hidden_at: datetime | None = strawberry.field(
        description="When a moderator hid it (only moderators can still read a hidden post)."
    )
    posted_via: str | None = strawberry.field(
        description="The partner app (its name) that wrote this post on the household's behalf; "
        "null when a member of the household wrote it."
    )
    row: strawberry.Private[PostRow]

    @classmethod
    def from_row(cls, row: PostRow) -> Post:
        return cls(
            id=row.id,
            kind=PostKind(row.kind),
            title=row.title,
            body=row.body,
            created_at=row.created_at,
            expires_at=row.expires_at,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            place_name=row.place_name,
            place_location=Location.from_lnglat(row.place) if row.place else None,
            claimed_at=row.claimed_at,
            hidden_at=row.hidden_at,
            posted_via=row.posted_via,
            row=row,
        )

    @strawberry.field(description="Who posted it: names only.")
    async def author(self, info: Info) -> PostAuthor:
        return await load_author(info, self.row.household_id)

    @strawberry.field(description="GIVEAWAY: who claimed it (names only); null while unclaimed.")
    async def claimed_by(self, info: Info) -> PostAuthor | None:
        household_id = self.row.claimed_by_household_id
        if household_id is None:
            return None
        row = await info.context.loaders.post_author_by_household_id.load(household_id)
        return PostAuthor.from_row(row) if row else None

    @strawberry.field(
        description="The neighbourhood it was posted in: the author's at the time. It stays "
        "there if the author moves."
    )
    async def neighbourhood(self, info: Info) -> Neighbourhood:
        row = await info.context.loaders.neighbourhood_by_id.load(self.row.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)

    @strawberry.field(description="Comments, oldest first; hidden ones are left out.")
    async def comments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> CommentConnection:
        return await comments_page(info, self.row, first=first, after=after)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Post | None]:
        rows = await info.context.loaders.post_by_id.load_many(node_keys(node_ids))
        viewer = info.context.viewer
        return [cls.from_row(row) if row and can_read_post(viewer, row) else None for row in rows]


@strawberry.type(description="A reply under a post, readable where the post is.")
class Comment(relay.Node):
    id: relay.NodeID[int]
    body: str = strawberry.field(description="Text, 1 to 2,000 characters.")
    created_at: datetime = strawberry.field(description="When it was written.")
    row: strawberry.Private[CommentRow]

    @classmethod
    def from_row(cls, row: CommentRow) -> Comment:
        return cls(id=row.id, body=row.body, created_at=row.created_at, row=row)

    @strawberry.field(description="Who wrote it: names only.")
    async def author(self, info: Info) -> PostAuthor:
        return await load_author(info, self.row.household_id)

    @strawberry.field(description="The post it answers.")
    async def post(self, info: Info) -> Post:
        row = await info.context.loaders.post_by_id.load(self.row.post_id)
        assert row is not None, "foreign key guarantees the post exists"
        return Post.from_row(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Comment | None]:
        loaders = info.context.loaders
        comments = await loaders.comment_by_id.load_many(node_keys(node_ids))
        posts = await loaders.post_by_id.load_many([c.post_id for c in comments if c])
        readable = {post.id for post in posts if post and can_read_post(info.context.viewer, post)}
        return [
            cls.from_row(c) if c and c.hidden_at is None and c.post_id in readable else None
            for c in comments
        ]


@strawberry.type(description="A post in a feed.")
class PostEdge:
    node: Post
    cursor: str = strawberry.field(description="Pass as `after` to continue after this post.")


@strawberry.type(description="Posts, newest first.")
class PostConnection:
    edges: list[PostEdge]
    page_info: PageInfo


@strawberry.type(description="A comment in a thread.")
class CommentEdge:
    node: Comment
    cursor: str = strawberry.field(description="Pass as `after` to continue after this comment.")


@strawberry.type(description="Comments, oldest first.")
class CommentConnection:
    edges: list[CommentEdge]
    page_info: PageInfo


async def posts_page(
    info: Info,
    neighbourhood_id: int,
    *,
    kinds: list[PostKind] | None,
    first: int | None,
    after: str | None,
) -> PostConnection:
    """`Neighbourhood.posts`: a FORBIDDEN error for non-members, not an empty page, so a client
    can tell "nothing posted" from "not yours to read"."""
    require_feed_reader(info.context.viewer, neighbourhood_id)
    limit = page_size(first, info.context.settings.max_page_size)
    before = decode_time_cursor(after, FEED_CURSOR)
    async with info.context.reader.connect() as conn:
        rows = await post_queries.neighbourhood_posts(
            conn,
            neighbourhood_id,
            kinds=[kind.name for kind in kinds or ()],
            limit=limit + 1,
            before=before,
        )
    edges = [
        PostEdge(
            node=Post.from_row(row), cursor=encode_time_cursor(FEED_CURSOR, row.created_at, row.id)
        )
        for row in rows[:limit]
    ]
    return PostConnection(
        edges=edges,
        page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=before),
    )


async def comments_page(
    info: Info, post: PostRow, *, first: int | None, after: str | None
) -> CommentConnection:
    if not can_read_post(info.context.viewer, post):
        raise UserError(ErrorCode.FORBIDDEN, "Only members of this neighbourhood may read it.")
    limit = page_size(first, info.context.settings.max_page_size)
    cursor = decode_time_cursor(after, COMMENT_CURSOR)
    async with info.context.reader.connect() as conn:
        rows = await post_queries.post_comments(conn, post.id, limit=limit + 1, after=cursor)
    edges = [
        CommentEdge(
            node=Comment.from_row(row),
            cursor=encode_time_cursor(COMMENT_CURSOR, row.created_at, row.id),
        )
        for row in rows[:limit]
    ]
    return CommentConnection(
        edges=edges,
        page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=cursor),
    )


@strawberry.type(
    description="A post as anyone nearby may see it: no body, no author, no location. Members "
    "of its neighbourhood open it with node(id: postId)."
)
class NearbyPost:
    post_id: relay.GlobalID = strawberry.field(
        description="Global ID of the post; node(id) returns it to members of its neighbourhood "
        "only."
    )
    kind: PostKind = strawberry.field(description="What the post is about.")
    title: str = strawberry.field(description="Its title.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    neighbourhood_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: PostRow) -> NearbyPost:
        return cls(
            post_id=relay.GlobalID("Post", str(row.id)),
            kind=PostKind(row.kind),
            title=row.title,
            created_at=row.created_at,
            neighbourhood_id=row.neighbourhood_id,
        )

    @strawberry.field(description="Name of the neighbourhood it was posted in.")
    async def neighbourhood_name(self, info: Info) -> str:
        row = await info.context.loaders.neighbourhood_by_id.load(self.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return row.name


@strawberry.type(description="A post with its approximate distance from the search origin.")
class NearbyPostEdge:
    node: NearbyPost
    cursor: str = strawberry.field(description="Pass as `after` to continue after this post.")
    distance_meters: int = strawberry.field(
        description="Distance from the origin to the post's public point (the author's displaced "
        "location, or the event's place), rounded: to 100 m below 2 km, to 500 m above, never "
        "less than 100."
    )


@strawberry.type(description="Posts of every neighbourhood, nearest first.")
class NearbyPostConnection:
    edges: list[NearbyPostEdge]
    page_info: PageInfo
    searched_radius_meters: int = strawberry.field(
        description="How far this page looked, in metres: maxDistanceMeters when given; "
        "otherwise the first of 2, 5, 10, 25 km and the ceiling (50 km by default) that holds "
        "a full page, or the ceiling when fewer posts were found."
    )

"""What a live subscriber receives: what it may read of a new post, in one message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from api.types.post import PostKind


@strawberry.type(description="A neighbourhood, by name, and by ID for those who may read it.")
class LiveNeighbourhood:
    id: relay.GlobalID | None = strawberry.field(
        description="Its global ID; null unless you may read this neighbourhood's posts."
    )
    name: str


@strawberry.type(
    description="A post as it is created (or caught up after a reconnect), showing exactly what "
    "you could read by query at that moment: everything if you may read its neighbourhood's "
    "feed (`Neighbourhood.posts`); otherwise what `postsNear` shows (kind, title, neighbourhood "
    "name, rounded distance) and null everywhere else."
)
class LivePost:
    id: relay.GlobalID | None = strawberry.field(
        description="The Post's global ID (for node(id:)); null unless you may read its feed."
    )
    cursor: str = strawberry.field(
        description="Pass as `after` when resubscribing to get what you missed (at most the "
        "last 100 posts of the last 24 hours). Opaque and signed by the server: a cursor it did "
        "not issue is refused (INVALID_CURSOR)."
    )
    kind: PostKind
    title: str
    excerpt: str | None = strawberry.field(
        description="The first 280 characters of the body; null unless you may read its feed."
    )
    author_name: str | None = strawberry.field(
        description="Display name of the author's household; null unless you may read its feed."
    )
    neighbourhood: LiveNeighbourhood
    created_at: datetime | None = strawberry.field(
        description="When it was posted; null unless you may read its feed."
    )
    expires_at: datetime | None = strawberry.field(
        description="When it leaves the feed, if ever; null too unless you may read its feed."
    )
    distance_meters: int | None = strawberry.field(
        description="Approximate distance from your `near` point to the post's public point "
        "(rounded as everywhere); null for neighbourhood subscriptions."
    )

    @classmethod
    def from_event(
        cls, event: dict[str, Any], *, cursor: str, distance_meters: int | None, full: bool
    ) -> LivePost:
        """The post as a reader of its feed sees it (`full`), or as `postsNear` shows it."""
        name = str(event["neighbourhood_name"])
        kind = PostKind(event["kind"])
        if not full:
            return cls(
                id=None,
                cursor=cursor,
                kind=kind,
                title=str(event["title"]),
                excerpt=None,
                author_name=None,
                neighbourhood=LiveNeighbourhood(id=None, name=name),
                created_at=None,
                expires_at=None,
                distance_meters=distance_meters,
            )
        return cls(
            id=relay.GlobalID("Post", str(event["id"])),
            cursor=cursor,
            kind=kind,
            title=str(event["title"]),
            excerpt=str(event["excerpt"]),
            author_name=str(event["author_name"]),
            neighbourhood=LiveNeighbourhood(
                id=relay.GlobalID("Neighbourhood", str(event["neighbourhood_id"])), name=name
            ),
            created_at=parse_time(event["created_at"]),
            expires_at=parse_time(event.get("expires_at")),
            distance_meters=distance_meters,
        )


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

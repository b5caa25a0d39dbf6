"""What a live subscriber receives: everything needed to render a new post, in one message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from api.pagination import encode_time_cursor
from api.types.post import PostKind

LIVE_CURSOR = "l"


@strawberry.type(description="A neighbourhood, by ID and name (no second query needed).")
class LiveNeighbourhood:
    id: relay.GlobalID
    name: str


@strawberry.type(description="A post as it is created (or caught up after a reconnect).")
class LivePost:
    id: relay.GlobalID = strawberry.field(description="The Post's global ID (for node(id:)).")
    cursor: str = strawberry.field(
        description="Pass as `after` when resubscribing to get exactly what you missed."
    )
    kind: PostKind
    title: str
    excerpt: str = strawberry.field(description="The first 280 characters of the body.")
    author_name: str = strawberry.field(description="Display name of the author's household.")
    neighbourhood: LiveNeighbourhood
    created_at: datetime
    expires_at: datetime | None
    distance_meters: int | None = strawberry.field(
        description="Approximate distance from your `near` point (rounded as everywhere); "
        "null for neighbourhood subscriptions."
    )

    @classmethod
    def from_event(cls, event: dict[str, Any], *, distance_meters: int | None) -> LivePost:
        created_at = parse_time(event["created_at"])
        assert created_at is not None
        return cls(
            id=relay.GlobalID("Post", str(event["id"])),
            cursor=encode_time_cursor(LIVE_CURSOR, created_at, int(event["id"])),
            kind=PostKind(event["kind"]),
            title=str(event["title"]),
            excerpt=str(event["excerpt"]),
            author_name=str(event["author_name"]),
            neighbourhood=LiveNeighbourhood(
                id=relay.GlobalID("Neighbourhood", str(event["neighbourhood_id"])),
                name=str(event["neighbourhood_name"]),
            ),
            created_at=created_at,
            expires_at=parse_time(event.get("expires_at")),
            distance_meters=distance_meters,
        )


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

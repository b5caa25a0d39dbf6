"""Live posts: the event announcing a new post, and the catch-up read for reconnecting clients.

Both produce the SAME payload (one SQL expression), so a client cannot tell a caught-up post from
a live one. The payload holds the public fields a client renders without a second query; its
`lng`/`lat` is the post's public point (the author household's displaced location, or an event's
place), used only in process to filter by radius and compute a rounded distance; it is never
sent to clients.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import String

from db.models import AccessToken, PartnerKey
from db.queries.events import CHANNEL
from geo.coords import LngLat

EXCERPT_CHARS = 280

PAYLOAD = """
    json_build_object(
        'type', 'post_created',
        'id', p.id,
        'neighbourhood_id', p.neighbourhood_id,
        'neighbourhood_name', n.name,
        'household_id', p.household_id,
        'author_name', h.name,
        'kind', p.kind,
        'title', p.title,
        'excerpt', left(p.body, :excerpt),
        'created_at', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'expires_at', to_char(p.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'lng', ST_X(p.location),
        'lat', ST_Y(p.location)
    )
"""
FROM = """
      FROM posts p
      JOIN neighbourhoods n ON n.id = p.neighbourhood_id
      JOIN households h ON h.id = p.household_id
"""

NOTIFY_POST_CREATED = text(
    f"SELECT pg_notify(:channel, ({PAYLOAD})::text) {FROM} WHERE p.id = :post_id"
)

CATCH_UP_MAX_AGE = timedelta(hours=24)
"""A catch-up never reaches further back than this, whatever the cursor (docs/live.md)."""
CATCH_UP_MAX_POSTS = 100
"""Nor sends more than this many posts: the newest ones after the cursor, oldest first."""

CATCH_UP = text(
    f"""
    SELECT payload FROM (
        SELECT {PAYLOAD} AS payload, p.created_at, p.id {FROM}
         WHERE p.hidden_at IS NULL
           AND (p.expires_at IS NULL OR p.expires_at > now())
           AND (CAST(:kinds AS text[]) IS NULL OR p.kind = ANY(CAST(:kinds AS text[])))
           AND (CAST(:neighbourhood_id AS bigint) IS NULL
                OR p.neighbourhood_id = :neighbourhood_id)
           AND (CAST(:radius_m AS float8) IS NULL OR ST_DWithin(
                  p.location::geography,
                  ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography,
                  :radius_m))
           AND (p.created_at, p.id) > (CAST(:after_time AS timestamptz),
                                       CAST(:after_id AS bigint))
           AND p.created_at > now() - make_interval(secs => :max_age_s)
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT :limit
    ) newest
    ORDER BY created_at, id
    """  # noqa: S608 - the f-string holds module constants only; values are bound
).bindparams(bindparam("kinds", type_=ARRAY(String)))
"""`location` is the post's public point (copied displaced, or the event's place): the radius
is decided on it, as `postsNear` does, never on a home."""


async def notify_post_created(conn: AsyncConnection, post_id: int) -> None:
    """Announce a post; delivered to every listening process when the transaction commits."""
    await conn.execute(
        NOTIFY_POST_CREATED, {"channel": CHANNEL, "post_id": post_id, "excerpt": EXCERPT_CHARS}
    )


async def live_posts_after(
    conn: AsyncConnection,
    *,
    after: tuple[datetime, int],
    neighbourhood_id: int | None = None,
    origin: LngLat | None = None,
    radius_m: float | None = None,
    kinds: Sequence[str] | None = None,
    limit: int = CATCH_UP_MAX_POSTS,
    max_age: timedelta = CATCH_UP_MAX_AGE,
) -> list[dict[str, Any]]:
    """The newest `limit` posts created after the (created_at, id) cursor and within `max_age`
    of now (the database's clock), oldest first, as event payloads."""
    result = await conn.execute(
        CATCH_UP,
        {
            "excerpt": EXCERPT_CHARS,
            "kinds": list(kinds) if kinds else None,
            "neighbourhood_id": neighbourhood_id,
            "radius_m": radius_m,
            "lng": origin.lng if origin else 0.0,
            "lat": origin.lat if origin else 0.0,
            "after_time": after[0],
            "after_id": after[1],
            "limit": limit,
            "max_age_s": max_age.total_seconds(),
        },
    )
    payloads = []
    for (payload,) in result.all():
        payloads.append(payload if isinstance(payload, dict) else json.loads(payload))
    return payloads


async def database_now(conn: AsyncConnection) -> datetime:
    """The database clock, which stamps `created_at` (a server process's clock may differ)."""
    moment: datetime = (await conn.execute(text("SELECT now()"))).scalar_one()
    return moment


class Validity(NamedTuple):
    """Whether a credential still authenticates, and until when (None: no end known)."""

    valid: bool
    until: datetime | None


async def token_validity(conn: AsyncConnection, token_hash: bytes) -> Validity:
    """A bearer token (by digest): valid while not revoked, until it expires."""
    until = (
        await conn.execute(
            select(AccessToken.expires_at).where(
                AccessToken.token_hash == token_hash,
                AccessToken.revoked_at.is_(None),
                AccessToken.expires_at > func.now(),
            )
        )
    ).scalar_one_or_none()
    return Validity(until is not None, until)


async def partner_secret_validity(conn: AsyncConnection, secret_hash: bytes) -> Validity:
    """A partner secret (by digest): the current one has no end; the previous one of a rotated
    key ends with its grace period; a revoked key's, none."""
    row = (
        await conn.execute(
            select(PartnerKey.secret_hash, PartnerKey.previous_valid_until).where(
                PartnerKey.revoked_at.is_(None),
                or_(
                    PartnerKey.secret_hash == secret_hash,
                    (PartnerKey.previous_secret_hash == secret_hash)
                    & (PartnerKey.previous_valid_until > func.now()),
                ),
            )
        )
    ).one_or_none()
    if row is None:
        return Validity(False, None)
    return Validity(True, None if row.secret_hash == secret_hash else row.previous_valid_until)

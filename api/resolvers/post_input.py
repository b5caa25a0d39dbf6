"""`createPost` input and its rules per kind, checked before anything is written.

Times must carry a UTC offset; the default expiry is filled in here so that the database only
ever stores explicit instants (a GIVEAWAY without one would break its CHECK constraint).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import strawberry

from api.errors import ErrorCode, UserError
from api.horizons import EVENT_HORIZON, EXPIRY_HORIZON, check_not_after
from api.inputs import LocationInput
from api.types.post import PostKind
from api.validation import aware, clean_text
from geo.coords import LngLat

GIVEAWAY_LIFETIME = timedelta(days=14)
"""How long a giveaway stays up when its author gives no expiry."""
EVENT_DEFAULT_LENGTH = timedelta(days=1)
"""An event without an end leaves the feed this long after it starts."""
MAX_TITLE = 120
MAX_BODY = 5000
EVENT_FIELDS = (
    ("starts_at", "startsAt"),
    ("ends_at", "endsAt"),
    ("place_name", "placeName"),
    ("place_location", "placeLocation"),
)


@strawberry.input(description="A new post, in your household's neighbourhood.")
class CreatePostInput:
    kind: PostKind = strawberry.field(description="What the post is about.")
    title: str = strawberry.field(description="Short title, 1 to 120 characters.")
    body: str = strawberry.field(default="", description="Text, up to 5,000 characters.")
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="When it leaves the feed, with a UTC offset: at most 92 days ahead (an "
        "EVENT: 366 days), DATE_TOO_FAR beyond. Default: 14 days for a GIVEAWAY, the end (or "
        "start + 1 day) for an EVENT, never for other kinds.",
    )
    starts_at: datetime | None = strawberry.field(
        default=None,
        description="EVENT only, required: when it starts, with a UTC offset, at most 365 days "
        "ahead (DATE_TOO_FAR beyond).",
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="EVENT only, optional: when it ends, not before the start."
    )
    place_name: str | None = strawberry.field(
        default=None, description="EVENT only, required: where, e.g. 'Salle des fêtes'."
    )
    place_location: LocationInput | None = strawberry.field(
        default=None,
        description="EVENT only, optional: the place as a point, shown to members and used by "
        "postsNear. Without it the event is placed at your household's public (displaced) "
        "location, which is never shown.",
    )


@strawberry.input(
    description="A post's new content, all of it, checked exactly as createPost's for the "
    "post's kind (which stays, as do its neighbourhood and its comments)."
)
class UpdatePostInput:
    title: str = strawberry.field(description="Short title, 1 to 120 characters.")
    body: str = strawberry.field(default="", description="Text, up to 5,000 characters.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="As createPost's expiresAt (its default too)."
    )
    starts_at: datetime | None = strawberry.field(
        default=None, description="EVENT only, required: as createPost's startsAt."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="EVENT only, optional: as createPost's endsAt."
    )
    place_name: str | None = strawberry.field(
        default=None, description="EVENT only, required: as createPost's placeName."
    )
    place_location: LocationInput | None = strawberry.field(
        default=None,
        description="EVENT only, optional: the place as a point. Without it the post keeps the "
        "point it had (your household's public location, never shown).",
    )

    def as_creation(self, kind: PostKind) -> CreatePostInput:
        """The same content as a createPost input of `kind`, for the same checks."""
        return CreatePostInput(
            kind=kind,
            title=self.title,
            body=self.body,
            expires_at=self.expires_at,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            place_name=self.place_name,
            place_location=self.place_location,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanPost:
    title: str
    body: str
    expires_at: datetime | None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place_name: str | None = None
    place: LngLat | None = None


def clean_post(input: CreatePostInput, *, now: datetime) -> CleanPost:
    """The input checked against its kind, with the default expiry filled in."""
    title = clean_text(input.title, argument="title", max_length=MAX_TITLE)
    body = clean_text(input.body, argument="body", max_length=MAX_BODY, min_length=0)
    expires_at = aware(input.expires_at, "expiresAt")
    if input.kind is PostKind.EVENT:
        clean = clean_event(input, title=title, body=body, expires_at=expires_at, now=now)
    else:
        for attribute, argument in EVENT_FIELDS:
            if getattr(input, attribute) is not None:
                raise UserError(
                    ErrorCode.BAD_USER_INPUT,
                    f"`{argument}` is for EVENT posts only.",
                    argument=argument,
                )
        if expires_at is None and input.kind is PostKind.GIVEAWAY:
            expires_at = now + GIVEAWAY_LIFETIME
        clean = CleanPost(title=title, body=body, expires_at=expires_at)
    if clean.expires_at is not None and not now < clean.expires_at:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "`expiresAt` must be in the future (an EVENT that is over cannot be posted).",
            argument="expiresAt",
        )
    if clean.expires_at is not None:  # an event may stay up a default day after its start
        limit = EVENT_HORIZON + EVENT_DEFAULT_LENGTH if clean.starts_at else EXPIRY_HORIZON
        check_not_after(clean.expires_at, now=now, limit=limit, argument="expiresAt")
    return clean


def clean_event(
    input: CreatePostInput, *, title: str, body: str, expires_at: datetime | None, now: datetime
) -> CleanPost:
    starts_at = aware(input.starts_at, "startsAt")
    if starts_at is None:
        raise UserError(ErrorCode.BAD_USER_INPUT, "An EVENT needs `startsAt`.", argument="startsAt")
    check_not_after(starts_at, now=now, limit=EVENT_HORIZON, argument="startsAt")
    ends_at = aware(input.ends_at, "endsAt")
    if ends_at is not None:
        check_not_after(ends_at, now=now, limit=EVENT_HORIZON, argument="endsAt")
    if ends_at is not None and ends_at < starts_at:
        raise UserError(
            ErrorCode.BAD_USER_INPUT, "`endsAt` must not be before `startsAt`.", argument="endsAt"
        )
    if input.place_name is None:
        raise UserError(
            ErrorCode.BAD_USER_INPUT, "An EVENT needs `placeName`.", argument="placeName"
        )
    place_name = clean_text(input.place_name, argument="placeName", max_length=MAX_TITLE)
    place = input.place_location.to_lnglat() if input.place_location else None
    return CleanPost(
        title=title,
        body=body,
        expires_at=expires_at or ends_at or starts_at + EVENT_DEFAULT_LENGTH,
        starts_at=starts_at,
        ends_at=ends_at,
        place_name=place_name,
        place=place,
    )

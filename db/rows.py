"""Plain rows handed from the query layer to the API layer.

The API builds its public types from these explicitly, so a column added to a table never becomes
public by accident. Coordinates are WGS 84 degrees, lng/lat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from geo.coords import LngLat


@dataclass(frozen=True, slots=True, kw_only=True)
class NeighbourhoodRow:
    id: int
    name: str
    kind: str
    h3_cell: str | None
    commune_code: str | None
    area_m2: float
    created_at: datetime
    membership_policy: str
    """OPEN (geography decides) or APPROVAL (newcomers wait for an ambassador)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdRow:
    """`home` is the exact, private location; `public` is the displaced one others may use."""

    id: int
    name: str
    neighbourhood_id: int
    h3_cell: str
    home: LngLat
    public: LngLat
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Reassignment:
    """How many households a boundary change moved into and out of the changed neighbourhood."""

    moved_in: int
    moved_out: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PostRow:
    """A post as stored, minus its `location` column: that point may be the author household's
    public location, which the API never shows as coordinates. `place` is the event's place,
    given by its author to be shown (EVENT only, optional). Times are timezone-aware."""

    id: int
    neighbourhood_id: int
    household_id: int
    account_id: int | None
    kind: str
    title: str
    body: str
    created_at: datetime
    expires_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    place_name: str | None
    place: LngLat | None
    claimed_at: datetime | None
    claimed_by_household_id: int | None
    hidden_at: datetime | None
    posted_via: str | None = None
    """The partner that wrote it on the household's behalf (its name), if any."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentRow:
    id: int
    post_id: int
    household_id: int
    account_id: int | None
    body: str
    created_at: datetime
    hidden_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostAuthorRow:
    """What anyone reading a post may know of its author: names only, never a location."""

    household_id: int
    name: str
    neighbourhood_name: str

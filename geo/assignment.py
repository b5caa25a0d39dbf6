"""Which neighbourhood a household joins when several boundaries cover its home.

This is the reference rule; the SQL in `db/queries` orders by the same keys
(geodesic area, created_at, id) and tests compare the two.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A neighbourhood whose boundary covers the point. `area_m2` is geodesic (WGS84) area;
    `created_at` must be timezone-aware, as read from a `timestamptz` column."""

    id: int
    area_m2: float
    created_at: datetime


def choose_neighbourhood(candidates: Sequence[Candidate]) -> Candidate | None:
    """The smallest covering area wins (the most local group), then the oldest, then lowest id.

    Every key is a property of the candidate, never its position in `candidates`, so the answer
    is the same whatever order the database returns rows in. None when nothing covers the point.

    Raises:
        ValueError: if an area is NaN or infinite, which would make the order arbitrary.
    """
    for candidate in candidates:
        if not math.isfinite(candidate.area_m2):
            raise ValueError(f"candidate {candidate.id} has non-finite area {candidate.area_m2}")
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c.area_m2, c.created_at, c.id))

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

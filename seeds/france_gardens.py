"""France-scale gardens and their waiting lists, planned with numpy and shapely (no database).

Community gardens (60 %) lie a few hundred metres from their commune's town hall, a third of
them with a small rectangular boundary; private gardens (40 %) are at their owner's home. The
`gardens_place` trigger then does what it does for every garden: the point on the boundary's
surface when there is one, and the owner's public (displaced) point as `public_location` of a
private garden, so no home is ever searchable. Gardens without a free plot get a waiting list
of neighbours (households of the same commune), each at most once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from seeds.france_copy import SRID, points_to_ewkb_hex
from seeds.france_points import (
    FranceCommunes,
    HouseholdPlan,
    metres_per_degree_lat,
    metres_per_degree_lng,
)
from seeds.france_rows import (
    DAY_S,
    YEAR_S,
    BoolArray,
    FloatArray,
    IntArray,
    Neighbours,
    SharingStream,
    copy_lines,
    nullable,
    numbers,
    picks,
    sharing_rng,
    timestamps,
)
from seeds.france_vocab import GARDEN_DESCRIPTIONS, GARDEN_NAMES

GARDEN_COLUMNS = (
    "id, household_id, kind, name, description, location, boundary, plots_total, plots_free, "
    "created_at"
)
WAITLIST_COLUMNS = "id, garden_id, household_id, joined_at"
KINDS = ("COMMUNITY", "PRIVATE")
COMMUNITY_SHARE = 0.6
BOUNDARY_SHARE = 1 / 3
TOWN_HALL_SPREAD_M = 400.0
"""Standard deviation of a community garden's distance to its town hall, per axis."""
FULL_SHARE = 0.4
"""Gardens with no free plot, hence a waiting list."""
MAX_WAITING = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class GardenPlan:
    """Gardens in id order; `household` is the owner or organiser (plan index, id − 1)."""

    household: IntArray
    community: BoolArray
    names: list[str]
    description: IntArray
    lng: FloatArray
    lat: FloatArray
    boundaries: list[str | None]
    """Hex EWKB MultiPolygon, or None."""
    plots_total: IntArray
    plots_free: IntArray
    created_s: IntArray

    def __len__(self) -> int:
        return len(self.household)

    def copy_text(self, start: int, stop: int) -> bytes:
        part = slice(start, stop)
        boundaries = self.boundaries[part]
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(self.household[part] + 1),
                picks(KINDS, (~self.community[part]).astype(np.int64)),
                self.names[part],
                picks(GARDEN_DESCRIPTIONS, self.description[part]),
                points_to_ewkb_hex(self.lng[part], self.lat[part]),
                nullable(
                    [value or "" for value in boundaries], np.array([bool(b) for b in boundaries])
                ),
                numbers(self.plots_total[part]),
                numbers(self.plots_free[part]),
                timestamps(self.created_s[part]),
            ]
        )


def plan_gardens(
    communes: FranceCommunes, plan: HouseholdPlan, count: int, *, seed: int, as_of_s: int
) -> GardenPlan:
    """`count` gardens of random households (so communes weighted by population)."""
    rng = sharing_rng(seed, SharingStream.GARDENS)
    household = rng.integers(0, len(plan), count).astype(np.int64)
    commune = plan.commune[household]
    community = rng.random(count) < COMMUNITY_SHARE
    centre_lat = communes.centre_lat[commune]
    lng = np.where(
        community,
        communes.centre_lng[commune]
        + rng.normal(0, TOWN_HALL_SPREAD_M, count) / metres_per_degree_lng(centre_lat),
        plan.home_lng[household],
    ).round(6)
    lat = np.where(
        community,
        centre_lat + rng.normal(0, TOWN_HALL_SPREAD_M, count) / metres_per_degree_lat(centre_lat),
        plan.home_lat[household],
    ).round(6)
    bounded = community & (rng.random(count) < BOUNDARY_SHARE)
    boundaries = rectangles(lng, lat, bounded, rng)
    names = [
        f"{GARDEN_NAMES[pick]} – {communes.names[where]}"
        if shared
        else private_garden_name(plan.names[owner])
        for pick, where, shared, owner in zip(
            rng.integers(0, len(GARDEN_NAMES), count).tolist(),
            commune.tolist(),
            community.tolist(),
            household.tolist(),
            strict=True,
        )
    ]
    plots_total = np.where(community, rng.integers(8, 61, count), rng.integers(1, 5, count))
    full = rng.random(count) < FULL_SHARE
    plots_free = np.where(full, 0, np.floor(rng.random(count) * (plots_total + 1)))
    return GardenPlan(
        household=household,
        community=community,
        names=names,
        description=rng.integers(0, len(GARDEN_DESCRIPTIONS), count).astype(np.int64),
        lng=lng,
        lat=lat,
        boundaries=boundaries,
        plots_total=plots_total.astype(np.int64),
        plots_free=np.minimum(plots_free, plots_total).astype(np.int64),
        created_s=(as_of_s - rng.integers(DAY_S, 3 * YEAR_S, count)).astype(np.int64),
    )


def private_garden_name(household_name: str) -> str:
    """ "Potager de la famille Martin" for "Famille Martin", "Potager de Mme Roux" otherwise."""
    if household_name.startswith("Famille "):
        return f"Potager de la f{household_name[1:]}"
    return f"Potager de {household_name}"


def rectangles(
    lng: FloatArray, lat: FloatArray, bounded: BoolArray, rng: np.random.Generator
) -> list[str | None]:
    """A 30-80 m by 20-60 m MultiPolygon around each bounded garden's point, as hex EWKB."""
    width_m = rng.uniform(30, 80, len(lng))
    height_m = rng.uniform(20, 60, len(lng))
    half_lng = width_m / 2 / metres_per_degree_lng(lat)
    half_lat = height_m / 2 / metres_per_degree_lat(lat)
    boxes = shapely.box(lng - half_lng, lat - half_lat, lng + half_lng, lat + half_lat)
    shapes = shapely.set_srid(shapely.multipolygons(boxes[:, np.newaxis]), SRID)
    hexes = shapely.to_wkb(shapes, hex=True, include_srid=True, output_dimension=2)
    return [
        value if keep else None
        for value, keep in zip(hexes.tolist(), bounded.tolist(), strict=True)
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitlistPlan:
    """Waiting-list entries in id order (joined first, first served)."""

    garden: IntArray
    household: IntArray
    joined_s: IntArray

    def __len__(self) -> int:
        return len(self.garden)

    def copy_text(self, start: int, stop: int) -> bytes:
        part = slice(start, stop)
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(self.garden[part] + 1),
                numbers(self.household[part] + 1),
                timestamps(self.joined_s[part]),
            ]
        )


def plan_waitlist(
    plan: HouseholdPlan, neighbours: Neighbours, gardens: GardenPlan, *, seed: int, as_of_s: int
) -> WaitlistPlan:
    """Up to MAX_WAITING neighbours of the organiser on each full garden's list, each once."""
    rng = sharing_rng(seed, SharingStream.WAITLIST)
    full = np.flatnonzero(gardens.plots_free == 0)
    garden = np.repeat(full, rng.integers(1, MAX_WAITING + 1, len(full)))
    owner = gardens.household[garden]
    household = neighbours.draw(owner, plan.commune[owner], rng)
    pairs = np.unique(np.stack([garden, household], axis=1), axis=0)
    garden, household = pairs[:, 0], pairs[:, 1]
    since = gardens.created_s[garden]
    joined = since + (rng.random(len(garden)) * (as_of_s - since)).astype(np.int64)
    order = np.lexsort((household, joined))
    return WaitlistPlan(
        garden=garden[order].astype(np.int64),
        household=household[order].astype(np.int64),
        joined_s=joined[order].astype(np.int64),
    )

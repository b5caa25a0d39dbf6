"""France-scale carpools between communes, planned with numpy and shapely (no database).

A trip's driver is a random household, so trips leave communes in proportion to their
population; its destination is another commune drawn in proportion to population among those
3 to 60 km away (`seeds.france_destinations`), and the trip ends at that commune's town hall. It starts at a real carpool place of the Base nationale
des lieux de covoiturage (`seeds/data/lieux-covoiturage-bnlc.csv`, ODbL, columns Xlong/Ylat)
when one lies within about 10 km of the driver's home (for ~40 % of trips), else at the
driver's town hall or their public (displaced) point. Two thirds are weekly commutes, the rest
one-off trips from ten days ago to two months ahead; a quarter carry a route line.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from geo._geodesy import WGS84
from seeds.france_copy import SRID, copy_text, points_to_ewkb_hex
from seeds.france_destinations import destination_communes, great_circle_m
from seeds.france_points import FranceCommunes, HouseholdPlan
from seeds.france_rows import (
    DAY_S,
    BoolArray,
    FloatArray,
    IntArray,
    SharingStream,
    copy_lines,
    nullable,
    numbers,
    optional_timestamps,
    picks,
    sharing_rng,
    timestamps,
    weighted_choice,
)
from seeds.france_vocab import CARPOOL_DESCRIPTIONS, CARPOOL_PLACE_PREFIX
from seeds.geography import DATA_DIR

BNLC = DATA_DIR / "lieux-covoiturage-bnlc.csv"
CARPOOL_COLUMNS = (
    "id, household_id, origin, destination, route, bearing_deg, departs_at, weekdays, "
    "departure_time, timezone, seats_total, description, created_at"
)
MIN_TRIP_M = 1_000.0
PLACE_REACH_DEG = 0.12
"""How far (planar degrees, ~9-13 km in France) a carpool place may be from a driver's home."""
WEEKLY_SHARE = 2 / 3
ROUTE_SHARE = 0.25
WEEKDAY_MASKS = (0b0011111, 0b0011011, 0b0010101, 0b0001010, 0b0100000, 0b1000000)
"""ISO weekdays as bits (Monday = bit 0): Mon-Fri, Mon-Tue-Thu-Fri, Mon-Wed-Fri, Tue-Thu,
Saturday, Sunday."""
WEEKDAY_WEIGHTS = (50, 15, 15, 10, 6, 4)
SEATS_WEIGHTS = (15, 35, 35, 12, 2, 1)
"""Seats 1 to 6."""
OVERSEAS_ZONES = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "976": "Indian/Mayotte",
}
ZONES = ("Europe/Paris", *OVERSEAS_ZONES.values())
WEEKDAY_LISTS = [
    "{" + ",".join(str(day + 1) for day in range(7) if mask >> day & 1) + "}" for mask in range(128)
]
CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}:00" for minute in range(24 * 60)]


@dataclass(frozen=True, slots=True, kw_only=True)
class CarpoolPlaces:
    """Carpool meeting places: lng/lat degrees and names, in file order."""

    lng: FloatArray
    lat: FloatArray
    names: list[str]


@functools.cache
def read_carpool_places(path: Path = BNLC) -> CarpoolPlaces:
    """Every place of the BNLC file with usable coordinates (Xlong, Ylat in WGS84)."""
    lng, lat, names = [], [], []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                x, y = float(row["Xlong"]), float(row["Ylat"])
            except ValueError:
                continue
            if math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90:
                lng.append(x)
                lat.append(y)
                names.append(copy_text(" ".join(row["nom_lieu"].split()))[:200])
    return CarpoolPlaces(lng=np.array(lng), lat=np.array(lat), names=names)


def nearest_places(places: CarpoolPlaces, lng: FloatArray, lat: FloatArray) -> IntArray:
    """Index of the carpool place nearest to each point within PLACE_REACH_DEG, else -1."""
    tree = shapely.STRtree(shapely.points(places.lng, places.lat))
    found = np.full(len(lng), -1, dtype=np.int64)
    source, target = tree.query_nearest(
        shapely.points(lng, lat), max_distance=PLACE_REACH_DEG, all_matches=False
    )
    found[source] = target
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class CarpoolPlan:
    """Trips in id order; `household` is the driver (plan index, id − 1)."""

    household: IntArray
    origin_lng: FloatArray
    origin_lat: FloatArray
    destination_lng: FloatArray
    destination_lat: FloatArray
    routes: list[str | None]
    """Hex EWKB LineString, or None."""
    bearing_deg: FloatArray
    weekly: BoolArray
    weekday_mask: IntArray
    """ISO weekdays as bits (Monday = bit 0); 0 for a one-off trip."""
    departure_minute: IntArray
    """Local wall-clock minute of a weekly trip, or of a one-off trip's departure."""
    departs_day: IntArray
    """Local date (days since 1970) of a one-off trip's departure."""
    departs_s: IntArray
    """A one-off trip's departure instant (Unix seconds); 0 for weekly trips."""
    zone: IntArray
    """Index into ZONES."""
    seats_total: IntArray
    descriptions: list[str]
    created_s: IntArray

    def __len__(self) -> int:
        return len(self.household)

    def copy_text(self, start: int, stop: int) -> bytes:
        part = slice(start, stop)
        weekly = self.weekly[part]
        routes = self.routes[part]
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(self.household[part] + 1),
                points_to_ewkb_hex(self.origin_lng[part], self.origin_lat[part]),
                points_to_ewkb_hex(self.destination_lng[part], self.destination_lat[part]),
                nullable([route or "" for route in routes], np.array([bool(r) for r in routes])),
                numbers(self.bearing_deg[part]),
                optional_timestamps(self.departs_s[part]),
                nullable(picks(WEEKDAY_LISTS, self.weekday_mask[part]), weekly),
                nullable(picks(CLOCK, self.departure_minute[part]), weekly),
                picks(ZONES, self.zone[part]),
                numbers(self.seats_total[part]),
                self.descriptions[part],
                timestamps(self.created_s[part]),
            ]
        )


def plan_carpools(
    communes: FranceCommunes, plan: HouseholdPlan, count: int, *, seed: int, as_of_s: int
) -> CarpoolPlan:
    """`count` trips of random drivers (so communes weighted by population)."""
    rng = sharing_rng(seed, SharingStream.CARPOOLS)
    places = read_carpool_places()
    driver = rng.integers(0, len(plan), count).astype(np.int64)
    home = plan.commune[driver]
    place = nearest_places(places, plan.home_lng[driver], plan.home_lat[driver])
    where = rng.random(count)
    at_place = (where < 0.4) & (place >= 0)
    at_town_hall = ~at_place & (where < 0.7)
    origin_lng = np.where(
        at_place,
        places.lng[place],
        np.where(at_town_hall, communes.centre_lng[home], plan.public_lng[driver]),
    )
    origin_lat = np.where(
        at_place,
        places.lat[place],
        np.where(at_town_hall, communes.centre_lat[home], plan.public_lat[driver]),
    )
    target = destination_communes(communes, home, rng)
    destination_lng = communes.centre_lng[target].copy()
    destination_lat = communes.centre_lat[target].copy()
    # A home far from its own town hall can sit next to the destination's: keep trips ≥ 1 km.
    short = great_circle_m(origin_lng, origin_lat, destination_lng, destination_lat) < MIN_TRIP_M
    destination_lat[short] += 0.03
    azimuth, _, _ = WGS84.inv(origin_lng, origin_lat, destination_lng, destination_lat)
    bearing = np.mod(np.asarray(azimuth, dtype=np.float64), 360.0)
    weekly = rng.random(count) < WEEKLY_SHARE
    mask = np.asarray(WEEKDAY_MASKS)[weekday_patterns(count, rng)]
    weekend = mask >= 0b0100000
    minute = (
        np.where(
            weekend, rng.integers(9 * 12, 12 * 12, count), rng.integers(6 * 12 + 6, 9 * 12, count)
        )
        * 5
    )
    zone = np.array([zone_of(communes.codes[index]) for index in home.tolist()])
    departs_day = as_of_s // DAY_S + rng.integers(-10, 61, count)
    departs_s = np.zeros(count, dtype=np.int64)
    one_off = np.flatnonzero(~weekly)
    departs_s[one_off] = local_instants(departs_day[one_off], minute[one_off], zone[one_off])
    created = (as_of_s - rng.integers(DAY_S, 180 * DAY_S, count)).astype(np.int64)
    descriptions = [
        f"{CARPOOL_PLACE_PREFIX}{places.names[p]}. {CARPOOL_DESCRIPTIONS[d]}".strip()
        if flag
        else CARPOOL_DESCRIPTIONS[d]
        for p, d, flag in zip(
            place.tolist(),
            rng.integers(0, len(CARPOOL_DESCRIPTIONS), count).tolist(),
            at_place.tolist(),
            strict=True,
        )
    ]
    return CarpoolPlan(
        household=driver,
        origin_lng=origin_lng,
        origin_lat=origin_lat,
        destination_lng=destination_lng,
        destination_lat=destination_lat,
        routes=route_lines(origin_lng, origin_lat, destination_lng, destination_lat, rng),
        bearing_deg=np.where(bearing >= 360.0, 0.0, bearing),
        weekly=weekly,
        weekday_mask=np.where(weekly, mask, 0).astype(np.int64),
        departure_minute=minute.astype(np.int64),
        departs_day=departs_day.astype(np.int64),
        departs_s=departs_s.astype(np.int64),
        zone=zone.astype(np.int64),
        seats_total=(weighted_choice(SEATS_WEIGHTS, count, rng) + 1).astype(np.int64),
        descriptions=descriptions,
        created_s=np.where(weekly, created, np.minimum(created, departs_s - DAY_S)),
    )


def weekday_patterns(count: int, rng: np.random.Generator) -> IntArray:
    return weighted_choice(WEEKDAY_WEIGHTS, count, rng)


def zone_of(commune_code: str) -> int:
    """The time zone a commune's trips keep: Paris, or its overseas department's."""
    return ZONES.index(OVERSEAS_ZONES.get(commune_code[:3], "Europe/Paris"))


def local_instants(day: IntArray, minute: IntArray, zone: IntArray) -> IntArray:
    """Unix seconds of local wall-clock (day, minute) in each zone, daylight saving included."""
    zones = [ZoneInfo(name) for name in ZONES]
    out = [
        int(datetime.fromtimestamp(d * DAY_S + m * 60, UTC).replace(tzinfo=zones[z]).timestamp())
        for d, m, z in zip(day.tolist(), minute.tolist(), zone.tolist(), strict=True)
    ]
    return np.asarray(out, dtype=np.int64)


def route_lines(
    origin_lng: FloatArray,
    origin_lat: FloatArray,
    destination_lng: FloatArray,
    destination_lat: FloatArray,
    rng: np.random.Generator,
) -> list[str | None]:
    """For ROUTE_SHARE of trips, a 5-point line from origin to destination that bends a little
    (intermediate points off the straight line by ~5 % of its length), as hex EWKB."""
    count = len(origin_lng)
    with_route = rng.random(count) < ROUTE_SHARE
    bend = rng.normal(0, 0.05, (count, 5))
    chosen = np.flatnonzero(with_route)
    fractions = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    start_lng, start_lat = origin_lng[chosen, None], origin_lat[chosen, None]
    end_lng, end_lat = destination_lng[chosen, None], destination_lat[chosen, None]
    offset = bend[chosen] * np.hypot(end_lng - start_lng, end_lat - start_lat)
    lng = (start_lng + fractions * (end_lng - start_lng) + offset).round(6)
    lat = (start_lat + fractions * (end_lat - start_lat) - offset).round(6)
    lng[:, 0], lat[:, 0] = origin_lng[chosen], origin_lat[chosen]
    lng[:, -1], lat[:, -1] = destination_lng[chosen], destination_lat[chosen]
    lines = shapely.set_srid(shapely.linestrings(np.stack([lng, lat], axis=2)), SRID)
    hexes = shapely.to_wkb(lines, hex=True, include_srid=True, output_dimension=2)
    out: list[str | None] = [None] * count
    for index, value in zip(chosen.tolist(), hexes.tolist(), strict=True):
        out[index] = value
    return out

"""Trips between two places: bearings, direction matching, route lines, public approximations.

Bearings are geodesic initial azimuths on WGS84 in degrees clockwise from north, in [0, 360).
Routes are RFC 7946 LineStrings, positions [longitude, latitude]; lengths are metres.
"""

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from shapely import LineString

from geo._geodesy import WGS84
from geo.boundaries import _as_array, _parse_position
from geo.cells import cell_to_polygon, lnglat_to_cell
from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.errors import GeoValidationError
from geo.privacy import displace

SAME_DIRECTION_TOLERANCE_DEG = 45.0
"""Two trips go the same way when their bearings differ by at most this much."""

AREA_RESOLUTION = 6
"""H3 resolution of a trip end's public approximation: cells of about 36 km², a commune or two."""

MAX_ROUTE_POINTS = 2_000
ROUTE_END_TOLERANCE_M = 500.0
"""How far a route's first (last) point may be from the trip's origin (destination)."""


def initial_bearing_deg(start: LngLat, end: LngLat) -> float:
    """Direction to set off from `start` towards `end`: degrees clockwise from north, [0, 360).

    Geodesic (WGS84), so it matches what a map shows over a commute's few tens of kilometres.

    Raises:
        ValueError: when the two points are the same (no direction).
    """
    if start == end:
        raise ValueError(f"no bearing between a point and itself: {start}")
    azimuth_deg, _back_azimuth_deg, _distance_m = WGS84.inv(start.lng, start.lat, end.lng, end.lat)
    return float(azimuth_deg) % 360.0


def bearing_difference_deg(a_deg: float, b_deg: float) -> float:
    """The smaller angle between two bearings, in [0, 180] (359° and 1° differ by 2°)."""
    return abs((a_deg - b_deg + 180.0) % 360.0 - 180.0)


def is_same_direction(
    a_deg: float, b_deg: float, *, tolerance_deg: float = SAME_DIRECTION_TOLERANCE_DEG
) -> bool:
    """Whether two trips head the same way; SQL tests `cosd(a - b) >= cosd(tolerance)`, equal."""
    return bearing_difference_deg(a_deg, b_deg) <= tolerance_deg


def lnglat_to_area_centre(point: LngLat, resolution: int = AREA_RESOLUTION) -> LngLat:
    """The centre of the H3 cell holding `point`: where a trip end is shown to strangers.

    The same for every point of the cell (several kilometres across at resolution 6), so the
    exact meeting place cannot be read off it. Rounded to 5 decimals (about 1 m).
    """
    centre = cell_to_polygon(lnglat_to_cell(point, resolution)).centroid
    return LngLat(lng=round(float(centre.x), 5), lat=round(float(centre.y), 5))


def geojson_to_linestring(value: object, *, max_points: int = MAX_ROUTE_POINTS) -> LineString:
    """Parse a route sent as an RFC 7946 LineString geometry; altitude is dropped.

    Raises:
        GeoValidationError: "INVALID_GEOMETRY" (type, too few or too many positions) or
            "INVALID_COORDINATES" (a position is not [longitude, latitude] in range).
    """
    if not isinstance(value, Mapping) or value.get("type") != "LineString":
        raise GeoValidationError(
            "INVALID_GEOMETRY", "A route must be a GeoJSON LineString geometry"
        )
    raw_positions = _as_array(
        value.get("coordinates"), "Route coordinates", "an array of positions"
    )
    if len(raw_positions) > max_points:
        raise GeoValidationError(
            "INVALID_GEOMETRY",
            f"A route has at most {max_points} positions, got {len(raw_positions)}",
        )
    positions = [
        _parse_position(raw, f"Position {number} of the route")[:2]
        for number, raw in enumerate(raw_positions, start=1)
    ]
    if len(set(positions)) < 2:
        raise GeoValidationError(
            "INVALID_GEOMETRY", "A route needs at least two different positions"
        )
    return LineString(positions)


def linestring_length_m(line: LineString) -> float:
    """Geodesic length in metres on WGS84 (never `line.length`, which is in degrees)."""
    return float(WGS84.geometry_length(line))


def check_route_ends(
    line: LineString,
    *,
    origin: LngLat,
    destination: LngLat,
    tolerance_m: float = ROUTE_END_TOLERANCE_M,
) -> None:
    """A route must start at the trip's origin and end at its destination, within `tolerance_m`.

    Raises:
        GeoValidationError: "INVALID_GEOMETRY", naming the end that is off and by how much.
    """
    (start_lng, start_lat), (end_lng, end_lat) = line.coords[0], line.coords[-1]
    for what, end, place in (
        ("start", LngLat(lng=start_lng, lat=start_lat), origin),
        ("end", LngLat(lng=end_lng, lat=end_lat), destination),
    ):
        gap_m = great_circle_m(end, place)
        if gap_m > tolerance_m:
            target = "origin" if what == "start" else "destination"
            raise GeoValidationError(
                "INVALID_GEOMETRY",
                f"The route must {what} at the trip's {target}: it is {math.ceil(gap_m)} m "
                f"away (at most {tolerance_m:g} m)",
            )


ROUTE_CLIP_MIN_M = 600.0
ROUTE_CLIP_MAX_M = 1_200.0
"""A public route leaves out everything within this distance (drawn once per trip, uniformly in
this range) of the exact meeting place and destination: beyond the 400 m of a displaced end, so
the kept part of the line starts nowhere near the door, and at an unknown distance, so where it
starts does not draw a circle of known radius around it."""
_SEGMENT_DEG = 0.001
"""Longest segment (degrees, ~75-110 m in France) when the line is densified before clipping."""
_SIMPLIFY_DEG = 0.00005
"""~5 m: the clipped line is simplified back, keeping its shape and its vertex count small."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicTrip:
    """What matching may use of a trip: both ends displaced once (as homes are, 150–400 m), the
    route clipped around the exact ends and joined to the displaced ones, and the bearing
    between the displaced ends. Stored once when the trip is offered, never drawn per query."""

    origin: LngLat
    destination: LngLat
    route: LineString | None
    bearing_deg: float


def trip_to_public(
    origin: LngLat,
    destination: LngLat,
    route: LineString | None,
    *,
    rng: random.Random | None = None,
) -> PublicTrip:
    """The public version of a trip (lng/lat degrees): see `PublicTrip`.

    `random.SystemRandom` by default, as in `geo.privacy.displace`; pass `rng` in tests only.
    """
    generator = rng if rng is not None else random.SystemRandom()
    public_origin = displace(origin, rng=generator)
    public_destination = displace(destination, rng=generator)
    while public_origin == public_destination:  # no bearing otherwise; never with 1 km trips
        public_destination = displace(destination, rng=generator)
    public_route = None
    if route is not None:
        public_route = route_to_public(
            route,
            origin=origin,
            destination=destination,
            public_origin=public_origin,
            public_destination=public_destination,
            clip_m=generator.uniform(ROUTE_CLIP_MIN_M, ROUTE_CLIP_MAX_M),
        )
    return PublicTrip(
        origin=public_origin,
        destination=public_destination,
        route=public_route,
        bearing_deg=initial_bearing_deg(public_origin, public_destination),
    )


def route_to_public(
    line: LineString,
    *,
    origin: LngLat,
    destination: LngLat,
    public_origin: LngLat,
    public_destination: LngLat,
    clip_m: float,
) -> LineString:
    """`line` without its parts within `clip_m` metres of the exact ends, from `public_origin`
    to `public_destination`.

    The line is densified first (segments under ~110 m), so no kept segment cuts back across a
    clipped disc by more than half a segment. What is kept is the stretch after the line last
    leaves the origin's disc and before it first enters the destination's; a route that never
    gets clear of both discs becomes the straight line between the public ends.
    """
    dense = [LngLat(lng=x, lat=y) for x, y in line.segmentize(_SEGMENT_DEG).coords]
    near_origin = [great_circle_m(p, origin) <= clip_m for p in dense]
    start = max((i for i, near in enumerate(near_origin) if near), default=-1) + 1
    kept: list[LngLat] = []
    for point in dense[start:]:
        if great_circle_m(point, destination) <= clip_m:
            break
        kept.append(point)
    positions = [public_origin, *kept, public_destination]
    public = LineString([(p.lng, p.lat) for p in positions])
    simplified = public.simplify(_SIMPLIFY_DEG, preserve_topology=False)
    return (
        simplified if isinstance(simplified, LineString) and len(simplified.coords) >= 2 else public
    )

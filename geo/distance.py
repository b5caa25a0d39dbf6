"""Distances between people, in metres, and how precisely they may be shown to others."""

import math

from geo._geodesy import WGS84
from geo.coords import LngLat

_FINE_STEP_M = 100
_COARSE_STEP_M = 500
_COARSE_FROM_M = 2_000


def great_circle_m(a: LngLat, b: LngLat) -> float:
    """Shortest distance in metres over the WGS84 ellipsoid (geodesic, via pyproj), despite the
    name: not a great circle on a sphere.

    It matches PostGIS `ST_Distance(geography, geography)` with its default `use_spheroid`, not
    what the searches measure: they order by `<->` and filter by `ST_DWithin(..., false)` on
    `geography`, both on PostGIS's sphere of mean radius 6,371,008.8 m. The two disagree by up to
    ~0.6 % (around Chavenay, 1 km east-west is 998.1 m here and 995.1 m on the sphere), so a
    point a search finds just inside a radius may be just outside it by this measure. Unlike
    `shapely.distance` on lng/lat, both are metres, not degrees.
    """
    _azimuth_ab, _azimuth_ba, distance_m = WGS84.inv(a.lng, a.lat, b.lng, b.lat)
    return float(distance_m)


def round_distance_m(distance_m: float) -> int:
    """Distance to show another member: to 100 m below 2 km, to 500 m from 2 km, at least 100 m.

    Exact distances to a displaced point can still be trilaterated from several viewpoints;
    coarse steps keep each answer uninformative below the displacement radius. Halves round up.

    Raises:
        ValueError: for a negative or non-finite distance (a bug, not user input).
    """
    if not math.isfinite(distance_m) or distance_m < 0:
        raise ValueError(f"distance_m must be a finite, non-negative number, got {distance_m}")
    step = _FINE_STEP_M if distance_m < _COARSE_FROM_M else _COARSE_STEP_M
    rounded = math.floor(distance_m / step + 0.5) * step
    return max(_FINE_STEP_M, rounded)

"""Public position of a home: the exact point moved a random 150–400 m, drawn once and stored."""

import math
import random

from geo._geodesy import WGS84
from geo.coords import LngLat

PUBLIC_OFFSET_MIN_M = 150
PUBLIC_OFFSET_MAX_M = 400


def displace(
    point: LngLat,
    *,
    rng: random.Random | None = None,
    min_m: float = PUBLIC_OFFSET_MIN_M,
    max_m: float = PUBLIC_OFFSET_MAX_M,
) -> LngLat:
    """Move `point` (lng/lat degrees) by a uniform bearing and a distance in [min_m, max_m] metres.

    Call this once when a home is saved and store the result: drawing again per query would let
    anyone average many answers back to the door. The distance is uniform over the annulus
    *area* (not the radius), so no ring around the home is denser than another, and the minimum
    means the published point is never on the doorstep. `random.SystemRandom` by default, since a
    seeded or guessable generator would let the offset be replayed; pass `rng` in tests only.

    Raises:
        ValueError: unless 0 <= min_m <= max_m, both finite.
    """
    if not (math.isfinite(min_m) and math.isfinite(max_m) and 0 <= min_m <= max_m):
        raise ValueError(f"need 0 <= min_m <= max_m, got min_m={min_m}, max_m={max_m}")
    generator = rng if rng is not None else random.SystemRandom()
    bearing_deg = generator.uniform(0.0, 360.0)
    distance_m = math.sqrt(min_m**2 + generator.random() * (max_m**2 - min_m**2))
    lng, lat, _back_azimuth = WGS84.fwd(point.lng, point.lat, bearing_deg, distance_m)
    return LngLat(lng=_wrap_longitude(lng), lat=min(90.0, max(-90.0, lat)))


def _wrap_longitude(lng: float) -> float:
    """Into [-180, 180]; pyproj already normalises, this guards the constraint in PostGIS."""
    if -180.0 <= lng <= 180.0:
        return float(lng)
    return (lng + 180.0) % 360.0 - 180.0

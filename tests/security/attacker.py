"""The attacker as code: bisection along rays or over a radius, then a circle fit or trilateration.

A stranger can ask a yes/no question ("does this trip / item / garden match?") as often as they
like. Bisecting where the answer flips gives points at a known distance from the hidden point;
three or more of them pin it. These helpers do exactly that, in local metres around a reference
point (equirectangular: plenty for a few kilometres), and report the best estimate.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from geo._geodesy import WGS84
from geo.coords import LngLat
from geo.distance import great_circle_m

EARTH_RADIUS_M = 6_371_008.8

Probe = Callable[[LngLat], Awaitable[bool]]
"""Does the target still match when the attacker stands at this point?"""
RadiusProbe = Callable[[int], Awaitable[bool]]
"""Does the target match with this radius (metres), from a fixed query point?"""


@dataclass
class Attack:
    """What an attack learnt: its estimate of the hidden point and how many requests it took."""

    estimate: LngLat | None = None
    requests: int = 0
    refused: bool = False

    def distance_to(self, point: LngLat) -> float:
        """Metres from the estimate to `point` (infinite when the attack got nothing)."""
        return math.inf if self.estimate is None else great_circle_m(self.estimate, point)


def towards(start: LngLat, bearing_deg: float, distance_m: float) -> LngLat:
    lng, lat, _ = WGS84.fwd(start.lng, start.lat, bearing_deg, distance_m)
    return LngLat(lng=float(lng), lat=float(lat))


def to_xy(reference: LngLat, point: LngLat) -> tuple[float, float]:
    """Local east/north metres of `point` around `reference`."""
    x = (
        math.radians(point.lng - reference.lng)
        * EARTH_RADIUS_M
        * math.cos(math.radians(reference.lat))
    )
    y = math.radians(point.lat - reference.lat) * EARTH_RADIUS_M
    return x, y


def from_xy(reference: LngLat, x: float, y: float) -> LngLat:
    lat = reference.lat + math.degrees(y / EARTH_RADIUS_M)
    lng = reference.lng + math.degrees(x / (EARTH_RADIUS_M * math.cos(math.radians(reference.lat))))
    return LngLat(lng=lng, lat=lat)


def fit_circle_centre(reference: LngLat, points: Sequence[LngLat]) -> LngLat:
    """Least-squares (Kåsa) circle through boundary points: its centre is the hidden point."""
    xy = np.array([to_xy(reference, p) for p in points])
    a = np.column_stack([2 * xy[:, 0], 2 * xy[:, 1], np.ones(len(xy))])
    b = (xy**2).sum(axis=1)
    (cx, cy, _c), *_ = np.linalg.lstsq(a, b, rcond=None)
    return from_xy(reference, float(cx), float(cy))


def trilaterate(
    reference: LngLat, anchors: Sequence[LngLat], distances_m: Sequence[float]
) -> LngLat:
    """Least-squares point at the given distances from the anchors (≥ 3, not collinear)."""
    xy = np.array([to_xy(reference, p) for p in anchors])
    d = np.asarray(distances_m, dtype=float)
    x0, y0, d0 = xy[0, 0], xy[0, 1], d[0]
    a = 2 * (xy[1:] - xy[0])
    b = d0**2 - d[1:] ** 2 + (xy[1:] ** 2).sum(axis=1) - (x0**2 + y0**2)
    (x, y), *_ = np.linalg.lstsq(a, b, rcond=None)
    return from_xy(reference, float(x), float(y))


async def boundary_along(
    probe: Probe, start: LngLat, bearing_deg: float, *, far_m: float, tolerance_m: float = 1.0
) -> tuple[LngLat | None, int]:
    """Where, walking from `start` (which matches) along `bearing_deg`, the target stops
    matching; None when `start` does not match or it never stops before `far_m`."""
    requests = 2
    if not await probe(start) or await probe(towards(start, bearing_deg, far_m)):
        return None, requests
    low, high = 0.0, far_m
    while high - low > tolerance_m:
        middle = (low + high) / 2
        requests += 1
        if await probe(towards(start, bearing_deg, middle)):
            low = middle
        else:
            high = middle
    return towards(start, bearing_deg, (low + high) / 2), requests


async def ray_attack(
    probe: Probe, start: LngLat, *, bearings_deg: Sequence[float], far_m: float
) -> Attack:
    """Boundary points along several bearings from `start`, and the centre of their circle."""
    attack = Attack()
    points = []
    for bearing in bearings_deg:
        point, requests = await boundary_along(probe, start, bearing, far_m=far_m)
        attack.requests += requests
        if point is not None:
            points.append(point)
    if len(points) >= 3:
        attack.estimate = fit_circle_centre(start, points)
    return attack


async def smallest_radius(probe: RadiusProbe, *, low_m: int, high_m: int) -> tuple[int | None, int]:
    """The smallest radius (whole metres, in [low_m, high_m]) at which the target matches."""
    requests = 1
    if not await probe(high_m):
        return None, requests
    requests += 1
    if await probe(low_m):
        return low_m, requests
    low, high = low_m, high_m  # low never matches, high does
    while high - low > 1:
        middle = (low + high) // 2
        requests += 1
        if await probe(middle):
            high = middle
        else:
            low = middle
    return high, requests


async def radius_attack(
    probe_at: Callable[[LngLat, int], Awaitable[bool]],
    anchors: Sequence[LngLat],
    *,
    low_m: int,
    high_m: int,
) -> Attack:
    """Bisect the radius from each anchor, then trilaterate from the distances found."""
    attack = Attack()
    found: list[tuple[LngLat, float]] = []
    for anchor in anchors:

        async def probe(radius_m: int, anchor: LngLat = anchor) -> bool:
            return await probe_at(anchor, radius_m)

        radius, requests = await smallest_radius(probe, low_m=low_m, high_m=high_m)
        attack.requests += requests
        if radius is not None and radius > low_m:  # at the floor: only "closer than that"
            found.append((anchor, radius - 0.5))
    if len(found) >= 3:
        attack.estimate = trilaterate(anchors[0], [a for a, _ in found], [d for _, d in found])
    return attack


def ring(centre: LngLat, distance_m: float, count: int) -> list[LngLat]:
    """`count` query points evenly around `centre` at `distance_m`."""
    return [towards(centre, 360.0 * n / count, distance_m) for n in range(count)]

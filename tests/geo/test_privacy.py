import math
import random

import pytest
from pyproj import Geod

from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.privacy import PUBLIC_OFFSET_MAX_M, PUBLIC_OFFSET_MIN_M, displace
from tests.geo.places import CHAVENAY

DRAWS = 1_000
_GEOD = Geod(ellps="WGS84")


def _draws(point: LngLat = CHAVENAY) -> list[LngLat]:
    rng = random.Random(20240607)
    return [displace(point, rng=rng) for _ in range(DRAWS)]


def test_offset_is_always_between_150_and_400_metres() -> None:
    distances_m = [great_circle_m(CHAVENAY, moved) for moved in _draws()]

    assert min(distances_m) >= PUBLIC_OFFSET_MIN_M - 1e-6
    assert max(distances_m) <= PUBLIC_OFFSET_MAX_M + 1e-6


def test_offset_is_uniform_over_the_annulus_area() -> None:
    # The circle splitting the annulus into equal areas has radius √((150² + 400²) / 2) ≈ 302 m;
    # uniform over the radius instead would put only 39% of draws beyond it.
    median_m = math.sqrt((PUBLIC_OFFSET_MIN_M**2 + PUBLIC_OFFSET_MAX_M**2) / 2)

    beyond = sum(great_circle_m(CHAVENAY, moved) > median_m for moved in _draws())

    assert 0.45 < beyond / DRAWS < 0.55


def test_bearings_cover_every_direction_evenly() -> None:
    counts = [0] * 8
    for moved in _draws():
        azimuth, _, _ = _GEOD.inv(CHAVENAY.lng, CHAVENAY.lat, moved.lng, moved.lat)
        counts[int((azimuth % 360) // 45)] += 1

    # 125 expected per 45° sector.
    assert all(90 < count < 160 for count in counts), counts


def test_same_seed_gives_the_same_point_and_the_default_is_unpredictable() -> None:
    assert displace(CHAVENAY, rng=random.Random(1)) == displace(CHAVENAY, rng=random.Random(1))
    assert displace(CHAVENAY) != displace(CHAVENAY)


def test_default_generator_also_respects_the_bounds() -> None:
    moved = displace(CHAVENAY)

    assert (
        PUBLIC_OFFSET_MIN_M - 1e-6 <= great_circle_m(CHAVENAY, moved) <= PUBLIC_OFFSET_MAX_M + 1e-6
    )


def test_custom_bounds_are_respected() -> None:
    rng = random.Random(7)
    distances_m = [
        great_circle_m(CHAVENAY, displace(CHAVENAY, rng=rng, min_m=10, max_m=20))
        for _ in range(200)
    ]

    assert all(10 - 1e-6 <= d <= 20 + 1e-6 for d in distances_m)


@pytest.mark.parametrize("point", [LngLat(lng=0.0, lat=90.0), LngLat(lng=179.999, lat=-89.999)])
def test_stays_a_valid_coordinate_at_poles_and_antimeridian(point: LngLat) -> None:
    for moved in _draws(point)[:100]:
        assert -90.0 <= moved.lat <= 90.0
        assert -180.0 <= moved.lng <= 180.0


@pytest.mark.parametrize(("min_m", "max_m"), [(-1.0, 10.0), (20.0, 10.0), (0.0, math.inf)])
def test_rejects_impossible_bounds(min_m: float, max_m: float) -> None:
    with pytest.raises(ValueError, match="min_m"):
        displace(CHAVENAY, min_m=min_m, max_m=max_m)

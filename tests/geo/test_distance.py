import math

import pytest

from geo.coords import LngLat
from geo.distance import great_circle_m, round_distance_m
from tests.geo.places import CHAVENAY, CHAVENAY_SWAPPED, VERSAILLES


def test_one_degree_of_longitude_on_the_equator_is_the_wgs84_value() -> None:
    # Equatorial radius 6,378,137 m × π / 180.
    assert great_circle_m(LngLat(lng=0.0, lat=0.0), LngLat(lng=1.0, lat=0.0)) == pytest.approx(
        111_319.49, abs=0.01
    )


def test_chavenay_to_versailles_agrees_with_haversine_on_the_mean_sphere() -> None:
    # Independent check: haversine with the IUGG mean radius, within 0.5% of the ellipsoid.
    assert great_circle_m(CHAVENAY, VERSAILLES) == pytest.approx(
        _haversine_m(CHAVENAY, VERSAILLES), rel=0.005
    )
    assert great_circle_m(CHAVENAY, VERSAILLES) == pytest.approx(11_444, abs=1)


def _haversine_m(a: LngLat, b: LngLat) -> float:
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    half_chord = (
        math.sin((lat_b - lat_a) / 2) ** 2
        + math.cos(lat_a) * math.cos(lat_b) * math.sin(math.radians(b.lng - a.lng) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(half_chord))


def test_distance_is_symmetric_and_zero_to_itself() -> None:
    assert great_circle_m(CHAVENAY, VERSAILLES) == pytest.approx(
        great_circle_m(VERSAILLES, CHAVENAY)
    )
    assert great_circle_m(CHAVENAY, CHAVENAY) == 0.0


def test_a_swapped_point_is_thousands_of_kilometres_away() -> None:
    assert great_circle_m(CHAVENAY, CHAVENAY_SWAPPED) > 5_000_000


@pytest.mark.parametrize(
    ("distance_m", "shown_m"),
    [
        (0, 100),
        (49, 100),
        (149, 100),
        (150, 200),
        (151, 200),
        (1_949, 1_900),
        (1_950, 2_000),
        (1_999, 2_000),
        (2_000, 2_000),
        (2_249, 2_000),
        (2_250, 2_500),
        (2_251, 2_500),
        (12_345, 12_500),
        (12_749.9, 12_500),
    ],
)
def test_rounds_to_100_m_below_2_km_and_500_m_above(distance_m: float, shown_m: int) -> None:
    assert round_distance_m(distance_m) == shown_m


def test_rounded_distance_is_an_int() -> None:
    assert type(round_distance_m(1234.5)) is int


@pytest.mark.parametrize("distance_m", [-1.0, math.nan, math.inf])
def test_rounding_rejects_impossible_distances(distance_m: float) -> None:
    with pytest.raises(ValueError, match="distance_m"):
        round_distance_m(distance_m)

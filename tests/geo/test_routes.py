"""Bearings, direction matching and route lines, on real places (a lng/lat swap fails loudly)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from shapely import LineString

from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.errors import GeoValidationError
from geo.routes import (
    bearing_difference_deg,
    check_route_ends,
    geojson_to_linestring,
    initial_bearing_deg,
    is_same_direction,
    linestring_length_m,
    lnglat_to_area_centre,
)
from tests.geo.places import CHAVENAY, CHAVENAY_SWAPPED

VERSAILLES = LngLat(lng=2.13, lat=48.80)
PLAISIR = LngLat(lng=1.95, lat=48.82)
PARIS = LngLat(lng=2.35, lat=48.86)


def test_chavenay_to_versailles_heads_east_south_east() -> None:
    assert initial_bearing_deg(CHAVENAY, VERSAILLES) == pytest.approx(118.36, abs=0.01)


def test_the_way_back_is_roughly_opposite() -> None:
    there = initial_bearing_deg(CHAVENAY, VERSAILLES)
    back = initial_bearing_deg(VERSAILLES, CHAVENAY)
    assert bearing_difference_deg(there, back) == pytest.approx(180, abs=1)
    assert not is_same_direction(there, back)


def test_plaisir_to_paris_goes_the_same_way_as_chavenay_to_versailles() -> None:
    # 81° and 118°: 37° apart, within the 45° tolerance.
    assert is_same_direction(
        initial_bearing_deg(PLAISIR, PARIS), initial_bearing_deg(CHAVENAY, VERSAILLES)
    )


def test_due_north_is_zero_and_bearings_stay_below_360() -> None:
    assert initial_bearing_deg(CHAVENAY, LngLat(lng=1.99, lat=48.9)) == pytest.approx(0, abs=1e-9)
    north_north_west = initial_bearing_deg(CHAVENAY, LngLat(lng=1.98, lat=48.9))
    assert 350 < north_north_west < 360


def test_a_swapped_point_gives_a_very_different_bearing() -> None:
    assert (
        bearing_difference_deg(
            initial_bearing_deg(CHAVENAY, VERSAILLES),
            initial_bearing_deg(CHAVENAY_SWAPPED, VERSAILLES),
        )
        > 45
    )


def test_a_point_has_no_bearing_to_itself() -> None:
    with pytest.raises(ValueError, match="itself"):
        initial_bearing_deg(CHAVENAY, CHAVENAY)


@pytest.mark.parametrize(
    ("a", "b", "difference"),
    [(359, 1, 2), (1, 359, 2), (0, 180, 180), (90, 270, 180), (10, 55, 45), (200, 100, 100)],
)
def test_bearing_difference_wraps_around_north(a: float, b: float, difference: float) -> None:
    assert bearing_difference_deg(a, b) == pytest.approx(difference)


@pytest.mark.parametrize("a", [0.0, 37.5, 118.4, 200.0, 359.9])
@pytest.mark.parametrize("delta", [0.0, 30.0, 44.9, 45.1, 90.0, 179.0, -44.9, -46.0])
def test_is_same_direction_agrees_with_the_cosine_test_used_in_sql(a: float, delta: float) -> None:
    b = (a + delta) % 360
    by_cosine = math.cos(math.radians(a - b)) >= math.cos(math.radians(45))
    assert is_same_direction(a, b) is by_cosine


def test_a_trip_end_is_shown_as_the_centre_of_its_area_a_few_km_away() -> None:
    shown = lnglat_to_area_centre(CHAVENAY)
    assert 100 < great_circle_m(CHAVENAY, shown) < 5_000
    nearby = LngLat(lng=CHAVENAY.lng + 0.001, lat=CHAVENAY.lat)
    assert lnglat_to_area_centre(nearby) == shown  # the same for the whole area


def test_area_centres_keep_longitude_first() -> None:
    shown = lnglat_to_area_centre(VERSAILLES)
    assert (round(shown.lng), round(shown.lat)) == (2, 49)


def route(*points: LngLat) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [[p.lng, p.lat] for p in points]}


def test_a_route_parses_longitude_first_and_measures_metres() -> None:
    line = geojson_to_linestring(route(CHAVENAY, VERSAILLES))
    assert line.coords[0] == (1.99, 48.85)
    assert linestring_length_m(line) == pytest.approx(great_circle_m(CHAVENAY, VERSAILLES), 1e-6)


def test_a_route_drops_altitude() -> None:
    line = geojson_to_linestring(
        {"type": "LineString", "coordinates": [[1.99, 48.85, 120], [2.13, 48.8, 130]]}
    )
    assert list(line.coords) == [(1.99, 48.85), (2.13, 48.8)]


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        ({"type": "Point", "coordinates": [1.99, 48.85]}, "INVALID_GEOMETRY", "LineString"),
        ({"type": "LineString", "coordinates": [[1.99, 48.85]]}, "INVALID_GEOMETRY", "two"),
        (
            {"type": "LineString", "coordinates": [[1.99, 48.85], [1.99, 48.85]]},
            "INVALID_GEOMETRY",
            "two",
        ),
        (
            {"type": "LineString", "coordinates": [[1.99, 48.85], [248.85, 1.99]]},
            "INVALID_COORDINATES",
            "Position 2 of the route",
        ),
        ({"type": "LineString", "coordinates": "1.99 48.85"}, "INVALID_COORDINATES", "array"),
        (
            {"type": "LineString", "coordinates": [[1.99, 48.85 + i / 1e4] for i in range(2001)]},
            "INVALID_GEOMETRY",
            "at most 2000",
        ),
    ],
)
def test_refuses_bad_routes_with_a_code_and_where(value: object, code: str, fragment: str) -> None:
    with pytest.raises(GeoValidationError) as raised:
        geojson_to_linestring(value)
    assert raised.value.code == code
    assert fragment in raised.value.message


def test_a_route_must_run_from_the_origin_to_the_destination() -> None:
    line = LineString([(1.99, 48.85), (2.05, 48.83), (2.13, 48.80)])
    check_route_ends(line, origin=CHAVENAY, destination=VERSAILLES)
    with pytest.raises(GeoValidationError, match="start at the trip's origin"):
        check_route_ends(line, origin=PLAISIR, destination=VERSAILLES)
    with pytest.raises(GeoValidationError, match="end at the trip's destination"):
        check_route_ends(line, origin=CHAVENAY, destination=PARIS)

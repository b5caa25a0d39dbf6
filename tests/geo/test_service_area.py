"""The served territory: France's communes (with the overseas départements), in H3 cells."""

from __future__ import annotations

import time

import pytest

from geo.coords import LngLat
from geo.errors import GeoValidationError
from geo.service_area import FRANCE, WORLD, check_served, is_served, service_area_named

CHAVENAY = LngLat(lng=1.99, lat=48.85)


@pytest.mark.parametrize(
    "point",
    [
        CHAVENAY,
        LngLat(lng=2.3488, lat=48.85341),  # Paris, Hôtel de Ville
        LngLat(lng=9.45, lat=42.70),  # Bastia, Corsica
        LngLat(lng=-4.486, lat=48.390),  # Brest, on the coast
        LngLat(lng=-61.59, lat=16.24),  # Pointe-à-Pitre, Guadeloupe
        LngLat(lng=55.45, lat=-20.88),  # Saint-Denis, La Réunion
        LngLat(lng=-52.33, lat=4.93),  # Cayenne, Guyane
        LngLat(lng=45.23, lat=-12.78),  # Mamoudzou, Mayotte
    ],
)
def test_serves_metropolitan_france_and_overseas_departements(point: LngLat) -> None:
    assert is_served(FRANCE, point)


@pytest.mark.parametrize(
    "point",
    [
        LngLat(lng=0.0, lat=0.0),
        LngLat(lng=-0.1276, lat=51.5072),  # London
        LngLat(lng=13.40, lat=52.52),  # Berlin
        LngLat(lng=-3.70, lat=40.42),  # Madrid
        LngLat(lng=-5.0, lat=46.0),  # the Bay of Biscay, 200 km off the coast
    ],
)
def test_refuses_places_outside_france(point: LngLat) -> None:
    assert not is_served(FRANCE, point)
    with pytest.raises(GeoValidationError) as raised:
        check_served(FRANCE, point)
    assert raised.value.code == "OUTSIDE_SERVICE_AREA"
    assert "swapped" not in raised.value.message


def test_swapped_chavenay_gets_the_swap_hint() -> None:
    with pytest.raises(GeoValidationError) as raised:
        check_served(FRANCE, LngLat(lng=48.85, lat=1.99))
    assert raised.value.code == "OUTSIDE_SERVICE_AREA"
    assert "Latitude and longitude swapped?" in raised.value.message
    assert "(lng 1.99, lat 48.85) is inside" in raised.value.message


def test_world_serves_everywhere() -> None:
    assert check_served(WORLD, LngLat(lng=48.85, lat=1.99)) == LngLat(lng=48.85, lat=1.99)
    assert service_area_named("world") is WORLD
    assert service_area_named("france") is FRANCE
    with pytest.raises(ValueError, match="unknown service area"):
        service_area_named("mars")


def test_a_check_takes_well_under_a_millisecond() -> None:
    points = [LngLat(lng=1.99 + i * 1e-4, lat=48.85) for i in range(2_000)]
    started = time.perf_counter()
    for point in points:
        is_served(FRANCE, point)
    per_check_s = (time.perf_counter() - started) / len(points)
    assert per_check_s < 1e-3 / 10, per_check_s  # ≤ 0.1 ms even on a loaded machine

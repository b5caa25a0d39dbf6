import math

import pytest

from geo.coords import LngLat, lnglat_from_values
from geo.errors import GeoValidationError
from tests.geo.places import CHAVENAY


def test_builds_point_from_valid_degrees() -> None:
    assert lnglat_from_values(lng=1.99, lat=48.85) == CHAVENAY


def test_accepts_integers_and_the_exact_limits() -> None:
    assert lnglat_from_values(lng=-180, lat=90) == LngLat(lng=-180.0, lat=90.0)
    assert lnglat_from_values(lng=180, lat=-90) == LngLat(lng=180.0, lat=-90.0)


@pytest.mark.parametrize(
    ("lng", "lat", "message"),
    [
        (1.99, 123.0, "Latitude 123.0 is outside [-90, 90]"),
        (1.99, -90.5, "Latitude -90.5 is outside [-90, 90]"),
        (180.01, 48.85, "Longitude 180.01 is outside [-180, 180]"),
        (math.nan, 48.85, "Longitude nan is not a finite number"),
        (1.99, math.inf, "Latitude inf is not a finite number"),
        (-math.inf, 48.85, "Longitude -inf is not a finite number"),
        (True, 48.85, "Longitude must be a number, got bool"),
        ("1.99", 48.85, "Longitude must be a number, got str"),
        (1.99, None, "Latitude must be a number, got NoneType"),
    ],
)
def test_rejects_invalid_coordinates_with_a_message_naming_the_value(
    lng: object, lat: object, message: str
) -> None:
    with pytest.raises(GeoValidationError) as caught:
        lnglat_from_values(lng=lng, lat=lat)  # type: ignore[arg-type]

    assert caught.value.code == "INVALID_COORDINATES"
    assert caught.value.message == message


def test_swapped_france_point_is_still_a_valid_coordinate() -> None:
    # Range checks cannot catch every swap; that is why tests use asymmetric places.
    assert lnglat_from_values(lng=48.85, lat=1.99) == LngLat(lng=48.85, lat=1.99)


def test_wkt_puts_longitude_first() -> None:
    assert CHAVENAY.to_wkt() == "POINT(1.99 48.85)"


def test_geojson_puts_longitude_first() -> None:
    assert CHAVENAY.to_geojson() == {"type": "Point", "coordinates": [1.99, 48.85]}


def test_requires_keywords() -> None:
    with pytest.raises(TypeError):
        LngLat(1.99, 48.85)  # type: ignore[call-arg]

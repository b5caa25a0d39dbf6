import h3
import pytest
from shapely import MultiPolygon, Point

from geo.boundaries import geodesic_area_m2
from geo.cells import (
    DEFAULT_RESOLUTION,
    cell_resolution,
    cell_to_multipolygon,
    cell_to_polygon,
    lnglat_to_cell,
    validate_cell,
)
from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.errors import GeoValidationError
from tests.geo.places import CHAVENAY, CHAVENAY_SWAPPED

CHAVENAY_CELL = "871fb47aeffffff"


def test_chavenay_falls_in_its_known_resolution_7_cell() -> None:
    assert lnglat_to_cell(CHAVENAY, DEFAULT_RESOLUTION) == CHAVENAY_CELL


def test_cell_polygon_contains_the_point_and_not_its_swap() -> None:
    polygon = cell_to_polygon(lnglat_to_cell(CHAVENAY, 7))

    assert polygon.contains(Point(CHAVENAY.lng, CHAVENAY.lat))
    assert not polygon.contains(Point(CHAVENAY_SWAPPED.lng, CHAVENAY_SWAPPED.lat))


def test_cell_polygon_is_in_lng_lat_order_near_chavenay() -> None:
    centroid = cell_to_polygon(CHAVENAY_CELL).centroid

    assert great_circle_m(CHAVENAY, LngLat(lng=centroid.x, lat=centroid.y)) < 2_000


def test_swapped_point_lands_in_a_cell_far_from_chavenay() -> None:
    swapped_cell = lnglat_to_cell(CHAVENAY_SWAPPED, 7)
    centroid = cell_to_polygon(swapped_cell).centroid

    assert swapped_cell != CHAVENAY_CELL
    assert great_circle_m(CHAVENAY, LngLat(lng=centroid.x, lat=centroid.y)) > 5_000_000


def test_resolution_7_cell_covers_about_five_square_kilometres() -> None:
    area_m2 = geodesic_area_m2(cell_to_polygon(CHAVENAY_CELL))

    assert 4_000_000 < area_m2 < 6_000_000
    assert area_m2 == pytest.approx(h3.cell_area(CHAVENAY_CELL, "m^2"), rel=0.01)


def test_cell_polygon_is_a_closed_hexagon() -> None:
    polygon = cell_to_polygon(CHAVENAY_CELL)

    assert polygon.is_valid
    assert len(polygon.exterior.coords) == 7


def test_multipolygon_wraps_the_single_cell_polygon() -> None:
    multipolygon = cell_to_multipolygon(CHAVENAY_CELL)

    assert isinstance(multipolygon, MultiPolygon)
    assert len(multipolygon.geoms) == 1
    assert multipolygon.geoms[0].equals(cell_to_polygon(CHAVENAY_CELL))


def test_resolution_is_read_from_the_cell() -> None:
    assert cell_resolution(CHAVENAY_CELL) == 7
    assert cell_resolution(lnglat_to_cell(CHAVENAY, 9)) == 9


def test_valid_cell_is_returned_in_lowercase() -> None:
    assert validate_cell(CHAVENAY_CELL) == CHAVENAY_CELL
    assert validate_cell(CHAVENAY_CELL.upper()) == CHAVENAY_CELL


@pytest.mark.parametrize(
    "cell",
    [
        "",
        "hello",
        "871fb47aefffff",  # 14 characters
        "871fb47aeffffffff",
        " 871fb47aeffffff",  # h3 alone would accept the space
        "0x871fb47aeffffff",
        "871fb47aeffffg",
        "ffffffffffffffff",
        "000000000000000",
    ],
)
def test_rejects_strings_that_are_not_cells(cell: str) -> None:
    with pytest.raises(GeoValidationError) as caught:
        validate_cell(cell)

    assert caught.value.code == "INVALID_CELL"
    assert repr(cell) in caught.value.message


def test_polygon_of_an_invalid_cell_is_a_validation_error() -> None:
    with pytest.raises(GeoValidationError, match="not a valid H3 cell"):
        cell_to_polygon("000000000000000")

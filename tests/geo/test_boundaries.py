import itertools
import math
from typing import cast

import pytest
from shapely import MultiPolygon, Point

from geo.boundaries import geodesic_area_m2, geojson_to_multipolygon, multipolygon_to_geojson
from geo.errors import GeoValidationError
from tests.geo.places import CHAVENAY

MAX_AREA_M2 = 50_000_000.0  # 50 km²

# About 1.5 km (east-west) by 2.2 km (north-south) around Chavenay, counter-clockwise.
CHAVENAY_SQUARE = [[1.98, 48.84], [2.0, 48.84], [2.0, 48.86], [1.98, 48.86], [1.98, 48.84]]
# Clockwise hole of about 0.7 by 1.1 km.
CHAVENAY_HOLE = [
    [1.985, 48.845],
    [1.985, 48.855],
    [1.995, 48.855],
    [1.995, 48.845],
    [1.985, 48.845],
]


def polygon(*rings: list[list[float]]) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": list(rings)}


def rejection(value: object, *, max_area_m2: float = MAX_AREA_M2) -> GeoValidationError:
    with pytest.raises(GeoValidationError) as caught:
        geojson_to_multipolygon(value, max_area_m2=max_area_m2)
    return caught.value


def test_polygon_is_promoted_to_a_one_part_multipolygon_around_chavenay() -> None:
    boundary = geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=MAX_AREA_M2)

    assert isinstance(boundary, MultiPolygon)
    assert len(boundary.geoms) == 1
    assert boundary.contains(Point(CHAVENAY.lng, CHAVENAY.lat))
    assert not boundary.contains(Point(CHAVENAY.lat, CHAVENAY.lng))


def test_multipolygon_keeps_every_part() -> None:
    east = [[x + 0.1, y] for x, y in CHAVENAY_SQUARE]
    value = {"type": "MultiPolygon", "coordinates": [[CHAVENAY_SQUARE], [east]]}

    boundary = geojson_to_multipolygon(value, max_area_m2=MAX_AREA_M2)

    assert len(boundary.geoms) == 2


def test_accepts_tuples_and_drops_altitude() -> None:
    ring = tuple((x, y, 120.5) for x, y in CHAVENAY_SQUARE)

    boundary = geojson_to_multipolygon(
        {"type": "Polygon", "coordinates": (ring,)}, max_area_m2=MAX_AREA_M2
    )

    assert not boundary.has_z
    assert boundary.equals(geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=1e9))


def test_geodesic_area_of_the_square_is_about_three_square_kilometres() -> None:
    boundary = geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=MAX_AREA_M2)

    # 0.02° of longitude at 48.85° N ≈ 1,467 m; 0.02° of latitude ≈ 2,224 m.
    assert geodesic_area_m2(boundary) == pytest.approx(3_262_000, rel=0.005)


def test_area_is_the_same_whatever_the_ring_orientation() -> None:
    clockwise = list(reversed(CHAVENAY_SQUARE))

    area_ccw = geodesic_area_m2(geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=1e9))
    area_cw = geodesic_area_m2(geojson_to_multipolygon(polygon(clockwise), max_area_m2=1e9))

    assert area_cw == pytest.approx(area_ccw)


def test_hole_reduces_the_area_whatever_its_orientation() -> None:
    whole = geodesic_area_m2(geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=1e9))
    hole = geodesic_area_m2(geojson_to_multipolygon(polygon(CHAVENAY_HOLE), max_area_m2=1e9))

    for hole_ring in (CHAVENAY_HOLE, list(reversed(CHAVENAY_HOLE))):
        holed = geojson_to_multipolygon(polygon(CHAVENAY_SQUARE, hole_ring), max_area_m2=1e9)
        assert geodesic_area_m2(holed) == pytest.approx(whole - hole)


def test_geojson_round_trip_is_an_rfc7946_multipolygon_in_lng_lat() -> None:
    boundary = geojson_to_multipolygon(
        polygon(list(reversed(CHAVENAY_SQUARE)), CHAVENAY_HOLE), max_area_m2=MAX_AREA_M2
    )

    geojson = multipolygon_to_geojson(boundary)

    assert geojson["type"] == "MultiPolygon"
    assert geojson_to_multipolygon(geojson, max_area_m2=MAX_AREA_M2).equals(boundary)
    coordinates = cast(list[list[list[list[float]]]], geojson["coordinates"])
    [[exterior, hole]] = coordinates
    assert [1.98, 48.84] in exterior
    assert _signed_area(exterior) > 0, "exterior must be counter-clockwise"
    assert _signed_area(hole) < 0, "hole must be clockwise"


def test_geojson_of_a_polygon_is_promoted_to_multipolygon() -> None:
    boundary = geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=MAX_AREA_M2)

    geojson = multipolygon_to_geojson(boundary.geoms[0])

    assert geojson["type"] == "MultiPolygon"
    assert len(geojson["coordinates"]) == 1  # type: ignore[arg-type]


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("POLYGON((1 2, 3 4))", "Boundary must be a GeoJSON geometry object, got str"),
        (None, "Boundary must be a GeoJSON geometry object, got NoneType"),
        (
            {"type": "Feature", "geometry": polygon(CHAVENAY_SQUARE), "properties": {}},
            "Boundary must be a GeoJSON geometry, not a Feature: send its 'geometry' member",
        ),
        (
            {"type": "Point", "coordinates": [1.99, 48.85]},
            "Boundary type must be Polygon or MultiPolygon, got 'Point'",
        ),
        (
            {"coordinates": [CHAVENAY_SQUARE]},
            "Boundary type must be Polygon or MultiPolygon, got None",
        ),
        ({"type": "Polygon"}, "Boundary Polygon has no 'coordinates' member"),
    ],
)
def test_rejects_what_is_not_a_polygon_geometry(value: object, message: str) -> None:
    error = rejection(value)

    assert error.code == "INVALID_GEOMETRY"
    assert error.message == message


def _with_position(index: int, position: object) -> dict[str, object]:
    ring: list[object] = list(CHAVENAY_SQUARE)
    ring[index] = position
    return polygon(ring)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            _with_position(1, [2.0, 123.0]),
            "Position 2 of ring 1 of polygon 1: Latitude 123.0 is outside [-90, 90]",
        ),
        (
            _with_position(2, [181, 48.86]),
            "Position 3 of ring 1 of polygon 1: Longitude 181.0 is outside [-180, 180]",
        ),
        (
            _with_position(1, [math.nan, 48.84]),
            "Position 2 of ring 1 of polygon 1: Longitude nan is not a finite number",
        ),
        (
            _with_position(1, [2.0, math.inf]),
            "Position 2 of ring 1 of polygon 1: Latitude inf is not a finite number",
        ),
        (
            _with_position(1, [2.0, 48.84, math.nan]),
            "Position 2 of ring 1 of polygon 1: altitude nan is not a finite number",
        ),
        (
            _with_position(1, [2.0, "48.84"]),
            "Position 2 of ring 1 of polygon 1: Latitude must be a number, got str",
        ),
        (
            _with_position(1, [True, 48.84]),
            "Position 2 of ring 1 of polygon 1: Longitude must be a number, got bool",
        ),
        (
            _with_position(1, [2.0]),
            "Position 2 of ring 1 of polygon 1 has 1 numbers; "
            "expected [longitude, latitude] or [longitude, latitude, altitude]",
        ),
        (
            _with_position(1, [2.0, 48.84, 0.0, 0.0]),
            "Position 2 of ring 1 of polygon 1 has 4 numbers; "
            "expected [longitude, latitude] or [longitude, latitude, altitude]",
        ),
        (
            _with_position(1, 2.0),
            "Position 2 of ring 1 of polygon 1 must be an array [longitude, latitude], got float",
        ),
        (
            {"type": "Polygon", "coordinates": ["1.98 48.84"]},
            "Ring 1 of polygon 1 must be an array of positions, got str",
        ),
        (
            {"type": "Polygon", "coordinates": "oops"},
            "Boundary coordinates must be an array of rings, got str",
        ),
        (
            {"type": "MultiPolygon", "coordinates": {"a": 1}},
            "Boundary coordinates must be an array of polygons, got dict",
        ),
        (
            {"type": "MultiPolygon", "coordinates": [[CHAVENAY_SQUARE], 7]},
            "Polygon 2 must be an array of rings, got int",
        ),
    ],
)
def test_rejects_bad_positions_naming_where_they_are(value: object, message: str) -> None:
    error = rejection(value)

    assert error.code == "INVALID_COORDINATES"
    assert error.message == message


def test_swapped_axes_are_caught_when_longitude_exceeds_90() -> None:
    # Nouméa (lng 166.45, lat -22.27) written lat-first: the first "latitude" is 166.44.
    noumea_swapped = [[-22.28, 166.44], [-22.28, 166.46], [-22.26, 166.46], [-22.28, 166.44]]

    error = rejection(polygon(noumea_swapped))

    assert error.code == "INVALID_COORDINATES"
    assert error.message == (
        "Position 1 of ring 1 of polygon 1: Latitude 166.44 is outside [-90, 90]"
    )


def test_swapped_axes_within_range_give_a_valid_shape_far_from_chavenay() -> None:
    swapped = [[y, x] for x, y in CHAVENAY_SQUARE]

    boundary = geojson_to_multipolygon(polygon(swapped), max_area_m2=MAX_AREA_M2)

    assert not boundary.contains(Point(CHAVENAY.lng, CHAVENAY.lat))
    assert boundary.centroid.x > 40  # in the Indian Ocean off Somalia, not France
    # Near the equator the same box in degrees covers a larger area.
    assert geodesic_area_m2(boundary) > 1.4 * 3_262_000


def test_rejects_a_ring_that_is_not_closed() -> None:
    ring = [[1.0, 48.0], [1.1, 48.1], [1.0, 48.1], [1.1, 48.0]]

    error = rejection(polygon(ring))

    assert error.code == "INVALID_GEOMETRY"
    assert error.message == (
        "Ring 1 of polygon 1 is not closed: "
        "first position [1.0, 48.0] differs from last [1.1, 48.0]"
    )


def test_rejects_an_unclosed_hole_naming_the_ring_and_polygon() -> None:
    value = {
        "type": "MultiPolygon",
        "coordinates": [
            [CHAVENAY_SQUARE],
            [CHAVENAY_SQUARE, [*CHAVENAY_HOLE[:-1], [1.985, 48.846]]],
        ],
    }

    error = rejection(value)

    assert error.message.startswith("Ring 2 of polygon 2 is not closed")


def test_rejects_a_ring_with_too_few_positions() -> None:
    error = rejection(polygon([[1.98, 48.84], [2.0, 48.84], [1.98, 48.84]]))

    assert error.code == "INVALID_GEOMETRY"
    assert error.message == (
        "Ring 1 of polygon 1 has 3 positions; a closed ring needs at least 4 "
        "(the first repeated at the end)"
    )


def test_rejects_a_self_intersecting_bowtie_naming_the_crossing_point() -> None:
    bowtie = [[1.99, 48.85], [2.0, 48.852], [2.0, 48.85], [1.99, 48.852], [1.99, 48.85]]

    error = rejection(polygon(bowtie))

    assert error.code == "INVALID_GEOMETRY"
    assert error.message == "Boundary is not valid: Self-intersection at (1.995, 48.851)"


def test_rejects_overlapping_parts_of_a_multipolygon() -> None:
    shifted = [[x + 0.01, y] for x, y in CHAVENAY_SQUARE]
    value = {"type": "MultiPolygon", "coordinates": [[CHAVENAY_SQUARE], [shifted]]}

    error = rejection(value)

    assert error.code == "INVALID_GEOMETRY"
    assert error.message.startswith("Boundary is not valid: Self-intersection at (")


def test_rejects_a_degenerate_ring_of_one_repeated_point() -> None:
    error = rejection(polygon([[1.99, 48.85]] * 4))

    assert error.code == "INVALID_GEOMETRY"
    assert error.message.startswith("Boundary is not valid: ")


@pytest.mark.parametrize(
    "value",
    [
        {"type": "Polygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": [[], []]},
    ],
)
def test_rejects_an_empty_boundary(value: object) -> None:
    error = rejection(value)

    assert error.code == "EMPTY_GEOMETRY"
    assert error.message == "Boundary is empty: it has no rings"


def test_rejects_an_empty_part_next_to_a_real_one() -> None:
    error = rejection({"type": "MultiPolygon", "coordinates": [[CHAVENAY_SQUARE], []]})

    assert error.code == "INVALID_GEOMETRY"
    assert error.message == "Polygon 2 has no rings; each part needs an exterior"


def test_rejects_a_boundary_larger_than_the_maximum_giving_both_areas() -> None:
    error = rejection(polygon(CHAVENAY_SQUARE), max_area_m2=1_000_000)

    assert error.code == "GEOMETRY_TOO_LARGE"
    assert error.message == "Boundary covers 3.26 km², more than the maximum of 1.00 km²"


def test_accepts_a_boundary_exactly_at_the_maximum() -> None:
    area_m2 = geodesic_area_m2(
        geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=MAX_AREA_M2)
    )

    assert geojson_to_multipolygon(polygon(CHAVENAY_SQUARE), max_area_m2=area_m2)


def test_checks_coordinates_before_closure_and_validity() -> None:
    # Unclosed, self-intersecting, and with a bad latitude: the number is reported first.
    ring = [[1.99, 48.85], [2.0, 95.0], [2.0, 48.85], [1.99, 48.852]]

    assert rejection(polygon(ring)).code == "INVALID_COORDINATES"

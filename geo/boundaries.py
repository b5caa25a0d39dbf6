"""Neighbourhood boundaries: GeoJSON in, checked shapely MultiPolygon out, and back.

Checks run from the cheapest and most specific to the most general, so a person sees the first
real problem in their data (a bad number) rather than a consequence of it (an invalid shape).
All coordinates are RFC 7946 [longitude, latitude] in WGS84 degrees; altitude is dropped.
"""

import math
import numbers
import re
from collections.abc import Mapping, Sequence

from shapely import MultiPolygon, Polygon, is_valid_reason
from shapely.geometry.polygon import orient

from geo._geodesy import WGS84
from geo.coords import lnglat_from_values
from geo.errors import GeoValidationError

Position = tuple[float, ...]
Ring = list[Position]
PolygonRings = list[Ring]

_ACCEPTED_TYPES = ("Polygon", "MultiPolygon")
_REASON_LOCATION = re.compile(r"^(?P<reason>.*)\[(?P<x>\S+) (?P<y>\S+)\]$")


def geojson_to_multipolygon(value: object, *, max_area_m2: float) -> MultiPolygon:
    """Parse and check a boundary sent as an RFC 7946 Polygon or MultiPolygon geometry.

    `max_area_m2` bounds the geodesic area so a typo (or a swapped axis) cannot claim a
    continent. A Polygon is promoted to a one-part MultiPolygon, the column type in PostGIS.

    Raises:
        GeoValidationError: "INVALID_GEOMETRY" (shape or type), "INVALID_COORDINATES" (numbers),
            "EMPTY_GEOMETRY" or "GEOMETRY_TOO_LARGE".
    """
    geometry_type, coordinates = _geometry_members(value)
    polygons = _parse_polygons(geometry_type, coordinates)
    _check_rings(polygons)
    multipolygon = _to_multipolygon(polygons)
    reason = str(is_valid_reason(multipolygon))
    if reason != "Valid Geometry":
        raise GeoValidationError(
            "INVALID_GEOMETRY", f"Boundary is not valid: {_readable_reason(reason)}"
        )
    area_m2 = geodesic_area_m2(multipolygon)
    if area_m2 > max_area_m2:
        raise GeoValidationError(
            "GEOMETRY_TOO_LARGE",
            f"Boundary covers {area_m2 / 1e6:,.2f} km², more than the maximum of "
            f"{max_area_m2 / 1e6:,.2f} km²",
        )
    return multipolygon


def check_drawn_parts(geom: MultiPolygon, *, min_part_area_m2: float) -> None:
    """Refuse a boundary drawn through the API with a part smaller than `min_part_area_m2`.

    Each part, not the total: a big part far away must not carry a tiny one around a house. A
    drawing learns nothing about homes anyway (households are invited, not moved, and counts are
    coarse and on public points); the floor keeps a network a place for a community, and keeps
    what a new registration in it says about a home (it is somewhere in there) coarse.

    Raises:
        GeoValidationError: "GEOMETRY_TOO_SMALL", naming the part and both areas.
    """
    for number, part in enumerate(geom.geoms, start=1):
        area_m2 = geodesic_area_m2(part)
        if area_m2 < min_part_area_m2:
            raise GeoValidationError(
                "GEOMETRY_TOO_SMALL",
                f"Polygon {number} of the boundary covers {area_m2 / 1e6:,.3f} km², less than "
                f"the minimum of {min_part_area_m2 / 1e6:,.2f} km² for each part of a network",
            )


def margin_degrees(geom: MultiPolygon | Polygon, distance_m: float) -> tuple[float, float]:
    """(longitude, latitude) degrees that span at least `distance_m` anywhere in `geom`'s
    bounding box grown by that margin, for a bounding-box prefilter (`ST_Expand`)."""
    _west, south, _east, north = geom.bounds
    dlat = distance_m / 110_500.0  # a degree of latitude is 110.57 km at the equator, the least
    worst_lat = min(89.0, max(abs(south), abs(north)) + dlat)
    dlng = distance_m / (111_320.0 * math.cos(math.radians(worst_lat)))
    return dlng, dlat


def multipolygon_to_geojson(geom: MultiPolygon | Polygon) -> dict[str, object]:
    """RFC 7946 MultiPolygon mapping with JSON lists, [lng, lat] positions.

    Rings are re-oriented to the RFC's right-hand rule (exterior counter-clockwise, holes
    clockwise), which some clients rely on to tell holes from parts.
    """
    parts = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    coordinates = []
    for part in parts:
        oriented = orient(part, sign=1.0)
        rings = [oriented.exterior, *oriented.interiors]
        coordinates.append([[[float(xy[0]), float(xy[1])] for xy in ring.coords] for ring in rings])
    return {"type": "MultiPolygon", "coordinates": coordinates}


def geodesic_area_m2(geom: MultiPolygon | Polygon) -> float:
    """Area in square metres on the WGS84 ellipsoid, whatever the ring orientation.

    pyproj signs each ring's area by its traversal direction and sums them, so rings are
    oriented first; otherwise a hole drawn the same way round as its exterior would enlarge
    the polygon instead of cutting it, and opposite parts of a MultiPolygon would cancel.
    """
    parts = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    oriented = MultiPolygon([orient(part, sign=1.0) for part in parts])
    area_m2, _perimeter_m = WGS84.geometry_area_perimeter(oriented)
    return abs(area_m2)


def _geometry_members(value: object) -> tuple[str, object]:
    if not isinstance(value, Mapping):
        raise GeoValidationError(
            "INVALID_GEOMETRY",
            f"Boundary must be a GeoJSON geometry object, got {type(value).__name__}",
        )
    geometry_type = value.get("type")
    if geometry_type == "Feature":
        raise GeoValidationError(
            "INVALID_GEOMETRY",
            "Boundary must be a GeoJSON geometry, not a Feature: send its 'geometry' member",
        )
    if geometry_type not in _ACCEPTED_TYPES:
        raise GeoValidationError(
            "INVALID_GEOMETRY",
            f"Boundary type must be Polygon or MultiPolygon, got {geometry_type!r}",
        )
    if "coordinates" not in value:
        raise GeoValidationError(
            "INVALID_GEOMETRY", f"Boundary {geometry_type} has no 'coordinates' member"
        )
    return str(geometry_type), value["coordinates"]


def _as_array(value: object, what: str, expectation: str) -> Sequence[object]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise GeoValidationError(
            "INVALID_COORDINATES", f"{what} must be {expectation}, got {type(value).__name__}"
        )
    return value


def _parse_polygons(geometry_type: str, coordinates: object) -> list[PolygonRings]:
    if geometry_type == "Polygon":
        return [_parse_polygon(coordinates, "Boundary coordinates", "polygon 1")]
    raw_polygons = _as_array(coordinates, "Boundary coordinates", "an array of polygons")
    return [
        _parse_polygon(raw, f"Polygon {number}", f"polygon {number}")
        for number, raw in enumerate(raw_polygons, start=1)
    ]


def _parse_polygon(raw: object, what: str, where: str) -> PolygonRings:
    raw_rings = _as_array(raw, what, "an array of rings")
    rings = []
    for ring_number, raw_ring in enumerate(raw_rings, start=1):
        ring_where = f"ring {ring_number} of {where}"
        raw_positions = _as_array(raw_ring, ring_where.capitalize(), "an array of positions")
        rings.append(
            [
                _parse_position(raw_position, f"Position {number} of {ring_where}")
                for number, raw_position in enumerate(raw_positions, start=1)
            ]
        )
    return rings


def _parse_position(raw: object, where: str) -> Position:
    values = _as_array(raw, where, "an array [longitude, latitude]")
    if len(values) not in (2, 3):
        raise GeoValidationError(
            "INVALID_COORDINATES",
            f"{where} has {len(values)} numbers; "
            "expected [longitude, latitude] or [longitude, latitude, altitude]",
        )
    try:
        # Types are checked inside; the ignore only admits `object` into the typed signature.
        point = lnglat_from_values(lng=values[0], lat=values[1])  # type: ignore[arg-type]
    except GeoValidationError as error:
        raise GeoValidationError(error.code, f"{where}: {error.message}") from None
    if len(values) == 2:
        return (point.lng, point.lat)
    altitude = values[2]
    if isinstance(altitude, bool) or not isinstance(altitude, numbers.Real):
        raise GeoValidationError(
            "INVALID_COORDINATES",
            f"{where}: altitude must be a number, got {type(altitude).__name__}",
        )
    if not math.isfinite(altitude):
        raise GeoValidationError(
            "INVALID_COORDINATES", f"{where}: altitude {float(altitude)} is not a finite number"
        )
    return (point.lng, point.lat, float(altitude))


def _check_rings(polygons: list[PolygonRings]) -> None:
    for polygon_number, rings in enumerate(polygons, start=1):
        for ring_number, ring in enumerate(rings, start=1):
            where = f"Ring {ring_number} of polygon {polygon_number}"
            if len(ring) < 4:
                raise GeoValidationError(
                    "INVALID_GEOMETRY",
                    f"{where} has {len(ring)} positions; a closed ring needs at least 4 "
                    "(the first repeated at the end)",
                )
            if ring[0] != ring[-1]:
                raise GeoValidationError(
                    "INVALID_GEOMETRY",
                    f"{where} is not closed: first position {list(ring[0])} differs from "
                    f"last {list(ring[-1])}",
                )


def _to_multipolygon(polygons: list[PolygonRings]) -> MultiPolygon:
    if not any(polygons):
        raise GeoValidationError("EMPTY_GEOMETRY", "Boundary is empty: it has no rings")
    for number, rings in enumerate(polygons, start=1):
        if not rings:
            raise GeoValidationError(
                "INVALID_GEOMETRY", f"Polygon {number} has no rings; each part needs an exterior"
            )
    parts = [
        Polygon(
            [position[:2] for position in rings[0]],
            [[position[:2] for position in hole] for hole in rings[1:]],
        )
        for rings in polygons
    ]
    return MultiPolygon(parts)


def _readable_reason(reason: str) -> str:
    """GEOS says 'Self-intersection[1.995 48.851]'; people read 'Self-intersection at (…)'."""
    match = _REASON_LOCATION.match(reason)
    if match is None:
        return reason
    try:
        lng, lat = round(float(match["x"]), 6), round(float(match["y"]), 6)
    except ValueError:
        return reason
    return f"{match['reason']} at ({lng}, {lat})"

"""H3 cells: the coarse public location of households and the unit of neighbourhood search.

h3 takes (lat, lng) while everything else here is (lng, lat); `lnglat_to_cell` is the only
function in the codebase allowed to swap them. Reading a cell back uses `h3.cells_to_geo`,
which already returns GeoJSON order, so no second swap exists.
"""

import re

import h3
from shapely import MultiPolygon, Polygon
from shapely.geometry import shape

from geo.coords import LngLat
from geo.errors import GeoValidationError

DEFAULT_RESOLUTION = 7
"""About 5 km² per cell: a village or a few city blocks, coarse enough to hide a home."""

# h3 parses strings with int(s, 16), so " 871f…" and "0x871f…" would pass is_valid_cell.
_CELL_PATTERN = re.compile(r"[0-9a-fA-F]{15}")


def lnglat_to_cell(point: LngLat, resolution: int) -> str:
    """The H3 cell (lowercase hex string) containing `point` at `resolution` (0 to 15)."""
    cell: str = h3.latlng_to_cell(point.lat, point.lng, resolution)
    return cell


def validate_cell(cell: str) -> str:
    """Check a cell index sent by a person and return its canonical lowercase form.

    Raises:
        GeoValidationError: code "INVALID_CELL".
    """
    if not isinstance(cell, str) or _CELL_PATTERN.fullmatch(cell) is None:
        raise GeoValidationError(
            "INVALID_CELL", f"{cell!r} is not an H3 cell: expected 15 hexadecimal characters"
        )
    canonical = cell.lower()
    if not h3.is_valid_cell(canonical):
        raise GeoValidationError("INVALID_CELL", f"{cell!r} is not a valid H3 cell index")
    return canonical


def cell_resolution(cell: str) -> int:
    """H3 resolution of `cell` (0 coarsest to 15 finest)."""
    resolution: int = h3.get_resolution(validate_cell(cell))
    return resolution


def cell_to_polygon(cell: str) -> Polygon:
    """Hexagon (or pentagon) of `cell` in lng/lat degrees, closed ring, WGS84.

    Cells crossing the antimeridian come back as h3 draws them, with longitudes on both sides
    of ±180; Voisinage serves mainland France, where this cannot happen.
    """
    geojson = h3.cells_to_geo([validate_cell(cell)])
    polygon: Polygon = shape(geojson)
    return polygon


def cell_to_multipolygon(cell: str) -> MultiPolygon:
    """`cell_to_polygon` as a one-part MultiPolygon, the type of neighbourhood boundaries."""
    return MultiPolygon([cell_to_polygon(cell)])

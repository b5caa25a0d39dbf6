"""The single coordinate type of the codebase, always longitude first like GeoJSON and PostGIS."""

import math
import numbers
from dataclasses import dataclass

from geo.errors import GeoValidationError


@dataclass(frozen=True, slots=True, kw_only=True)
class LngLat:
    """A WGS84 (EPSG:4326) position in decimal degrees.

    Keyword-only so that `LngLat(lng=1.99, lat=48.85)` can never be written in the wrong order.
    Construction does not validate: values from the database are trusted; values from a person
    go through `lnglat_from_values`.
    """

    lng: float
    lat: float

    def to_wkt(self) -> str:
        """WKT for PostGIS (`ST_GeomFromText(..., 4326)`), x = longitude first."""
        return f"POINT({float(self.lng)!r} {float(self.lat)!r})"

    def to_geojson(self) -> dict[str, object]:
        """RFC 7946 Point; positions are [longitude, latitude]."""
        return {"type": "Point", "coordinates": [float(self.lng), float(self.lat)]}


def _checked_degrees(name: str, value: object, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise GeoValidationError(
            "INVALID_COORDINATES", f"{name} must be a number, got {type(value).__name__}"
        )
    degrees = float(value)
    if not math.isfinite(degrees):
        raise GeoValidationError("INVALID_COORDINATES", f"{name} {degrees} is not a finite number")
    if not -limit <= degrees <= limit:
        raise GeoValidationError(
            "INVALID_COORDINATES", f"{name} {degrees} is outside [-{limit:g}, {limit:g}]"
        )
    return degrees


def lnglat_from_values(*, lng: float, lat: float) -> LngLat:
    """Build a `LngLat` from untrusted input (degrees), rejecting what PostGIS would misread.

    NaN and infinities would pass through SQL and poison distance comparisons; `bool` is an
    `int` subclass in Python but never a coordinate. Longitude is not wrapped: a value outside
    [-180, 180] is far more likely a swapped or projected coordinate than a real place.

    Raises:
        GeoValidationError: code "INVALID_COORDINATES".
    """
    return LngLat(
        lng=_checked_degrees("Longitude", lng, 180.0),
        lat=_checked_degrees("Latitude", lat, 90.0),
    )

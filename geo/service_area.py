"""The territory a deployment serves, and the check every location a person sends goes through.

Why H3 and not a polygon: the union of France's communes is a 28 MB multipolygon; even simplified,
a point-in-polygon test costs tens of microseconds and a Shapely/PostGIS dependency at the call.
The covering set of resolution-5 cells (about 250 km² each, 2,951 cells, generated from the seeds'
commune polygons by `python -m seeds.service_area`) answers with one `latlng_to_cell` and one set
look-up: about 2 µs. The cells overlap the land, so the border is generous by up to one cell
(about 9 km of sea or neighbouring country); the check is a guard against mistakes (swapped
axes, a point at 0,0, a projected coordinate), not a border control.
"""

from __future__ import annotations

from dataclasses import dataclass

import h3

from geo.cells import lnglat_to_cell
from geo.coords import LngLat
from geo.errors import GeoValidationError
from geo.service_area_france import CELLS as FRANCE_COMPACTED
from geo.service_area_france import RESOLUTION as FRANCE_RESOLUTION

SERVICE_AREAS = ("france", "world")


@dataclass(frozen=True, slots=True)
class ServiceArea:
    """A served territory: `cells` at `resolution`, or everywhere when `cells` is None."""

    name: str
    description: str
    resolution: int
    cells: frozenset[str] | None


WORLD = ServiceArea("world", "the whole world", 0, None)
FRANCE = ServiceArea(
    "france",
    "France (metropolitan France and the overseas départements)",
    FRANCE_RESOLUTION,
    frozenset(h3.uncompact_cells(list(FRANCE_COMPACTED), FRANCE_RESOLUTION)),
)


def service_area_named(name: str) -> ServiceArea:
    """The area for a `SERVICE_AREA` setting value ("france" or "world")."""
    areas = {"france": FRANCE, "world": WORLD}
    try:
        return areas[name]
    except KeyError:
        raise ValueError(
            f"unknown service area {name!r}: expected one of {SERVICE_AREAS}"
        ) from None


def is_served(area: ServiceArea, point: LngLat) -> bool:
    """Whether `point` lies in `area` (always true for the world)."""
    if area.cells is None:
        return True
    return lnglat_to_cell(point, area.resolution) in area.cells


def check_served(area: ServiceArea, point: LngLat) -> LngLat:
    """Return `point` if `area` serves it; otherwise say so, with a hint when the axes look swapped.

    The hint is given when the point with longitude and latitude exchanged is inside: Chavenay
    sent as (lng 48.85, lat 1.99) lands off Somalia, and (1.99, 48.85) is in France.

    Raises:
        GeoValidationError: code "OUTSIDE_SERVICE_AREA".
    """
    if is_served(area, point):
        return point
    message = (
        f"(lng {point.lng:g}, lat {point.lat:g}) is outside the area this service covers: "
        f"{area.description}."
    )
    if abs(point.lng) <= 90.0:
        swapped = LngLat(lng=point.lat, lat=point.lng)
        if is_served(area, swapped):
            message += (
                f" Latitude and longitude swapped? (lng {swapped.lng:g}, lat {swapped.lat:g}) "
                "is inside."
            )
    raise GeoValidationError("OUTSIDE_SERVICE_AREA", message)

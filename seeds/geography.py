"""Real Yvelines geography for the seeds: commune polygons, town halls, random homes inside them.

The files in `seeds/data/` are RFC 7946 GeoJSON in WGS84 [longitude, latitude]; see
`seeds/README.md` for their sources, licences and the attribution they require.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely import MultiPolygon, contains_xy, prepare

from geo.boundaries import geojson_to_multipolygon
from geo.coords import LngLat

DATA_DIR = Path(__file__).parent / "data"
COMMUNES_78 = DATA_DIR / "communes-78-yvelines.geojson"
MAIRIES_78 = DATA_DIR / "mairies-78-yvelines.geojson"

MAX_COMMUNE_AREA_M2 = 500e6
"""The API's own ceiling for a drawn boundary; the largest Yvelines commune is far below it."""

COORDINATE_DECIMALS = 6
"""About 0.1 m: enough for a home, and short, exactly reproducible numbers in the database."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Commune:
    """A commune as the seeds need it; `boundary` is checked like a boundary sent to the API."""

    code: str
    name: str
    population: int
    boundary: MultiPolygon


def read_features(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        collection: dict[str, Any] = json.load(file)
    features: list[dict[str, Any]] = collection["features"]
    return features


def read_communes(codes: Collection[str], *, path: Path = COMMUNES_78) -> dict[str, Commune]:
    """The communes with these INSEE codes, keyed by code.

    Raises:
        KeyError: a code is not in the file (a typo, or a commune of another département).
    """
    wanted = set(codes)
    communes = {}
    for feature in read_features(path):
        properties = feature["properties"]
        if properties["code"] not in wanted:
            continue
        communes[properties["code"]] = Commune(
            code=properties["code"],
            name=properties["nom"],
            population=int(properties["population"]),
            boundary=geojson_to_multipolygon(feature["geometry"], max_area_m2=MAX_COMMUNE_AREA_M2),
        )
    missing = wanted - communes.keys()
    if missing:
        raise KeyError(f"communes not found in {path.name}: {', '.join(sorted(missing))}")
    return communes


def read_commune_geometry(code: str, *, path: Path = COMMUNES_78) -> dict[str, Any]:
    """The raw GeoJSON geometry of one commune, as stored in the file (for comparisons)."""
    for feature in read_features(path):
        if feature["properties"]["code"] == code:
            geometry: dict[str, Any] = feature["geometry"]
            return geometry
    raise KeyError(f"commune {code} not found in {path.name}")


def read_town_hall(code: str, *, path: Path = MAIRIES_78) -> LngLat:
    """The mairie of a commune (DILA Annuaire de l'administration position)."""
    for feature in read_features(path):
        if feature["properties"]["code_commune"] == code:
            lng, lat = feature["geometry"]["coordinates"][:2]
            return LngLat(lng=float(lng), lat=float(lat))
    raise KeyError(f"no town hall for commune {code} in {path.name}")


def random_points_in(boundary: MultiPolygon, count: int, rng: random.Random) -> list[LngLat]:
    """`count` points strictly inside `boundary`, uniform in degrees, by rejection sampling.

    Uniform in lng/lat rather than in area: over a commune a few km across the difference is
    far below anything a demo shows. Coordinates are rounded before the containment test, so
    the stored point is the one that was tested; strict interior keeps homes off shared borders,
    where two neighbourhoods would both cover them.
    """
    prepare(boundary)
    min_lng, min_lat, max_lng, max_lat = boundary.bounds
    points: list[LngLat] = []
    while len(points) < count:
        lng = round(rng.uniform(min_lng, max_lng), COORDINATE_DECIMALS)
        lat = round(rng.uniform(min_lat, max_lat), COORDINATE_DECIMALS)
        if contains_xy(boundary, lng, lat):
            points.append(LngLat(lng=lng, lat=lat))
    return points

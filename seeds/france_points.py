"""France-scale synthetic households, planned with numpy and shapely 2 (no database).

Every commune of `communes-france.geojson.gz` gets households in proportion to its population
(a multinomial draw, so small villages get some too), each home strictly inside its commune's
polygon. Half the homes of a commune cluster around its chef-lieu (the town-hall point of
`communes-france-points.csv`, normal spread of 0.2·√area), the other half are uniform over the
polygon: towns are denser in the centre, and the benchmarks see that contrast.

Everything is vectorised (one draw per round for all communes at once, one `contains_xy` call)
and every random stream comes from `numpy.random.default_rng((seed, stream))`, so a seed always
gives the same plan, and changing one stream (names, say) never moves the homes.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely

from geo.cells import lnglat_to_cell
from geo.coords import LngLat
from geo.privacy import PUBLIC_OFFSET_MAX_M, PUBLIC_OFFSET_MIN_M
from seeds.geography import COORDINATE_DECIMALS, DATA_DIR
from seeds.names import SURNAMES

COMMUNES_FRANCE = DATA_DIR / "communes-france.geojson.gz"
COMMUNE_POINTS_FRANCE = DATA_DIR / "communes-france-points.csv"

CLUSTERED_SHARE = 0.5
"""Share of a commune's homes drawn around its chef-lieu rather than uniformly."""
CLUSTER_SPREAD = 0.2
"""Standard deviation of the clustered homes, as a fraction of √(commune area)."""
PROPERTIES = re.compile(r'"properties"\s*:\s*(\{[^{}]*\})')
"""A feature's properties object; flat (no nested object) in the national file."""
MAX_ROUNDS = 40
"""Rejection rounds before giving up; each round doubles the oversampling of short communes."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Draw = Callable[[IntArray, np.random.Generator], tuple[FloatArray, FloatArray]]


class Stream:
    """Independent random streams of one plan (the second half of the rng's seed)."""

    ALLOCATION = 1
    UNIFORM = 2
    CLUSTERED = 3
    DISPLACEMENT = 4
    NAMES = 5
    ORDER = 6


def rng_for(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng((seed, stream))


@dataclass(frozen=True, slots=True, kw_only=True)
class FranceCommunes:
    """All communes as parallel arrays, in file order (INSEE code order)."""

    codes: list[str]
    names: list[str]
    population: IntArray
    geometries: npt.NDArray[np.object_]
    """Shapely Polygon/MultiPolygon, lng/lat degrees, prepared for `contains_xy`."""
    centre_lng: FloatArray
    centre_lat: FloatArray
    area_km2: FloatArray

    def __len__(self) -> int:
        return len(self.codes)

    def most_populous(self, count: int) -> IntArray:
        """Indices of the `count` most populous communes; ties broken by INSEE code."""
        order = np.lexsort((np.arange(len(self)), -self.population))
        return np.sort(order[:count]).astype(np.int64)


@functools.cache
def read_france_communes(
    path: Path = COMMUNES_FRANCE, points_path: Path = COMMUNE_POINTS_FRANCE
) -> FranceCommunes:
    """Parse the national file once per process (about 2 s); callers must not mutate it.

    Geometries come from GEOS's own GeoJSON reader (`json` would spend 3 s building a million
    coordinate lists only to throw them away), properties from the flat `"properties"` objects
    of the same text, in the same feature order; the two counts are checked against each other.
    """
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        raw = handle.read()
    geometries = shapely.get_parts(shapely.from_geojson(raw))
    features = [json.loads(match) for match in PROPERTIES.findall(raw)]
    if len(geometries) != len(features):
        raise ValueError(f"{path.name}: {len(features)} properties, {len(geometries)} geometries")
    shapely.prepare(geometries)
    codes = [str(properties["code"]) for properties in features]
    centres = read_commune_points(points_path)
    missing = [code for code in codes if code not in centres]
    if missing:
        raise KeyError(f"{points_path.name} lacks communes {', '.join(missing[:5])}…")
    centre = np.array([centres[code] for code in codes], dtype=np.float64)
    return FranceCommunes(
        codes=codes,
        names=[str(properties["nom"]) for properties in features],
        population=np.array(
            [int(properties["population"] or 0) for properties in features], dtype=np.int64
        ),
        geometries=geometries,
        centre_lng=centre[:, 0],
        centre_lat=centre[:, 1],
        area_km2=centre[:, 2],
    )


def read_commune_points(path: Path) -> dict[str, tuple[float, float, float]]:
    """INSEE code → (chef-lieu lng, chef-lieu lat, area in km²)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: (float(row["lon"]), float(row["lat"]), float(row["area_km2"]))
            for row in csv.DictReader(handle)
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdPlan:
    """Households in registration order (ids 1..n); coordinates are lng/lat degrees."""

    commune: IntArray
    """Index into `FranceCommunes` of the commune each home was drawn in."""
    home_lng: FloatArray
    home_lat: FloatArray
    public_lng: FloatArray
    public_lat: FloatArray
    cells: list[str]
    names: list[str]

    def __len__(self) -> int:
        return len(self.commune)


def plan_households(
    communes: FranceCommunes, households: int, *, seed: int, resolution: int
) -> HouseholdPlan:
    """The whole synthetic population of `households` homes for `seed` (deterministic)."""
    counts = (
        rng_for(seed, Stream.ALLOCATION)
        .multinomial(households, communes.population / communes.population.sum())
        .astype(np.int64)
    )
    clustered = np.floor(counts * CLUSTERED_SHARE).astype(np.int64)
    parts = (
        sample_in_polygons(
            communes.geometries,
            counts - clustered,
            rng_for(seed, Stream.UNIFORM),
            uniform_in_bounds(communes.geometries),
            oversample=1.1 / bounds_fill_ratio(communes.geometries),
        ),
        sample_in_polygons(
            communes.geometries,
            clustered,
            rng_for(seed, Stream.CLUSTERED),
            normal_around(communes),
            oversample=np.full(len(communes), 1.3),
        ),
    )
    commune = np.concatenate([part[0] for part in parts])
    lng = np.concatenate([part[1] for part in parts])
    lat = np.concatenate([part[2] for part in parts])
    # Registration order is spatially random in real life; ids must not follow the map.
    order = rng_for(seed, Stream.ORDER).permutation(len(commune))
    commune, lng, lat = commune[order], lng[order], lat[order]
    public_lng, public_lat = displace_many(lng, lat, rng_for(seed, Stream.DISPLACEMENT))
    return HouseholdPlan(
        commune=commune,
        home_lng=lng,
        home_lat=lat,
        public_lng=public_lng,
        public_lat=public_lat,
        cells=[
            lnglat_to_cell(LngLat(lng=x, lat=y), resolution)
            for x, y in zip(lng.tolist(), lat.tolist(), strict=True)
        ],
        names=household_names(rng_for(seed, Stream.NAMES), len(commune)),
    )


def bounds_fill_ratio(geometries: npt.NDArray[np.object_]) -> FloatArray:
    """Share of each bounding box the polygon fills: the acceptance rate of uniform draws."""
    bounds = shapely.bounds(geometries)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    ratio: FloatArray = np.clip(shapely.area(geometries) / box_area, 0.005, 1.0)
    return ratio


def uniform_in_bounds(geometries: npt.NDArray[np.object_]) -> Draw:
    """Uniform in lng/lat over each bounding box (uniform in area to 0.1 % within a commune)."""
    bounds = shapely.bounds(geometries)

    def draw(owner: IntArray, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        box = bounds[owner]
        lng = box[:, 0] + rng.random(len(owner)) * (box[:, 2] - box[:, 0])
        lat = box[:, 1] + rng.random(len(owner)) * (box[:, 3] - box[:, 1])
        return lng, lat

    return draw


def normal_around(communes: FranceCommunes) -> Draw:
    """Normal around each chef-lieu, σ = CLUSTER_SPREAD·√area, in metres turned into degrees."""
    sigma_m = CLUSTER_SPREAD * np.sqrt(communes.area_km2 * 1e6)
    sigma_lat = sigma_m / metres_per_degree_lat(communes.centre_lat)
    sigma_lng = sigma_m / metres_per_degree_lng(communes.centre_lat)

    def draw(owner: IntArray, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        lng = communes.centre_lng[owner] + rng.standard_normal(len(owner)) * sigma_lng[owner]
        lat = communes.centre_lat[owner] + rng.standard_normal(len(owner)) * sigma_lat[owner]
        return lng, lat

    return draw


def sample_in_polygons(
    geometries: npt.NDArray[np.object_],
    need: IntArray,
    rng: np.random.Generator,
    draw: Draw,
    *,
    oversample: FloatArray,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """`need[i]` points strictly inside `geometries[i]` for every i, by rejection sampling.

    Each round draws, for every commune still short, `remaining × oversample` candidates in one
    array, rounds them to the stored precision *before* testing (so the stored point is the
    tested one), keeps the first `remaining` inside, and doubles the oversampling of communes
    that are still short. Returns (commune index, lng, lat), grouped by round then commune.

    Raises:
        RuntimeError: a commune still lacks points after MAX_ROUNDS (an empty polygon).
    """
    remaining = need.astype(np.int64).copy()
    factor = oversample.astype(np.float64).copy()
    found: list[tuple[IntArray, FloatArray, FloatArray]] = []
    for _ in range(MAX_ROUNDS):
        active = np.flatnonzero(remaining)
        if active.size == 0:
            break
        draws = np.ceil(remaining[active] * factor[active]).astype(np.int64) + 2
        owner = np.repeat(active, draws)
        lng, lat = draw(owner, rng)
        lng = np.round(lng, COORDINATE_DECIMALS)
        lat = np.round(lat, COORDINATE_DECIMALS)
        inside = shapely.contains_xy(geometries[owner], lng, lat)
        owner, lng, lat = owner[inside], lng[inside], lat[inside]
        # `owner` is sorted: a point's rank among its commune's hits is its offset in the run.
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
        keep = rank < remaining[owner]
        found.append((owner[keep], lng[keep], lat[keep]))
        remaining -= np.bincount(owner[keep], minlength=len(remaining))
        factor[remaining > 0] *= 2.0
    if remaining.any():
        short = np.flatnonzero(remaining)[:5].tolist()
        raise RuntimeError(f"could not place homes inside communes at indices {short}")
    return (
        np.concatenate([part[0] for part in found]) if found else np.zeros(0, np.int64),
        np.concatenate([part[1] for part in found]) if found else np.zeros(0),
        np.concatenate([part[2] for part in found]) if found else np.zeros(0),
    )


def metres_per_degree_lat(lat: FloatArray) -> FloatArray:
    """Length of one degree of latitude at `lat` on WGS84 (series to 0.01 m)."""
    phi = np.radians(lat)
    result: FloatArray = 111_132.92 - 559.82 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)
    return result


def metres_per_degree_lng(lat: FloatArray) -> FloatArray:
    """Length of one degree of longitude at `lat` on WGS84 (series to 0.01 m)."""
    phi = np.radians(lat)
    result: FloatArray = 111_412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi)
    return result


def displace_many(
    lng: FloatArray,
    lat: FloatArray,
    rng: np.random.Generator,
    *,
    min_m: float = PUBLIC_OFFSET_MIN_M,
    max_m: float = PUBLIC_OFFSET_MAX_M,
) -> tuple[FloatArray, FloatArray]:
    """`geo.privacy.displace` for a million points: same annulus, uniform over its area.

    The offset is turned into degrees with the local metres-per-degree at the home's latitude
    instead of a geodesic `fwd` per point: over 400 m the flat approximation is off by
    centimetres, and it is 100 times faster. The generator is seeded, which is right for
    synthetic data only: real households get `displace`, drawn from the system generator.
    """
    bearing = rng.uniform(0.0, 2.0 * np.pi, len(lng))
    distance_m = np.sqrt(min_m**2 + rng.random(len(lng)) * (max_m**2 - min_m**2))
    public_lat = lat + distance_m * np.cos(bearing) / metres_per_degree_lat(lat)
    public_lng = lng + distance_m * np.sin(bearing) / metres_per_degree_lng(lat)
    return (
        np.round(public_lng, COORDINATE_DECIMALS),
        np.round(public_lat, COORDINATE_DECIMALS),
    )


def household_names(rng: np.random.Generator, count: int) -> list[str]:
    """Names like "Famille Martin", from the frequent French surnames of `seeds.names`."""
    labels = [f"Famille {surname}" for surname in SURNAMES]
    return [labels[i] for i in rng.integers(0, len(labels), count).tolist()]

"""Communes by INSEE code, so that a search can start from a commune instead of a point.

The point of a commune is its town hall (`point_source` mairie, 33,004 communes), else the
GeoNames chef-lieu, else a point inside its polygon: the `lon, lat` columns of
`seeds/data/communes-france-points.csv` (34,871 communes of metropolitan France and the overseas
départements, COG 2026; see /work/shared/data/README.md for the sources and licences). The file
is read once per process, on the first search by commune (about 60 ms, 3 MB of Python objects),
and is immutable afterwards: a constant, not a cache of the database.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from geo.coords import LngLat

COMMUNE_POINTS = (
    Path(__file__).resolve().parent.parent / "seeds" / "data" / "communes-france-points.csv"
)


@dataclass(frozen=True, slots=True)
class Commune:
    code: str
    name: str
    point: LngLat
    """The town hall, or the chef-lieu, or a point inside the commune (lng/lat degrees)."""


@functools.cache
def communes_by_code() -> dict[str, Commune]:
    with COMMUNE_POINTS.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: Commune(
                row["code"], row["nom"], LngLat(lng=float(row["lon"]), lat=float(row["lat"]))
            )
            for row in csv.DictReader(handle)
        }


def commune_by_code(code: str) -> Commune | None:
    """The commune of an INSEE code ("78152" is Chavenay; Corsica's start 2A/2B), or None."""
    return communes_by_code().get(code.strip().upper())

"""Bulk geography: import neighbourhood polygons, reassign every household.

The bulk path computes the same rule as `queries.neighbourhoods.assign_point`, set-wise: polygons
are cut with `ST_Subdivide` into small parts (a point-in-polygon test on ~64 vertices instead of
thousands), joined to the homes through a GiST index, and the smallest/oldest covering polygon kept
with `DISTINCT ON`. Homes no polygon covers fall back to their H3 cell's neighbourhood.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import create_engine
from db.queries.neighbourhoods import (
    ensure_cell_neighbourhoods,
    lock_boundaries,
)
from geo.boundaries import geojson_to_multipolygon, multipolygon_to_geojson
from geo.errors import GeoValidationError

SUBDIVIDE_VERTICES = 64

POLYGON_PARTS = text(
    """
    CREATE TEMP TABLE polygon_parts ON COMMIT DROP AS
    SELECT id, area_m2, created_at, ST_Subdivide(boundary, :vertices) AS geom
      FROM neighbourhoods WHERE kind = 'POLYGON'
    """
)
POLYGON_PARTS_INDEX = text("CREATE INDEX ON polygon_parts USING gist (geom)")
COVERED = text(
    """
    CREATE TEMP TABLE assignment ON COMMIT DROP AS
    SELECT DISTINCT ON (h.id) h.id, p.id AS neighbourhood_id
      FROM households h JOIN polygon_parts p ON ST_Covers(p.geom, h.home_location)
     ORDER BY h.id, p.area_m2, p.created_at, p.id
    """
)
UNCOVERED_CELLS = text(
    """
    SELECT DISTINCT h.h3_cell FROM households h
     WHERE NOT EXISTS (SELECT 1 FROM assignment a WHERE a.id = h.id)
    """
)
CELL_FALLBACK = text(
    """
    INSERT INTO assignment (id, neighbourhood_id)
    SELECT h.id, n.id FROM households h
      JOIN neighbourhoods n ON n.kind = 'H3_CELL' AND n.h3_cell = h.h3_cell
     WHERE NOT EXISTS (SELECT 1 FROM assignment a WHERE a.id = h.id)
    """
)
APPLY = text(
    """
    UPDATE households h SET neighbourhood_id = a.neighbourhood_id
      FROM assignment a
     WHERE h.id = a.id AND h.neighbourhood_id <> a.neighbourhood_id
    """
)


async def reassign_all_in(
    conn: AsyncConnection, *, step: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Reassign every household inside the caller's transaction; returns counts."""
    await lock_boundaries(conn, exclusive=True)
    await conn.execute(POLYGON_PARTS, {"vertices": SUBDIVIDE_VERTICES})
    await conn.execute(POLYGON_PARTS_INDEX)
    await conn.execute(text("ANALYZE polygon_parts"))
    step("polygons subdivided")
    await conn.execute(COVERED)
    covered = (await conn.execute(text("SELECT count(*) FROM assignment"))).scalar_one()
    step("homes matched to polygons")
    cells = [row[0] for row in (await conn.execute(UNCOVERED_CELLS)).all()]
    await ensure_cell_neighbourhoods(conn, cells)
    await conn.execute(CELL_FALLBACK)
    step("cells ensured")
    moved = (await conn.execute(APPLY)).rowcount
    step("households updated")
    total = (await conn.execute(text("SELECT count(*) FROM households"))).scalar_one()
    return {
        "households": int(total),
        "in_polygons": int(covered),
        "in_cells": int(total) - int(covered),
        "cells": len(cells),
        "moved": int(moved),
    }


async def reassign_all(database_url: str, *, resolution: int) -> dict[str, int]:
    """Command-line entry: one transaction, a progress bar per stage."""
    del resolution  # each household's cell was fixed at registration
    engine = create_engine(database_url, pool_size=1)
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("reassigning", total=4)

            def step(label: str) -> None:
                progress.update(task, advance=1, description=label)

            async with engine.begin() as conn:
                return await reassign_all_in(conn, step=step)
    finally:
        await engine.dispose()


def read_features(path: Path) -> list[dict[str, Any]]:
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        collection = json.load(handle)
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise ValueError(f"{path} is not a GeoJSON FeatureCollection")
    return list(collection.get("features", []))


async def import_neighbourhoods(
    database_url: str,
    path: Path,
    *,
    name_property: str,
    code_property: str | None,
    max_area_m2: float,
) -> dict[str, int]:
    """Create a POLYGON neighbourhood per valid feature, then reassign everyone, in one transaction.

    Invalid features are skipped and counted, not fatal: a national file always has a few.
    """
    features = read_features(path)
    started = time.perf_counter()
    created = skipped = 0
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            with Progress(transient=True) as progress:
                task = progress.add_task("importing polygons", total=len(features))
                for feature in features:
                    progress.advance(task)
                    properties = feature.get("properties") or {}
                    try:
                        boundary = geojson_to_multipolygon(
                            feature.get("geometry"), max_area_m2=max_area_m2
                        )
                    except GeoValidationError:
                        skipped += 1
                        continue
                    code = properties.get(code_property) if code_property else None
                    await create_polygon_neighbourhood_fast(
                        conn,
                        name=str(properties.get(name_property) or "Sans nom")[:120],
                        boundary_geojson=json.dumps(multipolygon_to_geojson(boundary)),
                        commune_code=str(code)[:5] if code else None,
                    )
                    created += 1
            counts = await reassign_all_in(conn)
    finally:
        await engine.dispose()
    return {
        "created": created,
        "skipped": skipped,
        **counts,
        "seconds": round(time.perf_counter() - started),
    }


INSERT_POLYGON = text(
    """
    INSERT INTO neighbourhoods (name, kind, boundary, commune_code)
    VALUES (:name, 'POLYGON', ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:boundary), 4326)), :code)
    """
)


async def create_polygon_neighbourhood_fast(
    conn: AsyncConnection, *, name: str, boundary_geojson: str, commune_code: str | None
) -> None:
    """Insert without per-polygon reassignment: the import reassigns everyone once at the end."""
    await conn.execute(
        INSERT_POLYGON, {"name": name, "boundary": boundary_geojson, "code": commune_code}
    )

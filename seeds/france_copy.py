"""COPY encoders and index juggling for the France load.

Geometries travel as hex EWKB (`SRID=4326` embedded), which PostGIS's geometry input reads
without parsing any text coordinates; points are packed for a whole array at once with numpy.
Households go as COPY text in chunks of `CHUNK_ROWS`, so the client never holds the million
lines at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import psycopg
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from seeds.france_points import FranceCommunes, HouseholdPlan

CHUNK_ROWS = 50_000
SRID = 4326
EWKB_POINT = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)
"""Little-endian EWKB of a 2D point with an SRID: 25 bytes, 50 hex characters."""
EWKB_POINT_WITH_SRID = 0x20000001

SECONDARY_INDEXES = text(
    """
    SELECT i.relname, pg_get_indexdef(x.indexrelid)
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
     WHERE x.indrelid = CAST(:table AS regclass)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
     ORDER BY i.relname
    """
)
FOREIGN_KEYS = text(
    """
    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
     WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'
     ORDER BY conname
    """
)


def points_to_ewkb_hex(lng: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> list[str]:
    """Hex EWKB of each (lng, lat) point, x = longitude as in every PostGIS geometry."""
    packed = np.zeros(len(lng), dtype=EWKB_POINT)
    packed["order"] = 1
    packed["type"] = EWKB_POINT_WITH_SRID
    packed["srid"] = SRID
    packed["x"] = lng
    packed["y"] = lat
    encoded = packed.tobytes().hex()
    width = 2 * EWKB_POINT.itemsize
    return [encoded[start : start + width] for start in range(0, len(encoded), width)]


def copy_text(value: str) -> str:
    """Escape a value for COPY's text format (the seeds' names have none of these, but safe)."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


async def driver_connection(conn: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under SQLAlchemy's, in the same transaction, for COPY."""
    raw = await conn.get_raw_connection()
    return cast(psycopg.AsyncConnection[Any], raw.driver_connection)


async def copy_polygon_neighbourhoods(
    conn: AsyncConnection,
    communes: FranceCommunes,
    indices: npt.NDArray[np.int64],
    advance: Callable[[int], None],
) -> int:
    """One POLYGON neighbourhood per commune in `indices`, boundary promoted to MultiPolygon."""
    geometries = communes.geometries[indices].copy()
    single = shapely.get_type_id(geometries) == shapely.GeometryType.POLYGON
    geometries[single] = shapely.multipolygons(geometries[single][:, np.newaxis])
    hexes = shapely.to_wkb(
        shapely.set_srid(geometries, SRID), hex=True, include_srid=True, output_dimension=2
    )
    raw = await driver_connection(conn)
    async with raw.cursor() as cursor:
        statement = "COPY neighbourhoods (name, kind, boundary, commune_code) FROM STDIN"
        async with cursor.copy(statement) as copy:
            for index, boundary in zip(indices.tolist(), hexes.tolist(), strict=True):
                await copy.write_row(
                    (communes.names[index], "POLYGON", boundary, communes.codes[index])
                )
    advance(len(indices))
    return len(indices)


async def copy_households(
    conn: AsyncConnection,
    table_name: str,
    plan: HouseholdPlan,
    advance: Callable[[int], None],
) -> None:
    """Stream the plan into `table_name`(id, name, home_location, public_location, h3_cell).

    Ids are 1..n in plan order, so household `k` of the plan is row `id = k + 1`.
    """
    homes = points_to_ewkb_hex(plan.home_lng, plan.home_lat)
    publics = points_to_ewkb_hex(plan.public_lng, plan.public_lat)
    raw = await driver_connection(conn)
    quoted = conn.dialect.identifier_preparer.quote(table_name)
    async with raw.cursor() as cursor:
        statement = f"COPY {quoted} (id, name, home_location, public_location, h3_cell) FROM STDIN"
        async with cursor.copy(statement) as copy:
            for start in range(0, len(plan), CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, len(plan))
                lines = [
                    f"{start + offset + 1}\t{copy_text(name)}\t{home}\t{public}\t{cell}\n"
                    for offset, (name, home, public, cell) in enumerate(
                        zip(
                            plan.names[start:stop],
                            homes[start:stop],
                            publics[start:stop],
                            plan.cells[start:stop],
                            strict=True,
                        )
                    )
                ]
                await copy.write("".join(lines).encode())
                advance(stop - start)


async def drop_secondary_indexes(conn: AsyncConnection, table_name: str) -> list[str]:
    """Drop `table_name`'s non-constraint indexes and its foreign keys; return the DDL to redo.

    A bulk INSERT into a bare heap, then one sorted index build each, is several times faster
    than maintaining two GiST indexes row by row. The primary key stays: other tables
    reference it, and appending increasing ids to a B-tree is cheap. The DDL is the server's
    own (`pg_get_indexdef`, `pg_get_constraintdef`), so whatever the migrations declare is
    rebuilt exactly, indexes first, then foreign keys (the "build indexes" stage runs it).
    """
    quote = conn.dialect.identifier_preparer.quote
    params = {"table": table_name}
    indexes = (await conn.execute(SECONDARY_INDEXES, params)).all()
    foreign_keys = (await conn.execute(FOREIGN_KEYS, params)).all()
    redo: list[str] = []
    for name, definition in foreign_keys:
        await conn.execute(text(f"ALTER TABLE {quote(table_name)} DROP CONSTRAINT {quote(name)}"))
        redo.append(f"ALTER TABLE {quote(table_name)} ADD CONSTRAINT {quote(name)} {definition}")
    for name, definition in indexes:
        await conn.execute(text(f"DROP INDEX {quote(name)}"))
        redo.insert(0, str(definition))
    return redo

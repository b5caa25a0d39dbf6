"""Bulk geography: import neighbourhood polygons, reassign every household.

These are operator tools (the command line, run by an admin; no API request reaches them), and
unlike a boundary drawn through the API they *move* households: every home goes where the rule
puts it, and every pending proposal to move (`neighbourhood_moves`) is withdrawn, since each
household is then where its home belongs. docs/neighbourhoods.md, "Bulk tools".

The bulk path computes the rule of a registration (`queries.households.REGISTER`), set-wise:
polygons are cut with `ST_Subdivide` into small parts (a point-in-polygon test on ~64 vertices
instead of thousands), joined to the homes through a GiST index, and the smallest/oldest covering
polygon kept with `DISTINCT ON`. Homes no polygon covers fall back to their H3 cell's
neighbourhood.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import shapely
from rich.progress import Progress
from sqlalchemy import TableClause, TextClause, column, insert, null, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import create_engine
from db.models import Household
from db.queries.neighbourhoods import CELL_NAME_PREFIX, lock_boundaries
from geo.boundaries import geojson_to_multipolygon, multipolygon_to_geojson
from geo.cells import cell_to_multipolygon
from geo.errors import GeoValidationError

SUBDIVIDE_VERTICES = 64
ASSIGNMENT_SETTINGS = {
    "work_mem": "256MB",  # sort a million (home, polygon) matches in memory, not on disk
    "jit": "off",  # the planner's cost estimate is huge, so JIT would spend ~0.6 s compiling
}
"""Set for the caller's transaction only (`set_config(..., true)` is `SET LOCAL`)."""


class WorkTables:
    """The names of the two inputs of the polygon match, private to one transaction.

    They are UNLOGGED tables, not temporary ones: PostgreSQL's parallel workers cannot read a
    session's temporary tables, and the match is the one step that splits well over the
    cores (parts scanned in parallel, each worker probing the homes' index). Created inside
    the caller's transaction and dropped before `assign_homes` returns, they are never
    visible to another session, vanish with a rollback, and cost no WAL; the transaction id
    in their names keeps two loads (which hold no common lock) apart. Creating them needs the
    CREATE privilege on the schema, which the role that runs migrations has: the bulk commands
    and the France loader are operator tools, and no API request reaches this code.
    """

    def __init__(self, transaction_id: int) -> None:
        transaction_id = int(transaction_id)  # the only variable part of the SQL below
        self.parts = f"assignment_parts_{transaction_id}"
        self.homes = f"assignment_homes_{transaction_id}"

    def homes_table(self) -> TableClause:
        return table(
            self.homes,
            column("id"),
            column("home_location"),
            column("h3_cell"),
            column("current_id"),
        )

    def create_parts(self) -> TextClause:
        return text(
            f"""
            CREATE UNLOGGED TABLE {self.parts} AS
            SELECT id, area_m2, created_at, ST_Subdivide(boundary, :vertices) AS geom
              FROM neighbourhoods WHERE kind = 'POLYGON'
            """  # noqa: S608 (names from an integer)
        )

    def create_homes(self) -> TextClause:
        return text(
            f"""
            CREATE UNLOGGED TABLE {self.homes} (
                id bigint NOT NULL,
                home_location geometry(Point, 4326) NOT NULL,
                h3_cell varchar(16) NOT NULL,
                current_id bigint
            )
            """
        )

    def index_homes(self) -> TextClause:
        return text(f"CREATE INDEX ON {self.homes} USING gist (home_location)")

    def covered(self) -> TextClause:
        """The smallest, then oldest, polygon covering each home.

        The parts have no index on purpose: the only indexed way to join is then parts outside,
        each probing the homes' GiST index, and that plan runs in parallel. (With an index on
        both sides the planner may probe the parts' index once per home, ~25 µs each; an
        `OFFSET 0` fence would force the order but makes the subquery parallel-unsafe.)
        """
        return text(
            f"""
            CREATE TEMP TABLE assignment ON COMMIT DROP AS
            SELECT DISTINCT ON (h.id) h.id, p.id AS neighbourhood_id, h.current_id
              FROM {self.parts} p JOIN {self.homes} h ON ST_Covers(p.geom, h.home_location)
             ORDER BY h.id, p.area_m2, p.created_at, p.id
            """  # noqa: S608 (names from an integer)
        )

    def uncovered(self, *, everyone_covered: bool) -> TextClause:
        """Homes without a polygon (their H3 cell decides); none when `everyone_covered`."""
        condition = "false" if everyone_covered else "true"
        return text(
            f"""
            CREATE TEMP TABLE uncovered ON COMMIT DROP AS
            SELECT h.id, h.h3_cell, h.current_id FROM {self.homes} h
             WHERE {condition} AND NOT EXISTS (SELECT 1 FROM assignment a WHERE a.id = h.id)
            """  # noqa: S608 (names from an integer)
        )

    def drop(self) -> TextClause:
        return text(f"DROP TABLE {self.parts}, {self.homes}")


TRANSACTION_ID = text("SELECT pg_current_xact_id()::text::bigint")
UNCOVERED_CELLS = text("SELECT count(DISTINCT h3_cell) FROM uncovered")
MISSING_CELLS = text(
    """
    SELECT DISTINCT u.h3_cell FROM uncovered u
     WHERE NOT EXISTS (
           SELECT 1 FROM neighbourhoods n WHERE n.kind = 'H3_CELL' AND n.h3_cell = u.h3_cell
           )
    """
)
CELL_FALLBACK = text(
    """
    INSERT INTO assignment (id, neighbourhood_id, current_id)
    SELECT u.id, n.id, u.current_id FROM uncovered u
      JOIN neighbourhoods n ON n.kind = 'H3_CELL' AND n.h3_cell = u.h3_cell
    """
)
CREATE_CELLS = text(
    """
    INSERT INTO neighbourhoods (name, kind, h3_cell, boundary)
    SELECT :prefix || ' ' || c.cell, 'H3_CELL', c.cell, ST_GeomFromEWKB(c.boundary)
      FROM unnest(CAST(:cells AS text[]), CAST(:boundaries AS bytea[])) AS c(cell, boundary)
    ON CONFLICT (h3_cell) WHERE kind = 'H3_CELL' DO NOTHING
    """
)
MOVES = text(
    """
    CREATE TEMP TABLE moves ON COMMIT DROP AS
    SELECT id, neighbourhood_id FROM assignment
     WHERE neighbourhood_id IS DISTINCT FROM current_id
    """
)
WRITER_SETS_MEMBERSHIP = text("SELECT set_config('voisinage.membership_set_by_writer', 'on', true)")
TRIGGER_SETS_MEMBERSHIP = text("SELECT set_config('voisinage.membership_set_by_writer', '', true)")
"""WRITER_SETS_MEMBERSHIP skips the per-row arrival trigger for this transaction (migration 0009): the statements
below write its columns set-wise, by the same rule (PENDING under an APPROVAL policy, else
APPROVED; a new request time; no decision)."""
APPLY = text(
    """
    UPDATE households h
       SET neighbourhood_id = m.neighbourhood_id,
           membership_status = CASE n.membership_policy
                                 WHEN 'APPROVAL' THEN 'PENDING' ELSE 'APPROVED' END,
           membership_requested_at = now(),
           membership_decided_at = NULL,
           membership_decided_by_account_id = NULL,
           membership_decline_reason = NULL
      FROM moves m JOIN neighbourhoods n ON n.id = m.neighbourhood_id
     WHERE h.id = m.id AND h.neighbourhood_id <> m.neighbourhood_id
    """
)

WITHDRAW_ALL_MOVES = text("DELETE FROM neighbourhood_moves")
"""After a full reassignment every household is where the rule puts its home: no proposal is left
to make (a declined one included: the operator's reassignment overrides it)."""

HOUSEHOLD_HOMES: TableClause = Household.__table__  # type: ignore[assignment]


async def assign_homes(
    conn: AsyncConnection, homes: TableClause, *, step: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Fill the temp table `assignment(id, neighbourhood_id, current_id)` for every row of `homes`.

    `homes` is any relation with `id`, `home_location` and `h3_cell` (the households table, or
    a loader's staging table), so a bulk load assigns with exactly the rule of a reassignment;
    `current_id` is the home's neighbourhood now when `homes` has a `neighbourhood_id` column
    (NULL otherwise), carried along so the movers are known without joining `households` again.
    The caller holds the exclusive boundary lock; the temp tables go at commit.

    Why it is shaped this way (a million homes, ~37,000 polygon parts):
    - The homes are copied to a narrow table in `ORDER BY home_location` (PostGIS sorts
      geometries along a Hilbert curve) with its own GiST index: the homes one polygon part
      covers then sit on a few neighbouring pages instead of one page each.
    - Homes are found per polygon part through that index, not the other way round: probing
      the parts' index once per home costs ~25 µs (every entry of each visited page is
      tested), while probing the homes' index once per part, testing its candidates against
      one cached polygon, takes a few seconds in all, and splits over parallel workers
      (`WorkTables`: 5.4 s alone, 2.9 s with one worker, for all 34,871 communes).
    - `assignment` is analysed before it is joined, and the cell fallback starts from the
      uncovered homes instead of an anti-join: with fresh statistics missing (neighbourhoods
      full of cells a moment ago), an anti-join planned as a nested loop never finishes.
    - Only cells without a neighbourhood are created, by `create_cell_neighbourhoods`.
    """
    for name, value in ASSIGNMENT_SETTINGS.items():
        await conn.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )
    work = WorkTables(int((await conn.execute(TRANSACTION_ID)).scalar_one()))
    await conn.execute(work.create_parts(), {"vertices": SUBDIVIDE_VERTICES})
    await conn.execute(text(f"ANALYZE {work.parts}"))
    await conn.execute(work.create_homes())
    current = homes.c.neighbourhood_id if "neighbourhood_id" in homes.c else null()
    copy = insert(work.homes_table()).from_select(
        ["id", "home_location", "h3_cell", "current_id"],
        select(homes.c.id, homes.c.home_location, homes.c.h3_cell, current).order_by(
            homes.c.home_location
        ),
    )
    # SQLAlchemy reports an INSERT's row count only when asked to keep it.
    copied = (await conn.execute(copy.execution_options(preserve_rowcount=True))).rowcount
    await conn.execute(work.index_homes())
    await conn.execute(text(f"ANALYZE {work.homes}"))
    step("polygons subdivided")
    covered = (await conn.execute(work.covered())).rowcount
    await conn.execute(text("ANALYZE assignment"))
    step("homes matched to polygons")
    # Where polygons cover every home (a national import), the anti-join (~1 s) finds nobody.
    await conn.execute(work.uncovered(everyone_covered=covered == copied))
    await conn.execute(work.drop())
    cells = int((await conn.execute(UNCOVERED_CELLS)).scalar_one())
    missing = sorted(str(cell) for cell in (await conn.execute(MISSING_CELLS)).scalars())
    await create_cell_neighbourhoods(conn, missing)
    await conn.execute(CELL_FALLBACK)
    await conn.execute(text("ANALYZE assignment"))
    step("cells ensured")
    return {
        "homes": copied,
        "in_polygons": int(covered),
        "cells": cells,
        "new_cells": len(missing),
    }


async def create_cell_neighbourhoods(conn: AsyncConnection, cells: Sequence[str]) -> None:
    """`ensure_cell_neighbourhoods` for tens of thousands of cells: the same rows (name, kind,
    `cell_to_multipolygon` boundary) and the same `ON CONFLICT DO NOTHING`, in one statement.

    The row-per-VALUES insert needs 5 bound values per cell, so a national import (~60,000
    cells) would exceed the 65,535 parameters of a statement, and compiling it takes longer
    than inserting: two arrays travel as two parameters instead.
    """
    if not cells:
        return
    boundaries = shapely.to_wkb(
        shapely.set_srid([cell_to_multipolygon(cell) for cell in cells], 4326),
        include_srid=True,
    )
    await conn.execute(
        CREATE_CELLS,
        {"prefix": CELL_NAME_PREFIX, "cells": list(cells), "boundaries": boundaries.tolist()},
    )


async def reassign_all_in(
    conn: AsyncConnection, *, step: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Reassign every household inside the caller's transaction (moving them: an operator's
    tool, not a drawing), withdraw every pending proposal; returns counts.

    Only the movers are written (`moves`: assignment differs from the current neighbourhood),
    joined by id: each written row costs a new tuple, an entry in every index of `households`
    and a foreign-key check, so a home that stays must not be touched at all.
    """
    await lock_boundaries(conn, exclusive=True)
    counts = await assign_homes(conn, HOUSEHOLD_HOMES, step=step)
    await conn.execute(MOVES)
    await conn.execute(text("ANALYZE moves"))
    await conn.execute(WRITER_SETS_MEMBERSHIP)
    moved = (await conn.execute(APPLY)).rowcount
    await conn.execute(TRIGGER_SETS_MEMBERSHIP)  # later writes in the caller's transaction
    await conn.execute(WITHDRAW_ALL_MOVES)
    step("households updated")
    total = counts["homes"]
    return {
        "households": total,
        "in_polygons": counts["in_polygons"],
        "in_cells": total - counts["in_polygons"],
        "cells": counts["cells"],
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

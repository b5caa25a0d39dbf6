"""The France profile on a real PostGIS, at 3,000 households: deterministic, homes inside their
commune, the 6,500 largest communes as networks, and the same assignment as one-by-one."""

from __future__ import annotations

import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.bulk import reassign_all_in
from db.queries.neighbourhoods import cell_neighbourhood_id, covering_polygon_id
from geo.cells import lnglat_to_cell
from geo.coords import LngLat
from seeds.france import NETWORK_COMMUNES, load_france
from seeds.france_points import plan_households, read_france_communes

HOUSEHOLDS = 3_000
SEED = 7
RESOLUTION = 7

HOMES = text(
    """
    SELECT h.id, h.name, ST_X(h.home_location) AS lng, ST_Y(h.home_location) AS lat,
           ST_AsText(h.public_location) AS public, h.h3_cell, h.neighbourhood_id, n.kind
      FROM households h JOIN neighbourhoods n ON n.id = h.neighbourhood_id
     ORDER BY h.id
    """
)


async def homes(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(HOMES)]


async def loaded(engine: AsyncEngine, database_url: str) -> list[tuple[object, ...]]:
    await load_france(
        database_url, households=HOUSEHOLDS, seed=SEED, progress=False, resolution=RESOLUTION
    )
    return await homes(engine)


async def test_same_seed_loads_identical_households(
    clean_db: AsyncEngine, database_url: str
) -> None:
    first = await loaded(clean_db, database_url)
    second = await loaded(clean_db, database_url)
    assert len(first) == HOUSEHOLDS
    assert first == second


async def test_every_home_lies_inside_its_commune_with_its_own_cell(
    clean_db: AsyncEngine, database_url: str
) -> None:
    rows = await loaded(clean_db, database_url)
    communes = read_france_communes()
    plan = plan_households(communes, HOUSEHOLDS, seed=SEED, resolution=RESOLUTION)
    lng = [float(row[2]) for row in rows]  # type: ignore[arg-type]
    lat = [float(row[3]) for row in rows]  # type: ignore[arg-type]
    assert lng == plan.home_lng.tolist() and lat == plan.home_lat.tolist()
    assert shapely.contains_xy(communes.geometries[plan.commune], lng, lat).all()
    assert [row[5] for row in rows] == [
        lnglat_to_cell(LngLat(lng=x, lat=y), RESOLUTION) for x, y in zip(lng, lat, strict=True)
    ]
    # Households reach villages too, not only the networks' towns.
    assert len(set(plan.commune.tolist())) > 1_500


async def test_the_most_populous_communes_are_the_polygon_networks(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await loaded(clean_db, database_url)
    async with clean_db.connect() as conn:
        codes = {
            str(code)
            for code in (
                await conn.execute(
                    text("SELECT commune_code FROM neighbourhoods WHERE kind = 'POLYGON'")
                )
            ).scalars()
        }
    communes = read_france_communes()
    assert len(codes) == NETWORK_COMMUNES == 6_500
    assert codes == {communes.codes[i] for i in communes.most_populous(NETWORK_COMMUNES)}
    assert {"75056", "13055", "69123"} <= codes  # Paris, Marseille, Lyon
    assert "78196" not in codes  # Davron, a village of a few hundred, is below the cut


async def test_bulk_assignment_equals_the_one_by_one_rule(
    clean_db: AsyncEngine, database_url: str
) -> None:
    rows = await loaded(clean_db, database_url)
    sample = [row for row in rows if row[7] == "POLYGON"][:25]
    sample += [row for row in rows if row[7] == "H3_CELL"][:25]
    assert len(sample) == 50
    async with clean_db.connect() as conn:
        for _id, _name, lng, lat, _public, cell, neighbourhood_id, _kind in sample:
            point = LngLat(lng=float(lng), lat=float(lat))  # type: ignore[arg-type]
            one_by_one = await covering_polygon_id(conn, point)
            if one_by_one is None:
                one_by_one = await cell_neighbourhood_id(conn, str(cell))
            assert one_by_one == neighbourhood_id


async def test_reassigning_everyone_after_the_load_moves_nobody(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await loaded(clean_db, database_url)
    async with clean_db.connect() as conn:
        counts = await reassign_all_in(conn)
        await conn.rollback()
    assert counts["households"] == HOUSEHOLDS
    assert counts["moved"] == 0
    assert 0 < counts["in_cells"] < counts["in_polygons"]

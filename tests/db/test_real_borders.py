"""Assignment on real commune borders, and the bulk import command, on real PostGIS."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.bulk import import_neighbourhoods
from db.queries.households import register_household
from db.queries.neighbourhoods import create_polygon_neighbourhood
from geo.boundaries import geojson_to_multipolygon
from geo.coords import LngLat
from seeds.geography import read_communes

CHAVENAY, VILLEPREUX = "78152", "78674"
SHARED_VERTEX = LngLat(lng=2.0016, lat=48.84395)
"""A vertex of Chavenay's polygon that lies on Villepreux's boundary too (from the IGN data)."""
YVELINES = Path(__file__).resolve().parents[2] / "seeds" / "data" / "communes-78-yvelines.geojson"


async def test_a_home_on_the_border_of_two_communes_joins_the_smaller(
    clean_db: AsyncEngine,
) -> None:
    communes = read_communes((CHAVENAY, VILLEPREUX))
    async with clean_db.begin() as conn:
        for code in (VILLEPREUX, CHAVENAY):  # the larger first: order must not matter
            await create_polygon_neighbourhood(
                conn, name=communes[code].name, boundary=communes[code].boundary, commune_code=code
            )
        covering = (
            (
                await conn.execute(
                    text(
                        "SELECT commune_code FROM neighbourhoods "
                        "WHERE ST_Covers(boundary, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)) "
                        "ORDER BY commune_code"
                    ),
                    {"lng": SHARED_VERTEX.lng, "lat": SHARED_VERTEX.lat},
                )
            )
            .scalars()
            .all()
        )
        household = await register_household(conn, name="Au bord", home=SHARED_VERTEX, resolution=7)
        joined = (
            await conn.execute(
                text("SELECT commune_code FROM neighbourhoods WHERE id = :id"),
                {"id": household.neighbourhood_id},
            )
        ).scalar_one()
    assert covering == [CHAVENAY, VILLEPREUX]  # the point is on both borders
    assert communes[CHAVENAY].boundary.area < communes[VILLEPREUX].boundary.area
    assert joined == CHAVENAY


async def test_importing_communes_reassigns_every_household(
    clean_db: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    async with clean_db.begin() as conn:
        for name, lng, lat in (("Mairie", 1.98676, 48.8533), ("Champs", 1.62, 48.91)):
            await register_household(conn, name=name, home=LngLat(lng=lng, lat=lat), resolution=7)
    collection = json.loads(YVELINES.read_text(encoding="utf-8"))
    wanted = [
        f for f in collection["features"] if f["properties"]["code"] in {CHAVENAY, VILLEPREUX}
    ]
    path = tmp_path / "two.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": wanted}), encoding="utf-8")

    counts = await import_neighbourhoods(
        database_url, path, name_property="nom", code_property="code", max_area_m2=500e6
    )

    assert counts["created"] == 2 and counts["skipped"] == 0
    assert counts["households"] == 2 and counts["in_polygons"] == 1 and counts["moved"] == 1
    async with clean_db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT h.name, n.kind, n.commune_code FROM households h "
                    "JOIN neighbourhoods n ON n.id = h.neighbourhood_id ORDER BY h.name"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("Champs", "H3_CELL", None),
        ("Mairie", "POLYGON", CHAVENAY),
    ]
    assert geojson_to_multipolygon(wanted[0]["geometry"], max_area_m2=500e6).is_valid

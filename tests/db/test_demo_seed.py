"""The demo seed on a real PostGIS: real boundaries, the right networks, idempotent, resettable."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo.boundaries import geodesic_area_m2
from geo.cells import lnglat_to_cell
from seeds.demo import (
    CHAVENAY,
    CHAVENAY_TOWN_HALL,
    DEMO_COMMUNE_CODES,
    DEMO_HOUSEHOLDS,
    H3_RESOLUTION,
    RURAL_COMMUNE_CODES,
    RURAL_HOUSEHOLDS_PER_COMMUNE,
    TOWN_HALL_NAME,
    load_demo,
    plan_households,
)
from seeds.geography import read_commune_geometry, read_communes, read_town_hall

SNAPSHOT = text(
    """
    SELECT 'n' AS tbl, id, name || '|' || kind || '|' || coalesce(commune_code, h3_cell) AS key
      FROM neighbourhoods
    UNION ALL
    SELECT 'h', id, name || '|' || neighbourhood_id || '|' || ST_AsText(home_location)
                     || '|' || ST_AsText(public_location)
      FROM households
    ORDER BY 1, 2
    """
)

MEMBERS_BY_COMMUNE = text(
    """
    SELECT n.commune_code, count(h.id) AS members
      FROM neighbourhoods n LEFT JOIN households h ON h.neighbourhood_id = n.id
     WHERE n.kind = 'POLYGON'
     GROUP BY n.commune_code
    """
)

HOUSEHOLD_AT = text(
    """
    SELECT n.kind, n.commune_code
      FROM households h JOIN neighbourhoods n ON n.id = h.neighbourhood_id
     WHERE h.name = :name AND ST_X(h.home_location) = :lng AND ST_Y(h.home_location) = :lat
    """
)


async def snapshot(engine: AsyncEngine) -> list[tuple[str, int, str]]:
    async with engine.connect() as conn:
        return [(str(tbl), int(nid), str(key)) for tbl, nid, key in await conn.execute(SNAPSHOT)]


async def test_chavenay_is_a_polygon_neighbourhood_with_its_real_boundary(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await load_demo(database_url)
    geometry = json.dumps(read_commune_geometry(CHAVENAY))
    async with clean_db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT name, kind, area_m2,
                           ST_Equals(boundary, ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326)) AS same,
                           ST_HausdorffDistance(boundary, ST_GeomFromGeoJSON(:g)) AS hausdorff
                      FROM neighbourhoods WHERE commune_code = :code
                    """
                ),
                {"g": geometry, "code": CHAVENAY},
            )
        ).one()
    assert (row.name, row.kind) == ("Chavenay", "POLYGON")
    assert abs(row.area_m2 - 6.2e6) < 0.05 * 6.2e6
    assert abs(row.area_m2 - geodesic_area_m2(read_communes([CHAVENAY])[CHAVENAY].boundary)) < 1e3
    assert row.same
    assert row.hausdorff < 1e-9


async def test_creates_every_demo_commune_with_its_french_name(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await load_demo(database_url)
    async with clean_db.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT commune_code, name FROM neighbourhoods WHERE kind = 'POLYGON'")
            )
        ).all()
    names = {code: commune.name for code, commune in read_communes(DEMO_COMMUNE_CODES).items()}
    assert dict(rows) == names
    assert names["78571"] == "Saint-Nom-la-Bretèche"
    assert names["78646"] == "Versailles"


async def test_town_hall_household_is_in_chavenay(clean_db: AsyncEngine, database_url: str) -> None:
    assert read_town_hall(CHAVENAY) == CHAVENAY_TOWN_HALL
    await load_demo(database_url)
    async with clean_db.connect() as conn:
        rows = (
            await conn.execute(
                HOUSEHOLD_AT,
                {"name": TOWN_HALL_NAME, "lng": 1.98676, "lat": 48.85330},
            )
        ).all()
    assert [(row.kind, row.commune_code) for row in rows] == [("POLYGON", CHAVENAY)]


async def test_rural_households_land_in_h3_cell_neighbourhoods(
    clean_db: AsyncEngine, database_url: str
) -> None:
    rural = [h for h in plan_households() if h.commune_code in RURAL_COMMUNE_CODES]
    assert len(rural) == 6 == len(RURAL_COMMUNE_CODES) * RURAL_HOUSEHOLDS_PER_COMMUNE
    await load_demo(database_url)
    async with clean_db.connect() as conn:
        for household in rural:
            params = {"name": household.name, "lng": household.home.lng, "lat": household.home.lat}
            rows = (await conn.execute(HOUSEHOLD_AT, params)).all()
            assert [(row.kind, row.commune_code) for row in rows] == [("H3_CELL", None)]


async def test_chavenay_has_80_members_and_each_commune_its_planned_count(
    clean_db: AsyncEngine, database_url: str
) -> None:
    counts = await load_demo(database_url)
    async with clean_db.connect() as conn:
        rows = (await conn.execute(MEMBERS_BY_COMMUNE)).all()
    members = {str(code): int(count) for code, count in rows}
    assert members[CHAVENAY] == 80
    assert members == DEMO_HOUSEHOLDS
    assert counts["households"] == 80 + 40 + 40 + 14 + 5 + 8 + 9 + 6 + 12 + 6 == 220
    rural_cells = {
        lnglat_to_cell(h.home, H3_RESOLUTION)
        for h in plan_households()
        if h.commune_code in RURAL_COMMUNE_CODES
    }
    assert counts["neighbourhoods"] == len(DEMO_COMMUNE_CODES) + len(rural_cells) == 9 + 5


async def test_loading_twice_changes_nothing(clean_db: AsyncEngine, database_url: str) -> None:
    first = await load_demo(database_url)
    before = await snapshot(clean_db)
    second = await load_demo(database_url)
    assert second == {**first, "inserted": 0}
    # Loaded into empty tables: every row there was inserted by the first load.
    assert first["inserted"] == sum(count for table, count in first.items() if table != "inserted")
    assert await snapshot(clean_db) == before


async def test_reset_starts_over_with_the_same_rows(
    clean_db: AsyncEngine, database_url: str
) -> None:
    first = await load_demo(database_url)
    before = await snapshot(clean_db)
    again = await load_demo(database_url, reset=True)
    after = await snapshot(clean_db)
    assert again == first
    assert min(row[1] for row in after if row[0] == "h") == 1

    def without_public_location(rows: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
        """The displaced location is drawn from the system generator, on purpose."""
        return [(t, nid, key if t == "n" else key.rsplit("|", 1)[0]) for t, nid, key in rows]

    assert without_public_location(after) == without_public_location(before)


async def test_demo_accounts_have_their_household_and_roles(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await load_demo(database_url)
    async with clean_db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT a.email, a.is_admin, n.commune_code, "
                    "(SELECT count(*) FROM neighbourhood_roles r WHERE r.account_id = a.id) "
                    "FROM accounts a LEFT JOIN households h ON h.id = a.household_id "
                    "LEFT JOIN neighbourhoods n ON n.id = h.neighbourhood_id ORDER BY a.email"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("admin@demo.voisinage.fr", True, None, 0),
        ("ambassadrice@demo.voisinage.fr", False, CHAVENAY, 2),  # and Davron: demo_memberships
        ("membre@demo.voisinage.fr", False, CHAVENAY, 0),
    ]

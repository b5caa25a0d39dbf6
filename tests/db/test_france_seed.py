"""The France profile on a real PostGIS, at 3,000 households: deterministic, homes inside their
commune, the 6,500 largest communes as networks, the same assignment as one-by-one, and the
shared datasets in proportion with every rule of their tables kept."""

from __future__ import annotations

from datetime import UTC, datetime

import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.bulk import reassign_all_in
from db.queries.neighbourhoods import cell_neighbourhood_id, covering_polygon_id
from geo.cells import lnglat_to_cell
from geo.coords import LngLat
from seeds.france import NETWORK_COMMUNES, FranceScale, load_france
from seeds.france_points import plan_households, read_france_communes

HOUSEHOLDS = 3_000
SEED = 7
RESOLUTION = 7
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
SCALE = FranceScale()
SHARED_TABLES = {
    "items": "id",
    "loans": "id",
    "gardens": "id",
    "garden_waitlist": "id",
    "carpools": "id",
    "carpool_bookings": "id",
    "carpool_departures": "carpool_id, departs_on",
    "posts": "id",
    "comments": "id",
}

SOURCES = {
    "carpools": "(SELECT id, household_id, origin, destination, route, bearing_deg, departs_at, "
    "weekdays, departure_time, timezone, seats_total, description, created_at FROM carpools)"
}
"""Tables compared without some columns: a carpool's public places are drawn at random by a
trigger, never from the seed, so that they cannot be reproduced (migration 0012)."""

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
        database_url,
        households=HOUSEHOLDS,
        seed=SEED,
        progress=False,
        resolution=RESOLUTION,
        as_of=AS_OF,
    )
    return await homes(engine)


async def digests(engine: AsyncEngine) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every row's text, in key order, of each shared table."""
    out = {}
    async with engine.connect() as conn:
        for name, key in SHARED_TABLES.items():
            row = (
                await conn.execute(
                    text(
                        f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY {key})) "
                        f"FROM {SOURCES.get(name, name)} t"
                    )
                )
            ).one()
            out[name] = (int(row[0]), str(row[1]))
    return out


async def scalar(engine: AsyncEngine, sql: str) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def test_same_seed_loads_identical_households_and_shared_rows(
    clean_db: AsyncEngine, database_url: str
) -> None:
    first = await loaded(clean_db, database_url)
    first_shared = await digests(clean_db)
    second = await loaded(clean_db, database_url)
    assert len(first) == HOUSEHOLDS
    assert first == second
    assert first_shared == await digests(clean_db)


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


CONSISTENCY = {
    "item away from its lender's public point": """
        SELECT count(*) FROM items i JOIN households h ON h.id = i.household_id
         WHERE NOT ST_OrderingEquals(i.public_location, h.public_location)""",
    "post not at its author's public point or neighbourhood": """
        SELECT count(*) FROM posts p JOIN households h ON h.id = p.household_id
         WHERE NOT ST_OrderingEquals(p.location, h.public_location)
            OR p.neighbourhood_id <> h.neighbourhood_id""",
    "private garden searchable elsewhere than its owner's public point": """
        SELECT count(*) FROM gardens g JOIN households h ON h.id = g.household_id
         WHERE g.kind = 'PRIVATE' AND NOT ST_OrderingEquals(g.public_location, h.public_location)""",
    "departure counter differing from its bookings": """
        SELECT count(*) FROM carpool_departures d
          FULL JOIN (SELECT carpool_id, departs_on, count(*) AS n FROM carpool_bookings
                      GROUP BY carpool_id, departs_on) b USING (carpool_id, departs_on)
         WHERE d.seats_booked IS DISTINCT FROM b.n OR d.seats_booked > d.seats_total""",
    "weekly departure on a day the trip does not run": """
        SELECT count(*) FROM carpool_bookings b JOIN carpools c ON c.id = b.carpool_id
         WHERE c.weekdays IS NOT NULL
           AND NOT extract(isodow FROM b.departs_on)::smallint = ANY (c.weekdays)""",
    "loan of one's own item, or not the item's lender": """
        SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id
         WHERE l.lender_household_id <> i.household_id OR l.borrower_household_id = i.household_id""",
    "item lent out right now but shown available": """
        SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id
         WHERE l.state = 'HANDED_OVER' AND i.available""",
    "loan of an item listed after it was requested": """
        SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id
         WHERE i.created_at > l.created_at""",
    "comment before its post": """
        SELECT count(*) FROM comments c JOIN posts p ON p.id = c.post_id
         WHERE c.created_at <= p.created_at""",
    "post outside the year before the reference day": """
        SELECT count(*) FROM posts
         WHERE created_at >= TIMESTAMPTZ '2026-06-01 00:00Z'
            OR created_at < TIMESTAMPTZ '2025-06-01 00:00Z'""",
    "trip shorter than 1 km or with a wrong bearing": """
        SELECT count(*) FROM carpools
         WHERE ST_Distance(origin::geography, destination::geography) < 1000
            OR abs(bearing_deg - degrees(ST_Azimuth(origin::geography, destination::geography)))
               > 0.5""",
}


async def test_shared_datasets_are_in_proportion_and_keep_the_rules_of_their_tables(
    clean_db: AsyncEngine, database_url: str
) -> None:
    """CHECKs, the loans' exclusion constraint and the triggers ran during the load itself;
    the queries below are the cross-table rules no constraint states."""
    await loaded(clean_db, database_url)
    counts = {name: count for name, (count, _) in (await digests(clean_db)).items()}
    assert counts["items"] == round(SCALE.items_per_household * HOUSEHOLDS) == 900
    assert counts["loans"] == round(SCALE.loans_per_item * counts["items"])
    assert counts["gardens"] == round(SCALE.gardens_per_household * HOUSEHOLDS) == 15
    assert counts["carpools"] == round(SCALE.carpools_per_household * HOUSEHOLDS) == 300
    assert counts["posts"] == round(SCALE.posts_per_household * HOUSEHOLDS) == 6_000
    assert counts["comments"] == round(SCALE.comments_per_post * counts["posts"])
    assert counts["garden_waitlist"] > 0
    assert 0 < counts["carpool_departures"] <= counts["carpool_bookings"]
    # Identities continue after the loaded ids, so the API's next insert does not collide.
    assert await scalar(clean_db, "SELECT nextval(pg_get_serial_sequence('posts', 'id'))") == 6_001
    found = {rule: await scalar(clean_db, sql) for rule, sql in CONSISTENCY.items()}
    assert found == dict.fromkeys(CONSISTENCY, 0)
    overlapping = await scalar(
        clean_db,
        """SELECT count(*) FROM loans a JOIN loans b ON a.item_id = b.item_id AND a.id < b.id
            AND daterange(a.starts_on, a.ends_on, '[]') && daterange(b.starts_on, b.ends_on, '[]')""",
    )
    assert overlapping == 0  # not even requests overlap, so any of them could be accepted
    states = await scalar(clean_db, "SELECT count(DISTINCT state) FROM loans")
    assert states == 6
    some_trips_start_at_carpool_places = await scalar(
        clean_db, "SELECT count(*) FROM carpools WHERE description LIKE 'Départ : %'"
    )
    assert some_trips_start_at_carpool_places > 30  # type: ignore[operator]

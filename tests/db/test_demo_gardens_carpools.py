"""The demo garden and carpool stages on top of the demo seed: what they create, and only once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from seeds.demo import load_demo
from seeds.demo_carpools import create_demo_carpools
from seeds.demo_gardens import CHAVENAY_GARDEN, WAITLIST_SIZE, create_demo_gardens

COUNTS = text(
    """
    SELECT (SELECT count(*) FROM gardens), (SELECT count(*) FROM garden_waitlist),
           (SELECT count(*) FROM carpools), (SELECT count(*) FROM carpool_bookings)
    """
)


async def test_stages_create_the_demo_gardens_and_carpools_once(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await load_demo(database_url)
    for _ in range(2):  # the second run finds rows and inserts nothing
        async with clean_db.begin() as conn:
            await create_demo_gardens(conn)
            await create_demo_carpools(conn)
    async with clean_db.connect() as conn:
        assert tuple((await conn.execute(COUNTS)).one()) == (3, WAITLIST_SIZE, 2, 4)
        shared = (
            await conn.execute(
                text(
                    "SELECT n.commune_code, g.plots_free, ST_Covers(g.boundary, g.location) "
                    "FROM gardens g JOIN neighbourhoods n ON ST_Covers(n.boundary, g.location) "
                    "WHERE g.name = :name AND n.kind = 'POLYGON'"
                ),
                {"name": CHAVENAY_GARDEN},
            )
        ).one()
        assert tuple(shared) == ("78152", 0, True)  # inside Chavenay, full, point on its surface
        weekly = (
            await conn.execute(
                text(
                    "SELECT weekdays, departure_time::text, "
                    "array_agg(DISTINCT extract(isodow FROM b.departs_on)::int) "
                    "FROM carpools c JOIN carpool_bookings b ON b.carpool_id = c.id "
                    "WHERE c.weekdays IS NOT NULL GROUP BY c.id"
                )
            )
        ).one()
        assert tuple(weekly) == ([2, 4], "07:45:00", [2, 4])

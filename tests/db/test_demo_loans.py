"""The demo loans and skills stages: every loan state, idempotent, on whatever Chavenay lends."""

from __future__ import annotations

from shapely.geometry import MultiPolygon, box
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries.households import register_household
from db.queries.items import create_item
from db.queries.loans import household_loans, today_in_france
from db.queries.neighbourhoods import create_polygon_neighbourhood
from geo.coords import LngLat
from seeds.demo_loans import DEMO_LOANS, DEMO_SKILLS, create_demo_loans, create_demo_skills

CHAVENAY_SQUARE = MultiPolygon([box(1.97, 48.84, 2.01, 48.86)])


async def test_demo_loans_cover_every_state_once_whatever_the_number_of_runs(
    clean_db: AsyncEngine,
) -> None:
    async with clean_db.begin() as conn:
        await create_demo_loans(conn)  # nothing to lend yet: nothing happens
        await create_polygon_neighbourhood(
            conn, name="Chavenay", boundary=CHAVENAY_SQUARE, commune_code="78152"
        )
        homes = [LngLat(lng=1.99 + 0.001 * index, lat=48.85) for index in range(4)]
        households = [
            await register_household(conn, name=f"Famille {index}", home=home, resolution=7)
            for index, home in enumerate(homes)
        ]
        await create_item(
            conn,
            households[1].id,
            title="Taille-haie",
            description="",
            category="GARDEN",
            condition="GOOD",
            terms="FREE",
            deposit_cents=None,
            price_per_day_cents=None,
            photo_urls=[],
        )
        for _ in range(2):
            await create_demo_loans(conn)
            await create_demo_skills(conn)
        states = sorted(
            str(state) for state in (await conn.execute(text("SELECT state FROM loans"))).scalars()
        )
        member_loans = await household_loans(
            conn, households[0].id, side="BORROWER", states=None, limit=20, after=None
        )
        skills = (await conn.execute(text("SELECT count(*) FROM skills"))).scalar_one()

    assert len(states) == len(DEMO_LOANS)
    assert set(states) == {
        "REQUESTED",
        "ACCEPTED",
        "DECLINED",
        "CANCELLED",
        "HANDED_OVER",
        "RETURNED",
    }
    assert len(member_loans) == len(DEMO_LOANS)  # the demo member borrows them all
    overdue = [loan for loan in member_loans if loan.is_overdue(today_in_france())]
    assert len(overdue) == 1
    assert skills == len(DEMO_SKILLS)

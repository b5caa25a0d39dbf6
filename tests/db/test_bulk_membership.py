"""The national reassignment writes the membership columns set-wise, by the trigger's rule."""

from __future__ import annotations

from shapely.geometry import MultiPolygon, box
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.bulk import reassign_all_in
from db.queries.households import register_household
from geo.coords import LngLat

CHAVENAY = LngLat(lng=1.99, lat=48.85)
SQUARE = MultiPolygon([box(1.98, 48.84, 2.00, 48.86)])


async def status_of(conn: AsyncConnection, household_id: int) -> tuple[int, str, object]:
    row = (
        await conn.execute(
            text(
                "SELECT neighbourhood_id, membership_status, membership_decided_at "
                "FROM households WHERE id = :id"
            ),
            {"id": household_id},
        )
    ).one()
    return int(row[0]), str(row[1]), row[2]


async def insert_polygon(conn: AsyncConnection, name: str, policy: str) -> int:
    """A network drawn without reassigning anybody (as an import or a restore would leave it)."""
    return int(
        (
            await conn.execute(
                text(
                    "INSERT INTO neighbourhoods (name, kind, boundary, membership_policy) "
                    "VALUES (:name, 'POLYGON', ST_GeomFromText(:wkt, 4326), :policy) RETURNING id"
                ),
                {"name": name, "wkt": SQUARE.wkt, "policy": policy},
            )
        ).scalar_one()
    )


async def test_movers_into_an_approval_network_wait_and_lose_their_old_decision(
    clean_db: AsyncEngine,
) -> None:
    async with clean_db.begin() as conn:
        household = await register_household(conn, name="Les Pruniers", home=CHAVENAY, resolution=7)
        cell_id, before, _ = await status_of(conn, household.id)
        await conn.execute(
            text(
                "UPDATE households SET membership_status = 'DECLINED', "
                "membership_decided_at = now() WHERE id = :id"
            ),
            {"id": household.id},
        )
        network = await insert_polygon(conn, "Chavenay sur approbation", "APPROVAL")
        counts = await reassign_all_in(conn)
        moved_to, after, decided_at = await status_of(conn, household.id)
        # The transaction goes on with the trigger back in charge: a newcomer waits too.
        newcomer = await register_household(conn, name="Le Clos", home=CHAVENAY, resolution=7)
        newcomer_in, newcomer_status, _ = await status_of(conn, newcomer.id)
    assert before == "APPROVED" and cell_id != network
    assert counts["moved"] == 1
    assert (moved_to, after, decided_at) == (network, "PENDING", None)
    assert (newcomer_in, newcomer_status) == (network, "PENDING")


async def test_movers_into_an_open_network_are_approved(clean_db: AsyncEngine) -> None:
    async with clean_db.begin() as conn:
        household = await register_household(conn, name="Les Tilleuls", home=CHAVENAY, resolution=7)
        await conn.execute(
            text("UPDATE households SET membership_status = 'PENDING' WHERE id = :id"),
            {"id": household.id},
        )
        network = await insert_polygon(conn, "Chavenay ouvert", "OPEN")
        await reassign_all_in(conn)
        moved_to, status, _ = await status_of(conn, household.id)
    assert (moved_to, status) == (network, "APPROVED")


WORK_TABLES = text(
    "SELECT count(*) FROM pg_class WHERE relname LIKE 'assignment\\_parts\\_%' "
    "OR relname LIKE 'assignment\\_homes\\_%'"
)


async def test_the_work_tables_of_a_reassignment_never_outlive_it(clean_db: AsyncEngine) -> None:
    """The match runs on unlogged tables (parallel workers cannot read temporary ones): they
    are dropped inside the transaction, committed or not."""
    async with clean_db.begin() as conn:
        household = await register_household(conn, name="Les Ormes", home=CHAVENAY, resolution=7)
        network = await insert_polygon(conn, "Chavenay", "OPEN")
        counts = await reassign_all_in(conn)
        inside = int((await conn.execute(WORK_TABLES)).scalar_one())
    async with clean_db.connect() as conn:
        after_commit = int((await conn.execute(WORK_TABLES)).scalar_one())
        moved_to, _, _ = await status_of(conn, household.id)
        await conn.rollback()
        await reassign_all_in(conn)  # autobegun
        await conn.rollback()
        after_rollback = int((await conn.execute(WORK_TABLES)).scalar_one())
    assert (counts["moved"], moved_to) == (1, network)
    assert (inside, after_commit, after_rollback) == (0, 0, 0)

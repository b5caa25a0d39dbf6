"""Demo carpools: Chavenay → Versailles every Tuesday and Thursday at 7:45, and a one-off
Plaisir → Paris, with seats booked.

A stage of the demo seed (`async (conn) -> None`), run after the households and the demo
accounts. Idempotent the simple way: it does nothing when any carpool exists. Meeting places are
the real town halls (DILA Annuaire de l'administration, `seeds/data/mairies-78-yvelines.geojson`)
and Paris is its Hôtel de Ville (`communes-france-points.csv`). Dates are relative to the load
(the coming Tuesday and Thursday, a Friday at least two days ahead), so the demo always looks
current after a reset. Chavenay's first household (the demo member's) holds a seat, so signing
in as it shows the pick-up point.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shapely import LineString
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import CARPOOL_TIMEZONE, Carpool
from db.queries.carpools import book_seat, create_carpool
from geo.coords import LngLat
from seeds.demo_posts import CHAVENAY, PLAISIR, VERSAILLES
from seeds.demo_posts import network_households as households_of
from seeds.geography import read_town_hall

PARIS_HOTEL_DE_VILLE = LngLat(lng=2.3488, lat=48.85341)
"""Paris's point in `seeds/data/communes-france-points.csv` (its town hall)."""


def coming(isoweekday: int, *, today: date, at_least_days: int = 1) -> date:
    """The first date with this ISO weekday (1 = Monday) at least `at_least_days` after today."""
    day = today + timedelta(days=at_least_days)
    while day.isoweekday() != isoweekday:
        day += timedelta(days=1)
    return day


async def create_demo_carpools(conn: AsyncConnection) -> None:
    """The demo trips and their bookings, unless any carpool exists already."""
    if (await conn.execute(select(exists().where(Carpool.id.is_not(None))))).scalar_one():
        return
    zone = ZoneInfo(CARPOOL_TIMEZONE)
    today = datetime.now(UTC).astimezone(zone).date()
    chavenay = await households_of(conn, CHAVENAY)
    plaisir = await households_of(conn, PLAISIR)

    weekly = await create_carpool(
        conn,
        chavenay[1],
        origin=read_town_hall(CHAVENAY),
        destination=read_town_hall(VERSAILLES),
        route=None,
        departs_at=None,
        weekdays=[2, 4],
        departure_time=time(7, 45),
        seats_total=3,
        description="Départ devant la mairie de Chavenay, arrivée mairie de Versailles vers "
        "8 h 10. Retour possible le soir.",
    )
    tuesday, thursday = coming(2, today=today), coming(4, today=today)
    for household_id, day in (
        (chavenay[0], tuesday),
        (chavenay[2], tuesday),
        (chavenay[2], thursday),
    ):
        await book_seat(conn, weekly.id, household_id, day)

    plaisir_town_hall, versailles_town_hall = read_town_hall(PLAISIR), read_town_hall(VERSAILLES)
    friday = coming(5, today=today, at_least_days=2)
    one_off = await create_carpool(
        conn,
        plaisir[1],
        origin=plaisir_town_hall,
        destination=PARIS_HOTEL_DE_VILLE,
        route=LineString(
            [
                (plaisir_town_hall.lng, plaisir_town_hall.lat),
                (versailles_town_hall.lng, versailles_town_hall.lat),
                (PARIS_HOTEL_DE_VILLE.lng, PARIS_HOTEL_DE_VILLE.lat),
            ]
        ),
        departs_at=datetime.combine(friday, time(8, 0), tzinfo=zone),
        weekdays=None,
        departure_time=None,
        seats_total=2,
        description="Par Versailles : je peux prendre quelqu'un en route.",
    )
    await book_seat(conn, one_off.id, plaisir[2], friday)

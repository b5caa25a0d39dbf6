"""Demo gardens: Chavenay's shared garden with a waiting list, a private plot in Plaisir, and a
community garden in Versailles.

A stage of the demo seed (`async (conn) -> None`), run after the households. Idempotent the simple
way: it does nothing when any garden exists, as members may have listed gardens through the API
meanwhile. Places are illustrative, placed relative to the real town halls (DILA Annuaire de
l'administration, `seeds/data/mairies-78-yvelines.geojson`): they are not surveyed gardens.
"""

from __future__ import annotations

from shapely import MultiPolygon, Polygon
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Garden
from db.queries.gardens import create_garden, join_waitlist
from db.queries.households import households_by_id
from geo.coords import LngLat
from seeds.demo_posts import CHAVENAY, PLAISIR, TOWN_HALL, VERSAILLES, household_named
from seeds.demo_posts import network_households as households_of
from seeds.geography import read_town_hall

CHAVENAY_GARDEN = "Jardin partagé de Chavenay"
WAITLIST_SIZE = 4
"""Chavenay households queueing for a plot, in this order (index 0, the demo member, first)."""


def rectangle(centre: LngLat, half_lng: float, half_lat: float) -> MultiPolygon:
    """An axis-aligned rectangle around `centre`, in degrees (lng/lat), as a MultiPolygon."""
    return MultiPolygon(
        [
            Polygon(
                [
                    (centre.lng - half_lng, centre.lat - half_lat),
                    (centre.lng + half_lng, centre.lat - half_lat),
                    (centre.lng + half_lng, centre.lat + half_lat),
                    (centre.lng - half_lng, centre.lat + half_lat),
                ]
            )
        ]
    )


def offset(point: LngLat, *, east_deg: float, north_deg: float) -> LngLat:
    return LngLat(lng=round(point.lng + east_deg, 6), lat=round(point.lat + north_deg, 6))


async def create_demo_gardens(conn: AsyncConnection) -> None:
    """The demo gardens and Chavenay's waiting list, unless any garden exists already."""
    if (await conn.execute(select(exists().where(Garden.id.is_not(None))))).scalar_one():
        return
    chavenay = await households_of(conn, CHAVENAY)
    plaisir = (await households_of(conn, PLAISIR))[0]

    # About 60 m × 45 m, 150 m south-east of the town hall; run by the town hall's household.
    shared = await create_garden(
        conn,
        await household_named(conn, TOWN_HALL),
        kind="COMMUNITY",
        name=CHAVENAY_GARDEN,
        description="Seize parcelles, un composteur et une cabane à outils. Toutes les parcelles "
        "sont prises : inscrivez-vous sur la liste d'attente.",
        location=None,
        boundary=rectangle(
            offset(read_town_hall(CHAVENAY), east_deg=0.0015, north_deg=-0.0008), 0.0004, 0.0002
        ),
        plots_total=16,
        plots_free=0,
    )
    for household_id in chavenay[:WAITLIST_SIZE]:
        await join_waitlist(conn, shared.id, household_id)

    owner = (await households_by_id(conn, [plaisir]))[plaisir]
    await create_garden(
        conn,
        owner.id,
        kind="PRIVATE",
        name=f"Potager partagé ({owner.name})",
        description="Deux carrés de potager au fond du jardin, arrosage et outils fournis.",
        location=owner.home,  # shown to others at the household's public location only
        boundary=None,
        plots_total=2,
        plots_free=1,
    )
    await create_garden(
        conn,
        (await households_of(conn, VERSAILLES))[0],
        kind="COMMUNITY",
        name="Jardin partagé de Versailles",
        description="Jardin associatif ouvert le samedi matin ; parcelles de 10 m².",
        location=offset(read_town_hall(VERSAILLES), east_deg=0.004, north_deg=0.002),
        boundary=None,
        plots_total=24,
        plots_free=3,
    )

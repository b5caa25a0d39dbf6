"""The demo seed that `make run` loads: real Yvelines communes as networks, and their households.

Chavenay (INSEE 78152), where the "Mon P'ti Voisinage" model started, is the centre: its
neighbours and Versailles are POLYGON networks with their real commune boundaries, and a few
rural homes outside every network land in H3_CELL neighbourhoods.

The loader is idempotent and deterministic:
- Every stage first plans its rows from seeded generators, then inserts only the rows whose
  natural key is not there yet (a POLYGON neighbourhood's `commune_code`; a household's name and
  exact home). A second load therefore inserts nothing, and a load after a reset gives the same
  rows again. (The public, displaced location is the exception: `register_household` draws it
  from the system generator on purpose, so it differs after a reset.)
- Each stage, and each commune within one, has its own generator derived from `SEED`, so
  appending a stage or a commune never changes the rows of the others.

More stages (items, loans, posts) are appended to `STAGES`; each is `async (conn) -> None`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import create_engine
from db.models import Base, Household, Neighbourhood
from db.queries.households import register_household
from db.queries.neighbourhoods import create_polygon_neighbourhood, lock_boundaries
from geo.coords import LngLat
from seeds.demo_accounts import create_demo_accounts
from seeds.demo_carpools import create_demo_carpools
from seeds.demo_gardens import create_demo_gardens
from seeds.demo_items import create_demo_items
from seeds.demo_loans import create_demo_loans, create_demo_skills
from seeds.demo_memberships import create_demo_memberships
from seeds.demo_posts import create_demo_posts
from seeds.geography import random_points_in, read_communes
from seeds.names import household_names

SEED = 78152
H3_RESOLUTION = 7
"""About 5 km² per cell: the size of a village network for homes no polygon covers."""

CHAVENAY = "78152"
CHAVENAY_TOWN_HALL = LngLat(lng=1.98676, lat=48.85330)
"""Mairie de Chavenay, Place de l'Église (DILA Annuaire de l'administration)."""
TOWN_HALL_NAME = "Mairie de Chavenay"

DEMO_COMMUNE_CODES: tuple[str, ...] = (
    CHAVENAY,
    "78165",  # Les Clayes-sous-Bois
    "78196",  # Davron
    "78233",  # Feucherolles
    "78490",  # Plaisir
    "78571",  # Saint-Nom-la-Bretèche
    "78615",  # Thiverval-Grignon
    "78674",  # Villepreux
    "78646",  # Versailles
)
"""Communes created as POLYGON neighbourhoods: Chavenay, its seven neighbours, and Versailles."""

DEMO_HOUSEHOLDS: Mapping[str, int] = {
    CHAVENAY: 80,  # as in the real Chavenay network; includes the town hall
    "78165": 14,
    "78196": 5,
    "78233": 8,
    "78490": 40,
    "78571": 9,
    "78615": 6,
    "78674": 12,
    "78646": 40,
}
"""Members of each demo network once seeded (Chavenay's count includes its town hall)."""

RURAL_COMMUNE_CODES: tuple[str, ...] = (
    "78564",  # Saint-Martin-de-Bréthencourt
    "78009",  # Allainville
    "78107",  # Bréval
)
"""Rural communes far from the demo networks, NOT created as neighbourhoods."""
RURAL_HOUSEHOLDS_PER_COMMUNE = 2


def rng_for(*keys: str) -> random.Random:
    """A generator for one part of the seed, e.g. `rng_for("households", "78152")`.

    String seeds are hashed with SHA-512 by `random`, so they are stable across runs and
    Python processes (unlike `hash()`).
    """
    return random.Random(":".join((str(SEED), *keys)))


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedHousehold:
    """A household the seed wants; `commune_code` is where its home was drawn."""

    name: str
    home: LngLat
    commune_code: str


def plan_households() -> list[PlannedHousehold]:
    """Every seeded household, in registration order; the same list on every call."""
    communes = read_communes((*DEMO_COMMUNE_CODES, *RURAL_COMMUNE_CODES))
    counts = {**DEMO_HOUSEHOLDS, **dict.fromkeys(RURAL_COMMUNE_CODES, RURAL_HOUSEHOLDS_PER_COMMUNE)}
    planned = [
        PlannedHousehold(name=TOWN_HALL_NAME, home=CHAVENAY_TOWN_HALL, commune_code=CHAVENAY)
    ]
    for code, count in counts.items():
        drawn = count - 1 if code == CHAVENAY else count
        rng = rng_for("households", code)
        homes = random_points_in(communes[code].boundary, drawn, rng)
        names = household_names(rng, drawn)
        planned.extend(
            PlannedHousehold(name=name, home=home, commune_code=code)
            for name, home in zip(names, homes, strict=True)
        )
    return planned


async def create_commune_neighbourhoods(conn: AsyncConnection) -> None:
    """POLYGON neighbourhoods for the demo communes that have none yet."""
    existing = set(
        (
            await conn.execute(
                select(Neighbourhood.commune_code).where(
                    Neighbourhood.kind == "POLYGON",
                    Neighbourhood.commune_code.in_(DEMO_COMMUNE_CODES),
                )
            )
        ).scalars()
    )
    communes = read_communes(DEMO_COMMUNE_CODES)
    for code in DEMO_COMMUNE_CODES:
        if code not in existing:
            commune = communes[code]
            await create_polygon_neighbourhood(
                conn, name=commune.name, boundary=commune.boundary, commune_code=code
            )


async def register_demo_households(conn: AsyncConnection) -> None:
    """The planned households not registered yet, matched on name and exact home."""
    planned = plan_households()
    result = await conn.execute(
        select(
            Household.name, func.ST_X(Household.home_location), func.ST_Y(Household.home_location)
        ).where(Household.name.in_({household.name for household in planned}))
    )
    existing = {(str(name), float(lng), float(lat)) for name, lng, lat in result.all()}
    for household in planned:
        if (household.name, household.home.lng, household.home.lat) not in existing:
            await register_household(
                conn, name=household.name, home=household.home, resolution=H3_RESOLUTION
            )


Stage = Callable[[AsyncConnection], Awaitable[None]]

STAGES: tuple[Stage, ...] = (
    create_commune_neighbourhoods,
    register_demo_households,
    create_demo_accounts,
    create_demo_items,
    create_demo_loans,
    create_demo_skills,
    create_demo_posts,
    create_demo_gardens,
    create_demo_carpools,
    create_demo_memberships,
)
"""Run in order in one transaction; each inserts only what is missing."""


async def truncate_all(conn: AsyncConnection) -> None:
    """Empty every table of the model and restart the ids, so a reset load gives ids from 1."""
    quote = conn.dialect.identifier_preparer.format_table
    tables = ", ".join(quote(table) for table in Base.metadata.sorted_tables)
    await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


async def table_counts(conn: AsyncConnection) -> dict[str, int]:
    counts = {}
    for table in Base.metadata.sorted_tables:
        result = await conn.execute(select(func.count()).select_from(table))
        counts[table.name] = int(result.scalar_one())
    return counts


async def load_demo(database_url: str, *, reset: bool = False) -> dict[str, int]:
    """Load the demo seed in one transaction; with `reset`, empty every table first.

    Returns the row count of every table after the load, plus `inserted`: the rows this call
    added to all tables, including the H3_CELL neighbourhoods that registrations create (0 when
    the seed was already there).

    The exclusive boundary lock, taken first, serialises two loads started together (two
    `make run`): the second waits, then sees the first's rows and inserts nothing.
    """
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await lock_boundaries(conn, exclusive=True)
            if reset:
                await truncate_all(conn)
            before = await table_counts(conn)
            for stage in STAGES:
                await stage(conn)
            counts = await table_counts(conn)
    finally:
        await engine.dispose()
    return {**counts, "inserted": sum(counts.values()) - sum(before.values())}

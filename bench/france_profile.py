"""The benchmarks' database: `voisinage_bench`, holding the France profile, reused across runs.

It lives on DATABASE_URL's server when that is set, else on the embedded cluster (started if
needed, and stopped at the end only if this process started it). It is not the application
database, so a benchmark never replaces anybody's demo data; it is regenerated only when its
row counts (households, networks, items, posts) are not the France profile's, or on
`--reload`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.runtime import ensure_database
from api.settings import Settings
from db.embedded import EmbeddedPostgres
from db.engine import create_engine
from db.migrate import upgrade
from seeds.france import NETWORK_COMMUNES, FranceScale, load_france

BENCH_DATABASE = "voisinage_bench"
HOUSEHOLDS = 1_000_000
SEED = 1

PROFILE_COUNTS = text(
    """
    SELECT (SELECT count(*) FROM households),
           (SELECT count(*) FROM neighbourhoods WHERE kind = 'POLYGON'),
           (SELECT count(*) FROM items),
           (SELECT count(*) FROM posts)
    """
)
SHARED = FranceScale()


@contextlib.contextmanager
def bench_server(settings: Settings) -> Iterator[str]:
    """A URL on the server to use (its database name is replaced): DATABASE_URL's, or embedded."""
    if settings.database_url:
        yield settings.database_url
        return
    cluster = EmbeddedPostgres(data_dir=settings.data_dir / "postgres")
    cluster.start()
    try:
        yield cluster.url("postgres")
    finally:
        cluster.stop()


async def has_profile(url: str) -> bool:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            households, polygons, items, posts = (await conn.execute(PROFILE_COUNTS)).one()
    finally:
        await engine.dispose()
    expected = (
        HOUSEHOLDS,
        NETWORK_COMMUNES,
        SHARED.count(SHARED.items_per_household, HOUSEHOLDS),
        SHARED.count(SHARED.posts_per_household, HOUSEHOLDS),
    )
    return (int(households), int(polygons), int(items), int(posts)) == expected


@contextlib.contextmanager
def bench_database(settings: Settings, console: Console, *, reload: bool = False) -> Iterator[str]:
    """The URL of `voisinage_bench`, migrated and holding the France profile."""
    with bench_server(settings) as server_url:
        ensure_database(server_url, BENCH_DATABASE)
        url = make_url(server_url).set(database=BENCH_DATABASE)
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        if reload or not asyncio.run(has_profile(rendered)):
            console.print(f"Loading the France profile into {BENCH_DATABASE} (3 to 5 minutes)…")
            asyncio.run(
                load_france(
                    rendered, households=HOUSEHOLDS, seed=SEED, resolution=settings.h3_resolution
                )
            )
        else:
            console.print(f"Reusing the France profile in {BENCH_DATABASE}.")
        yield rendered

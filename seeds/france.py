"""The France-scale dataset: every commune populated, the 6,500 largest as networks, by COPY.

`python -m api seed --profile france` (or `load_france(url)`) replaces the whole database with:
- 6,500 POLYGON neighbourhoods, the most populous communes with their real boundaries;
- `households` homes (a million by default) spread over all 34,871 communes by population
  (see `seeds.france_points`), each assigned by `db.bulk.assign_homes`, the very rule of a
  bulk reassignment, so homes outside the networks land in their H3_CELL neighbourhoods;
- per household (`FranceScale`): 0.3 items with 0.5 loans each, 0.005 gardens with waiting
  lists, 0.1 carpools between communes with bookings, 2 posts over the last year with 0.5
  comments each: 300,000 items, 5,000 gardens, 100,000 carpools and 2,000,000 posts for the
  default million (see `seeds.france_sharing`).

It is a reset, not an idempotent top-up like the demo seed: at this size the only fast path is
to empty the tables (accounts too: they point at households) and stream rows with COPY into a
staging table, assign them set-wise, then write `households` once with its secondary indexes
and foreign keys dropped, rebuilding them afterwards. Everything runs in one transaction, so a
failure leaves the previous data in place. Each step is a `Stage` with its progress bar and
timing; the shared datasets follow the households and are indexed with them, at the end.

The same `seed` and `as_of` (the reference instant of every date, by default the current day
at midnight UTC) always give the same rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from datetime import time as clock

from rich.console import Console
from sqlalchemy import column, func, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.bulk import TRIGGER_SETS_MEMBERSHIP, WRITER_SETS_MEMBERSHIP, assign_homes
from db.engine import create_engine
from db.queries.neighbourhoods import lock_boundaries
from geo.cells import DEFAULT_RESOLUTION
from seeds.france_copy import (
    copy_households,
    copy_polygon_neighbourhoods,
    drop_secondary_indexes,
)
from seeds.france_points import plan_households, read_france_communes
from seeds.france_report import (
    CpuClock,
    backend_peak_rss_mb,
    peak_rss_mb,
    progress_display,
    summary_table,
)
from seeds.france_sharing import (
    copy_bookings,
    copy_carpools,
    copy_comments,
    copy_gardens,
    copy_items,
    copy_loans,
    copy_posts,
    read_assignment,
)
from seeds.france_stage import FranceLoad, FranceScale, Stage, StageBar

__all__ = ["NETWORK_COMMUNES", "STAGES", "FranceLoad", "FranceScale", "Stage", "load_france"]

NETWORK_COMMUNES = 6_500
"""The most populous communes created as POLYGON networks (population ≥ ~1,650)."""
SESSION_SETTINGS = {
    "temp_buffers": "512MB",  # the staging table stays in memory, not in temp files
    "maintenance_work_mem": "1GB",  # index builds sort in memory
    "work_mem": "256MB",
}

STAGING = table("france_homes", column("id"), column("home_location"), column("h3_cell"))
STAGING_TABLE = text(
    """
    CREATE TEMP TABLE france_homes (
        id bigint NOT NULL,
        name text NOT NULL,
        home_location geometry(Point, 4326) NOT NULL,
        public_location geometry(Point, 4326) NOT NULL,
        h3_cell varchar(16) NOT NULL
    ) ON COMMIT DROP
    """
)
INSERT_HOUSEHOLDS = text(
    """
    INSERT INTO households (id, name, home_location, public_location, h3_cell, neighbourhood_id,
                            membership_status)
    SELECT f.id, f.name, f.home_location, f.public_location, f.h3_cell, a.neighbourhood_id,
           CASE n.membership_policy WHEN 'APPROVAL' THEN 'PENDING' ELSE 'APPROVED' END
      FROM france_homes f
      JOIN assignment a ON a.id = f.id
      JOIN neighbourhoods n ON n.id = a.neighbourhood_id
     ORDER BY f.id
    """
)
"""Writes the arrival trigger's columns itself (with WRITER_SETS_MEMBERSHIP), set-wise."""
TRUNCATE = text("TRUNCATE neighbourhoods, households RESTART IDENTITY CASCADE")
RESTART_IDS = text(
    "SELECT setval(pg_get_serial_sequence('households', 'id'), "
    "(SELECT coalesce(max(id), 0) + 1 FROM households), false)"
)


async def read_communes(load: FranceLoad, bar: StageBar) -> None:
    load.communes = read_france_communes()
    load.networks = load.communes.most_populous(NETWORK_COMMUNES)
    bar.advance()


async def plan_homes(load: FranceLoad, bar: StageBar) -> None:
    load.plan = plan_households(
        load.require_communes(), load.households, seed=load.seed, resolution=load.resolution
    )
    bar.advance()


async def empty_tables(load: FranceLoad, bar: StageBar) -> None:
    """CASCADE also empties every table that points at them (accounts, roles, later items...)."""
    await load.conn.execute(TRUNCATE)
    bar.advance()


async def copy_networks(load: FranceLoad, bar: StageBar) -> None:
    assert load.networks is not None
    bar.total(len(load.networks))
    load.counts["polygon_neighbourhoods"] = await copy_polygon_neighbourhoods(
        load.conn, load.require_communes(), load.networks, bar.advance
    )


async def stage_households(load: FranceLoad, bar: StageBar) -> None:
    """COPY into a temp table: no WAL, and `households` is written once, already assigned."""
    plan = load.require_plan()
    bar.total(len(plan))
    await load.conn.execute(STAGING_TABLE)
    await copy_households(load.conn, "france_homes", plan, bar.advance)


async def assign_neighbourhoods(load: FranceLoad, bar: StageBar) -> None:
    bar.total(3)
    counts = await assign_homes(load.conn, STAGING, step=lambda _: bar.advance())
    load.counts.update(counts)


async def write_households(load: FranceLoad, bar: StageBar) -> None:
    bar.total(2)
    dropped = await drop_secondary_indexes(load.conn, "households")
    load.dropped += [("households", ddl) for ddl in dropped]
    bar.advance()
    await load.conn.execute(WRITER_SETS_MEMBERSHIP)
    inserted = (await load.conn.execute(INSERT_HOUSEHOLDS)).rowcount
    await load.conn.execute(TRIGGER_SETS_MEMBERSHIP)
    if inserted != len(load.require_plan()):
        raise RuntimeError(f"{inserted} households written for {len(load.require_plan())} homes")
    await load.conn.execute(RESTART_IDS)
    bar.advance()


async def rebuild_indexes(load: FranceLoad, bar: StageBar) -> None:
    """Every index and foreign key dropped by earlier stages, a table's indexes then its keys.

    One sorted build per index instead of row-by-row maintenance; a foreign key is checked
    with one join over the whole table instead of one lookup per row.
    """
    bar.total(len(load.dropped))
    for table_name, statement in load.dropped:
        started = time.perf_counter()
        await load.conn.execute(text(statement))
        spent = time.perf_counter() - started
        load.index_seconds[table_name] = load.index_seconds.get(table_name, 0.0) + spent
        bar.advance()


async def analyze_tables(load: FranceLoad, bar: StageBar) -> None:
    names = list(dict.fromkeys(name for stage in STAGES for name in stage.fills))
    bar.total(len(names))
    for name in names:
        await load.conn.execute(
            text(f"ANALYZE {load.conn.dialect.identifier_preparer.quote(name)}")
        )
        bar.advance()


STAGES: tuple[Stage, ...] = (
    Stage("read communes", read_communes),
    Stage("plan households", plan_homes),
    Stage("empty tables", empty_tables),
    Stage("copy neighbourhoods", copy_networks, fills=("neighbourhoods",)),
    Stage("copy households", stage_households),
    Stage("assign neighbourhoods", assign_neighbourhoods),
    Stage("write households", write_households, fills=("households",)),
    Stage("read assignment", read_assignment),
    Stage("copy items", copy_items, fills=("items",)),
    Stage("copy loans", copy_loans, fills=("loans",)),
    Stage("copy gardens", copy_gardens, fills=("gardens", "garden_waitlist")),
    Stage("copy carpools", copy_carpools, fills=("carpools",)),
    Stage("copy bookings", copy_bookings, fills=("carpool_bookings", "carpool_departures")),
    Stage("copy posts", copy_posts, fills=("posts",)),
    Stage("copy comments", copy_comments, fills=("comments",)),
    Stage("build indexes", rebuild_indexes),
    Stage("analyze", analyze_tables),
)
"""Run in order in one transaction; new datasets go before "build indexes"."""


async def table_rows(conn: AsyncConnection) -> dict[str, int]:
    rows = {}
    for name in dict.fromkeys(name for stage in STAGES for name in stage.fills):
        result = await conn.execute(select(func.count()).select_from(table(name)))
        rows[name] = int(result.scalar_one())
    return rows


async def load_france(
    database_url: str,
    *,
    households: int = 1_000_000,
    seed: int = 1,
    progress: bool = True,
    resolution: int = DEFAULT_RESOLUTION,
    as_of: datetime | None = None,
    scale: FranceScale | None = None,
) -> dict[str, object]:
    """Replace the database's content with the France profile; returns the summary figures.

    `resolution` must be the service's H3_RESOLUTION, or the fallback cells would not be the
    ones registrations use. The same `seed` and `as_of` (default: today, 00:00 UTC) always give
    the same rows; `scale` sets the shared datasets' size per household.
    """
    if as_of is None:
        as_of = datetime.combine(datetime.now(UTC).date(), clock(), tzinfo=UTC)
    engine = create_engine(database_url, pool_size=1)
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, tuple[float, float | None]] = {}
    started = time.perf_counter()
    try:
        with progress_display(progress) as display:
            async with engine.begin() as conn:
                for name, value in SESSION_SETTINGS.items():
                    await conn.execute(
                        text("SELECT set_config(:name, :value, true)"),
                        {"name": name, "value": value},
                    )
                await lock_boundaries(conn, exclusive=True)
                load = FranceLoad(
                    households=households,
                    seed=seed,
                    resolution=resolution,
                    conn=conn,
                    as_of=as_of,
                    scale=scale or FranceScale(),
                )
                pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                clock_cpu = CpuClock(engine.url.host, pid)
                for stage in STAGES:
                    task = display.add_task(stage.name, total=1) if display else None
                    stage_started = time.perf_counter()
                    cpu_started = clock_cpu.read()
                    await stage.run(load, StageBar(display, task))
                    seconds[stage.name] = round(time.perf_counter() - stage_started, 2)
                    cpu_seconds[stage.name] = clock_cpu.since(cpu_started)
                backend_mb = backend_peak_rss_mb(engine.url.host, pid)
        async with engine.connect() as conn:
            rows = await table_rows(conn)
            size = await conn.execute(text("SELECT pg_database_size(current_database())"))
            database_bytes = int(size.scalar_one())
    finally:
        await engine.dispose()
    summary: dict[str, object] = {
        "households": rows["households"],
        "neighbourhoods": rows["neighbourhoods"],
        "polygon_neighbourhoods": load.counts["polygon_neighbourhoods"],
        "cell_neighbourhoods": rows["neighbourhoods"] - load.counts["polygon_neighbourhoods"],
        "households_in_polygons": load.counts["in_polygons"],
        "rows": rows,
        "database_bytes": database_bytes,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "index_seconds": {name: round(value, 2) for name, value in load.index_seconds.items()},
        "total_seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "backend_peak_rss_mb": None if backend_mb is None else round(backend_mb, 1),
    }
    if progress:
        Console(stderr=True).print(summary_table(summary))
    return summary

"""The France load's stages for what neighbours share: items and loans, gardens and waiting
lists, carpools and bookings, posts and comments.

Each stage plans its rows with numpy (`seeds.france_items`, ...), drops the table's secondary
indexes and foreign keys (rebuilt once by the "build indexes" stage), and streams COPY text in
chunks with `FREEZE`: the tables were truncated in this very transaction, so PostgreSQL writes
the rows already frozen and all-visible, and nothing has to rewrite them (hint bits, freezing)
on first read. The next chunk's text is made in a worker thread while the server parses the
current one, so the two cores both work. Ids are given explicitly (rows refer to each other by
plan index + 1) and each identity restarts after the largest. Every CHECK, exclusion constraint
and trigger of the tables stays on and is honoured by the plans: the triggers that copy public
locations onto items and gardens and count booked seats fire for every row, as for any insert.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from psycopg import sql
from sqlalchemy import text

from seeds.france_bookings import BOOKING_COLUMNS, BookingPlan, plan_bookings
from seeds.france_carpools import CARPOOL_COLUMNS, plan_carpools
from seeds.france_copy import driver_connection, drop_secondary_indexes
from seeds.france_gardens import GARDEN_COLUMNS, WAITLIST_COLUMNS, plan_gardens, plan_waitlist
from seeds.france_items import ITEM_COLUMNS, LOAN_COLUMNS, LoanPlan, plan_items, plan_loans, settle
from seeds.france_posts import COMMENT_COLUMNS, POST_COLUMNS, PostPlan, plan_comments, plan_posts
from seeds.france_rows import IntArray, Neighbours, chunk_bounds, epoch_s
from seeds.france_stage import FranceLoad, StageBar

ChunkText = Callable[[int, int], bytes]
T = TypeVar("T")

ASSIGNMENT = text("SELECT string_agg(neighbourhood_id::text, ',' ORDER BY id) FROM households")
RESTART_ID = text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :next, false)")


async def copy_rows(
    load: FranceLoad, bar: StageBar, table: str, columns: str, total: int, chunk: ChunkText
) -> None:
    """COPY `total` rows made by `chunk(start, stop)` into `table`, indexes off, ids 1..total."""
    load.dropped += [(table, ddl) for ddl in await drop_secondary_indexes(load.conn, table)]
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FREEZE)").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(name.strip()) for name in columns.split(",")),
    )
    raw = await driver_connection(load.conn)
    bounds = list(chunk_bounds(total))
    async with raw.cursor() as cursor, cursor.copy(statement) as copy:
        pending = asyncio.ensure_future(asyncio.to_thread(chunk, *bounds[0])) if bounds else None
        for index, (start, stop) in enumerate(bounds):
            assert pending is not None
            data = await pending
            if index + 1 < len(bounds):
                pending = asyncio.ensure_future(asyncio.to_thread(chunk, *bounds[index + 1]))
            await copy.write(data)
            bar.advance(stop - start)
    await load.conn.execute(RESTART_ID, {"table": table, "next": total + 1})
    load.counts[table] = total


def neighbours(load: FranceLoad) -> Neighbours:
    found = load.shared.get("neighbours")
    if not isinstance(found, Neighbours):
        found = Neighbours.of(load.require_plan().commune, len(load.require_communes()))
        load.shared["neighbours"] = found
    return found


def shared_plan(load: FranceLoad, name: str, kind: type[T]) -> T:
    found = load.shared.get(name)
    assert isinstance(found, kind), f"the stage planning {name} runs first"
    return found


async def read_assignment(load: FranceLoad, bar: StageBar) -> None:
    """Every household's neighbourhood, by id: posts are filed in their author's.

    One text value parsed by numpy: reading a million rows one by one (or COPY, which hands
    them over a row at a time) costs seconds of Python.
    """
    joined = (await load.conn.execute(ASSIGNMENT)).scalar_one()
    found: IntArray = (
        np.array(str(joined).split(","), dtype=np.int64) if joined else np.zeros(0, np.int64)
    )
    if len(found) != len(load.require_plan()):
        raise RuntimeError(f"{len(found)} households read back for {len(load.require_plan())}")
    load.neighbourhood_of = found
    neighbours(load)
    bar.advance()


async def copy_items(load: FranceLoad, bar: StageBar) -> None:
    """Items, planned with their loans (an item lent out right now is unavailable)."""
    plan, as_of_s = load.require_plan(), epoch_s(load.as_of)
    count = load.scale.count(load.scale.items_per_household, len(plan))
    items = plan_items(plan, count, seed=load.seed, as_of_s=as_of_s)
    loans = plan_loans(
        plan,
        neighbours(load),
        items.household,
        load.scale.count(load.scale.loans_per_item, count),
        seed=load.seed,
        as_of_s=as_of_s,
    )
    settle(items, loans)
    load.shared["loans"] = loans
    bar.total(count)
    await copy_rows(load, bar, "items", ITEM_COLUMNS, count, items.copy_text)


async def copy_loans(load: FranceLoad, bar: StageBar) -> None:
    loans = shared_plan(load, "loans", LoanPlan)
    bar.total(len(loans))
    await copy_rows(load, bar, "loans", LOAN_COLUMNS, len(loans), loans.copy_text)


async def copy_gardens(load: FranceLoad, bar: StageBar) -> None:
    plan, as_of_s = load.require_plan(), epoch_s(load.as_of)
    count = load.scale.count(load.scale.gardens_per_household, len(plan))
    gardens = plan_gardens(load.require_communes(), plan, count, seed=load.seed, as_of_s=as_of_s)
    waitlist = plan_waitlist(plan, neighbours(load), gardens, seed=load.seed, as_of_s=as_of_s)
    bar.total(count + len(waitlist))
    await copy_rows(load, bar, "gardens", GARDEN_COLUMNS, count, gardens.copy_text)
    await copy_rows(
        load, bar, "garden_waitlist", WAITLIST_COLUMNS, len(waitlist), waitlist.copy_text
    )


async def copy_carpools(load: FranceLoad, bar: StageBar) -> None:
    """Trips, planned with their bookings (a trip is offered before it is booked)."""
    plan, as_of_s = load.require_plan(), epoch_s(load.as_of)
    count = load.scale.count(load.scale.carpools_per_household, len(plan))
    carpools = plan_carpools(load.require_communes(), plan, count, seed=load.seed, as_of_s=as_of_s)
    load.shared["bookings"] = plan_bookings(
        plan, neighbours(load), carpools, seed=load.seed, as_of_s=as_of_s
    )
    bar.total(count)
    await copy_rows(load, bar, "carpools", CARPOOL_COLUMNS, count, carpools.copy_text)


async def copy_bookings(load: FranceLoad, bar: StageBar) -> None:
    """Bookings; the trigger counts each into `carpool_departures`."""
    bookings = shared_plan(load, "bookings", BookingPlan)
    bar.total(len(bookings))
    await copy_rows(
        load, bar, "carpool_bookings", BOOKING_COLUMNS, len(bookings), bookings.copy_text
    )


async def copy_posts(load: FranceLoad, bar: StageBar) -> None:
    plan, as_of_s = load.require_plan(), epoch_s(load.as_of)
    count = load.scale.count(load.scale.posts_per_household, len(plan))
    posts = plan_posts(plan, neighbours(load), count, seed=load.seed, as_of_s=as_of_s)
    load.shared["posts"] = posts
    neighbourhood_of = load.require_neighbourhoods()
    bar.total(count)
    await copy_rows(
        load,
        bar,
        "posts",
        POST_COLUMNS,
        count,
        lambda start, stop: posts.copy_text(start, stop, plan, neighbourhood_of),
    )


async def copy_comments(load: FranceLoad, bar: StageBar) -> None:
    plan, as_of_s = load.require_plan(), epoch_s(load.as_of)
    posts = shared_plan(load, "posts", PostPlan)
    count = load.scale.count(load.scale.comments_per_post, len(posts))
    comments = plan_comments(plan, neighbours(load), posts, count, seed=load.seed, as_of_s=as_of_s)
    bar.total(count)
    await copy_rows(load, bar, "comments", COMMENT_COLUMNS, count, comments.copy_text)

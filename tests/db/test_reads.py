"""The searches' read path straight through psycopg (db.fastpaths.reads) on the real database.

`ReadStatement` must give the rows SQLAlchemy would have given for the same statement and
parameters, or refuse the statement; the `ReadPool`'s connections must be read-only, replaced
when the server hung up on them, and never reopened once the pool is closed.

Places are real: Chavenay (lng 1.99, lat 48.85), its town hall, and Maule (lng 1.8547,
lat 48.9097), about 12 km to the north-west.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Json
from psycopg_pool import PoolClosed
from sqlalchemy import (
    JSON,
    Float,
    Integer,
    Numeric,
    Text,
    bindparam,
    cast,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from api.runtime import libpq_url
from db.fastpaths.reads import (
    OBSERVERS,
    ReadPool,
    ReadStatement,
    UnsupportedStatement,
    fetch_all,
)
from db.models import Item
from db.queries.households import register_household
from db.queries.items import (
    ITEM_COUNT,
    NearbyItem,
    create_item,
    lenders_parameters,
    nearest_lenders_read,
    nearest_lenders_statement,
    to_nearby,
)
from geo.coords import LngLat

CHAVENAY = LngLat(lng=1.99, lat=48.85)
TOWN_HALL = LngLat(lng=1.98676, lat=48.85330)
MAULE = LngLat(lng=1.8547, lat=48.9097)


@pytest.fixture
async def reads(database_url: str) -> AsyncIterator[ReadPool]:
    pool = ReadPool(libpq_url(database_url), size=2, timeout_s=5.0)
    try:
        yield pool
    finally:
        await pool.close()


async def lend(
    engine: AsyncEngine, name: str, home: LngLat, items: list[tuple[str, str]]
) -> list[int]:
    """A household at `home` lending `items` ((title, category) pairs); the items' ids."""
    async with engine.begin() as conn:
        household = await register_household(conn, name=name, home=home, resolution=7)
        return [
            (
                await create_item(
                    conn,
                    household.id,
                    title=title,
                    description=f"{title}, prêté par {name}",
                    category=category,
                    condition="GOOD",
                    terms="DEPOSIT" if category == "TOOLS" else "FREE",
                    deposit_cents=2_000 if category == "TOOLS" else None,
                    price_per_day_cents=None,
                    photo_urls=[
                        f"https://example.org/{household.id}/{index}.jpg" for index in range(2)
                    ],
                )
            ).id
            for title, category in items
        ]


async def lenders_near_chavenay(engine: AsyncEngine) -> None:
    await lend(
        engine,
        "Famille Martin",
        CHAVENAY,
        [("Perceuse à percussion", "TOOLS"), ("Taille-haie", "GARDEN"), ("Escabeau", "TOOLS")],
    )
    await lend(engine, "Famille Petit", TOWN_HALL, [("Perceuse sans fil", "TOOLS")])
    await lend(engine, "Famille Durand", MAULE, [("Tondeuse", "GARDEN"), ("Scie", "TOOLS")])


def by_distance(rows: list[Any]) -> list[tuple[Any, ...]]:
    """Rows as plain tuples in (distance_m, id) order: `WITH TIES` leaves ties unordered."""
    return sorted((tuple(row) for row in rows), key=lambda row: (row[ITEM_COUNT], row[0]))


async def both_ways(
    engine: AsyncEngine,
    reads: ReadPool,
    *,
    category: str | None = None,
    query: str | None = None,
    after: tuple[float, int] | None = None,
    limit: int = 10,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of one nearest-lenders search from Chavenay, through SQLAlchemy and through
    the read pool, with the same parameters."""
    shape = {"category": category is not None, "query": query is not None}
    parameters = lenders_parameters(
        CHAVENAY,
        category=category,
        query=query,
        limit=limit,
        after=after,
        max_distance_m=20_000,
    )
    async with engine.connect() as conn:
        result = await conn.execute(
            nearest_lenders_statement(**shape, resumed=after is not None), parameters
        )
        through_sqlalchemy = by_distance(list(result.all()))
    async with reads.connection() as read:
        through_psycopg = by_distance(
            await fetch_all(
                read, nearest_lenders_read(**shape, resumed=after is not None), parameters
            )
        )
    return through_sqlalchemy, through_psycopg


def nearby(rows: list[tuple[Any, ...]]) -> list[NearbyItem]:
    return [to_nearby(row) for row in rows]


async def test_nearest_lenders_rows_are_those_sqlalchemy_gives(
    clean_db: AsyncEngine, reads: ReadPool
) -> None:
    await lenders_near_chavenay(clean_db)
    expected, actual = await both_ways(clean_db, reads)
    assert actual == expected
    assert nearby(actual) == nearby(expected)
    found = nearby(actual)
    assert len(found) == 6
    # Public points are displaced at random: Chavenay's two households come first, in either
    # order, and Maule's last.
    assert sorted(item.lender.name for item in found[:4]) == ["Famille Martin"] * 3 + [
        "Famille Petit"
    ]
    assert [item.lender.name for item in found[4:]] == ["Famille Durand"] * 2
    household_id = found[0].item.household_id
    assert found[0].item.photo_urls == (
        f"https://example.org/{household_id}/0.jpg",
        f"https://example.org/{household_id}/1.jpg",
    )
    assert isinstance(actual[0][ITEM_COUNT], float)  # distance_m, metres
    assert 10_000 < actual[-1][ITEM_COUNT] < 13_000  # Maule


async def test_filtered_and_resumed_searches_give_the_same_rows(
    clean_db: AsyncEngine, reads: ReadPool
) -> None:
    await lenders_near_chavenay(clean_db)
    _, everything = await both_ways(clean_db, reads)
    first = everything[0]
    searches = [
        await both_ways(clean_db, reads, category="TOOLS"),
        await both_ways(clean_db, reads, query="perceuse"),
        await both_ways(clean_db, reads, query="le des"),  # stop words only: no filter
        await both_ways(clean_db, reads, category="GARDEN", query="tondeuse"),
        await both_ways(clean_db, reads, after=(first[ITEM_COUNT], first[0]), limit=2),
        await both_ways(clean_db, reads, category="TOOLS", query="-scie", after=(0.0, 0)),
    ]
    for expected, actual in searches:
        assert actual == expected
        assert nearby(actual) == nearby(expected)
    titles = [[item.item.title for item in nearby(actual)] for _, actual in searches]
    assert sorted(titles[0]) == ["Escabeau", "Perceuse sans fil", "Perceuse à percussion", "Scie"]
    assert sorted(titles[1]) == ["Perceuse sans fil", "Perceuse à percussion"]
    assert len(titles[2]) == 6
    assert titles[3] == ["Tondeuse"]
    assert len(titles[4]) >= 2 and first[0] not in [row[0] for row in searches[4][1]]
    assert sorted(titles[5]) == ["Escabeau", "Perceuse sans fil", "Perceuse à percussion"]


async def test_an_expanding_in_parameter_is_refused() -> None:
    with pytest.raises(UnsupportedStatement, match="rendered"):
        ReadStatement.of(select(Item.id).where(Item.id.in_([1, 2])))
    with pytest.raises(UnsupportedStatement, match="'ids'"):
        ReadStatement.of(select(Item.id).where(Item.id.in_(bindparam("ids", expanding=True))))


def test_parameters_refuse_unknown_names() -> None:
    statement = ReadStatement.of(
        select(Item.id).where(Item.id == bindparam("item_id", type_=Integer)).limit(1)
    )
    assert statement.required == frozenset({"item_id"})
    assert statement.parameters({"item_id": 3}) == {"item_id": 3, **statement.defaults}
    with pytest.raises(KeyError, match="itemId"):
        statement.parameters({"item_id": 3, "itemId": 3})


def test_bind_processors_apply_to_defaults_and_to_given_values() -> None:
    statement = ReadStatement.of(
        select(literal({"a": 1}, JSON).label("bound"), bindparam("given", type_=JSON))
    )
    assert statement.required == frozenset({"given"})
    (default_name,) = statement.defaults
    default = statement.defaults[default_name]
    assert isinstance(default, Json) and default.obj == {"a": 1}
    parameters = statement.parameters({"given": [1, "deux"]})
    assert set(parameters) == {default_name, "given"}
    assert isinstance(parameters["given"], Json) and parameters["given"].obj == [1, "deux"]
    assert parameters[default_name] is default


async def test_bound_values_reach_the_database_as_sqlalchemy_sends_them(reads: ReadPool) -> None:
    statement = ReadStatement.of(
        select(
            literal({"a": 1}, JSON).label("bound"),
            bindparam("given", type_=JSON).label("given"),
            (bindparam("n", type_=Integer) + literal(1)).label("total"),
        )
    )
    async with reads.connection() as conn:
        rows = await fetch_all(conn, statement, {"given": {"b": [2]}, "n": 41})
    assert [tuple(row) for row in rows] == [({"a": 1}, {"b": [2]}, 42)]
    assert (rows[0].bound, rows[0].total) == ({"a": 1}, 42)


async def test_a_result_column_sqlalchemy_would_convert_is_refused(reads: ReadPool) -> None:
    statement = ReadStatement.of(
        select(cast(literal("1.5"), Numeric(asdecimal=False)).label("amount"))
    )
    async with reads.connection() as conn:
        for _ in range(2):  # not only the first time
            with pytest.raises(UnsupportedStatement, match="'amount' needs SQLAlchemy"):
                await fetch_all(conn, statement, {})
    assert not statement.results_checked


@pytest.mark.parametrize(
    ("array_type", "array"),
    [
        (ARRAY(Text), "{a,b}"),
        (ARRAY(Integer), "{1,2}"),
        (ARRAY(Float), "{1,2.5}"),
        (ARRAY(Numeric), "{1,2.5}"),
        (ARRAY(Numeric(asdecimal=False)), "{1,2.5}"),
    ],
    ids=["text", "integer", "float", "numeric", "numeric-as-float"],
)
async def test_array_columns_give_sqlalchemy_rows_or_are_refused(
    engine: AsyncEngine, reads: ReadPool, array_type: ARRAY[Any], array: str
) -> None:
    """SQLAlchemy reads `numeric[]` as Decimals, or as floats for `asdecimal=False`: either
    the pool gives the rows SQLAlchemy gives, or the statement is refused as unsupported."""
    select_array = select(cast(literal(array), array_type).label("values"))
    async with engine.connect() as conn:
        expected = [tuple(row) for row in (await conn.execute(select_array)).all()]
    statement = ReadStatement.of(select_array)
    async with reads.connection() as conn:
        try:
            rows = await fetch_all(conn, statement, {})
        except UnsupportedStatement:
            assert not statement.results_checked
            # numbers: refused, not guessed
            assert isinstance(array_type.item_type, Numeric | Float)
            return
    assert [tuple(row) for row in rows] == expected
    assert [[type(value) for value in row[0]] for row in rows] == [
        [type(value) for value in row[0]] for row in expected
    ]


async def test_result_columns_psycopg_reads_as_sqlalchemy_are_accepted(reads: ReadPool) -> None:
    statement = ReadStatement.of(
        select(
            cast(literal("{a,b}"), ARRAY(Text)).label("tags"),
            cast(literal("2.5"), Numeric).label("amount"),
            cast(literal("0.5"), Float).label("ratio"),
        )
    )
    async with reads.connection() as conn:
        rows = await fetch_all(conn, statement, {})
        again = await fetch_all(conn, statement, {})
    assert statement.results_checked
    assert [tuple(row) for row in rows] == [(["a", "b"], Decimal("2.5"), 0.5)]
    assert [tuple(row) for row in again] == [tuple(row) for row in rows]
    assert rows[0].tags == ["a", "b"]


async def test_pool_connections_are_read_only(reads: ReadPool) -> None:
    async with reads.connection() as conn:
        assert conn.autocommit
        shown = await (await conn.execute("SHOW transaction_read_only")).fetchone()
        assert shown == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            await conn.execute("CREATE TABLE read_pool_probe (a int)")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            await conn.execute(
                "INSERT INTO neighbourhoods (name, kind) VALUES ('Nulle part', 'CELL')"
            )
        # Autocommit: the failed statement leaves no aborted transaction behind.
        assert await (await conn.execute("SELECT 1")).fetchone() == (1,)


async def test_connections_the_server_closed_are_replaced_on_checkout_at_once(
    database_url: str,
) -> None:
    pool = ReadPool(libpq_url(database_url), size=4, timeout_s=5.0)
    try:
        async with contextlib.AsyncExitStack() as stack:
            held = [await stack.enter_async_context(pool.connection()) for _ in range(4)]
            old = set()
            for conn in held:
                row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
                assert row is not None
                old.add(int(row[0]))
        assert len(old) == 4
        with psycopg.connect(libpq_url(database_url), autocommit=True) as admin:
            for pid in old:  # as a restart does to every idle connection
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        for _ in range(3):
            async with pool.connection() as conn:
                row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
            assert row is not None
            assert int(row[0]) not in old
        # Four dead connections skipped without psycopg_pool's back-off (1 s, 2 s, 4 s...).
        assert time.perf_counter() - started < 1.0
    finally:
        await pool.close()


async def test_the_urls_own_options_are_kept_beside_read_only(database_url: str) -> None:
    conninfo = make_conninfo(libpq_url(database_url), options="-c statement_timeout=1234")
    pool = ReadPool(conninfo, size=1)
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT current_setting('statement_timeout'), "
                "current_setting('default_transaction_read_only')"
            )
            assert await cursor.fetchone() == ("1234ms", "on")
    finally:
        await pool.close()


async def test_observers_see_statements_and_checkouts(reads: ReadPool) -> None:
    statement = ReadStatement.of(
        select((bindparam("n", type_=Integer) + literal(1)).label("total"))
    )
    statements: list[tuple[str, dict[str, Any]]] = []
    checkouts: list[None] = []

    def see_statement(sql: str, parameters: Mapping[str, Any]) -> None:
        statements.append((sql, dict(parameters)))

    def see_checkout() -> None:
        checkouts.append(None)

    OBSERVERS.statements.append(see_statement)
    OBSERVERS.checkouts.append(see_checkout)
    try:
        async with reads.connection() as conn:
            rows = await fetch_all(conn, statement, {"n": 41})
            await fetch_all(conn, statement, {"n": 1})
        async with reads.connection():
            pass
        async with reads.connection():
            pass
    finally:
        OBSERVERS.statements.remove(see_statement)
        OBSERVERS.checkouts.remove(see_checkout)
    assert [tuple(row) for row in rows] == [(42,)]
    (default_name,) = statement.defaults
    assert statements == [
        (statement.sql, {"n": 41, default_name: 1}),
        (statement.sql, {"n": 1, default_name: 1}),
    ]
    assert "%(n)s" in statement.sql
    assert len(checkouts) == 3


async def test_closing_a_pool_never_opened_is_harmless_and_final(database_url: str) -> None:
    pool = ReadPool(libpq_url(database_url), size=1, timeout_s=2.0)
    try:
        await pool.close()
        await pool.close()
        with pytest.raises(PoolClosed):
            async with pool.connection():
                pass
    finally:
        await pool.close()


async def test_a_closed_pool_is_not_reopened(database_url: str) -> None:
    pool = ReadPool(libpq_url(database_url), size=1, timeout_s=2.0)
    try:
        async with pool.connection() as conn:
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
        await pool.close()
        with pytest.raises(PoolClosed):
            async with pool.connection():
                pass
        await pool.open()  # as a late first search would: still closed
        with pytest.raises(PoolClosed):
            async with pool.connection():
                pass
    finally:
        await pool.close()


def test_parameters_sqlalchemy_renders_or_renames_are_refused() -> None:
    literal_executed = select(literal(1).label("one")).where(
        bindparam("n", 1, type_=Integer, literal_execute=True) > 0
    )
    with pytest.raises(UnsupportedStatement, match="rendered"):
        ReadStatement.of(literal_executed)
    with pytest.raises(UnsupportedStatement, match="names"):
        ReadStatement.of(select(bindparam("x y", type_=Integer).label("v")))

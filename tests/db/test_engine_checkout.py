"""Checkout hands out live connections without a pre-ping round trip (db.engine)."""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import event, text

from api.runtime import libpq_url
from db.engine import create_engine


async def test_a_connection_the_server_closed_is_replaced_on_checkout(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        async with engine.connect() as first, engine.connect() as second:
            old = {
                (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                for conn in (first, second)
            }
        with psycopg.connect(libpq_url(database_url), autocommit=True) as admin:
            for pid in old:  # as a restart does to every idle connection
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.2)
        statements.clear()
        for _ in range(3):
            async with engine.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert pid not in old
    finally:
        await engine.dispose()
    assert statements == ["SELECT pg_backend_pid()"] * 3  # no ping statement in between

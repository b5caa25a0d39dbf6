"""Test fixtures on a real PostgreSQL + PostGIS.

The session gets a fresh, uniquely named database (so concurrent or leftover runs never
collide), migrated to head and dropped at the end. Tests that touch data use `clean_db`, which
empties every table after the test, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.runtime import libpq_url
from api.settings import PROJECT_ROOT, Settings
from db.embedded import EmbeddedPostgres
from db.engine import create_engine
from db.migrate import upgrade
from db.models import Base


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A server-level URL: DATABASE_URL's server when set, else the embedded cluster."""
    configured = Settings.from_env().database_url
    if configured:
        yield make_url(configured).set(database="postgres").render_as_string(hide_password=False)
        return
    cluster = EmbeddedPostgres(data_dir=PROJECT_ROOT / ".data" / "postgres")
    cluster.start()
    try:
        yield cluster.url("postgres")
    finally:
        if not other_clients(cluster.url("postgres")):
            cluster.stop()


def other_clients(server_url: str) -> int:
    """Connections of other processes (a `make run`, a parallel test run) still on the cluster.

    The run that started the cluster leaves it up for them rather than cutting them off.
    """
    with psycopg.connect(libpq_url(server_url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    name = f"voisinage_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Cheap Argon2 parameters: the suite signs up hundreds of accounts.
    return Settings(
        database_url=database_url, data_dir=PROJECT_ROOT / ".data", password_hashing="fast"
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=4)
    yield engine
    await engine.dispose()


TABLES = ", ".join(table.name for table in Base.metadata.sorted_tables)


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The engine, with every table emptied after the test."""
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))

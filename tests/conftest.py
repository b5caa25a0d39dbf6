"""Test fixtures on a real PostgreSQL + PostGIS.

The session gets a fresh, uniquely named database (so concurrent or leftover runs never
collide), migrated to head and dropped at the end. Tests that touch data use `clean_db`, which
empties every table after the test, so tests never see each other's rows.

A run leaves nothing behind: the hooks at the end stop any process a test started and remove its
temporary files, and fail the run when there were any (tests/leftovers.py).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

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
from tests import leftovers
from tests.replication import replicated  # noqa: F401 - a session fixture (~15 s), made once
from tests.servers import server_groups

LEFTOVERS = pytest.StashKey[leftovers.Run]()
shared_clusters: list[Path] = []
"""Data directories of the project's cluster as this run found it: not a leftover (see
`server_url`: it stays up for other clients, and its data is kept)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast-paths",
        choices=("on", "off", "auto"),
        default="on",
        help="FAST_PATHS of the `settings` fixture: off runs the suite on the libraries' stock "
        "paths (api/fastpaths); the Makefile runs a share of tests/api so",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[LEFTOVERS] = leftovers.begin()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every fixture's teardown: stop and remove what the tests left, and fail if any."""
    run = session.config.stash.get(LEFTOVERS, None)
    if run is None:
        return
    problems = leftovers.finish(run, server_groups=server_groups, keep=shared_clusters)
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    heading = "the run left these behind (now stopped and removed): fix the test that made them"
    if reporter is not None:
        reporter.write_line("")  # the progress line may still be open
        reporter.section("leftovers", sep="=", red=True, bold=True)
        reporter.write_line(heading)
        for problem in problems:
            reporter.write_line(f"  {problem}")
    else:
        print(heading, *problems, sep="\n  ", file=sys.stderr)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A server-level URL: DATABASE_URL's server when set, else the embedded cluster."""
    configured = Settings.from_env().database_url
    if configured:
        yield make_url(configured).set(database="postgres").render_as_string(hide_password=False)
        return
    cluster = EmbeddedPostgres(data_dir=PROJECT_ROOT / ".data" / "postgres")
    cluster.start()
    shared_clusters.append(cluster.resolved_data_dir)
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
        # A test database is thrown away: its commits need not wait for the WAL to reach the
        # disk (the suite commits tens of thousands of times; durability is not under test here).
        conn.execute(
            psycopg.sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                psycopg.sql.Identifier(name)
            )
        )
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
def settings(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Settings:
    # Cheap Argon2 parameters: the suite signs up hundreds of accounts; their e-mails go to a
    # temporary outbox, not the developer's (.data/outbox). `--fast-paths=off`: the stock paths.
    return Settings(
        database_url=database_url,
        data_dir=PROJECT_ROOT / ".data",
        password_hashing="fast",
        mail_outbox=tmp_path_factory.mktemp("outbox"),
        fast_paths=pytestconfig.getoption("--fast-paths"),
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

"""Alembic migrations on a database of their own: upgrade → downgrade → upgrade round-trips."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from api.runtime import libpq_url
from db.migrate import current_revision, downgrade, head_revision, upgrade

TABLES = ("neighbourhoods", "households")


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A fresh, uniquely named database with nothing in it, dropped (even if in use) afterwards."""
    name = f"voisinage_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def existing_tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name = ANY(%s)",
            (list(TABLES),),
        ).fetchall()
    return {row[0] for row in rows}


def installed_extensions(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        return {row[0] for row in conn.execute("SELECT extname FROM pg_extension").fetchall()}


def test_upgrade_downgrade_upgrade_round_trips(empty_database_url: str) -> None:
    url = empty_database_url
    head = head_revision()
    assert head is not None
    assert current_revision(url) is None
    assert existing_tables(url) == set()

    upgrade(url)

    assert existing_tables(url) == set(TABLES)
    assert "postgis" in installed_extensions(url)
    assert current_revision(url) == head

    downgrade(url, "base")

    assert existing_tables(url) == set()
    assert current_revision(url) is None

    upgrade(url)

    assert existing_tables(url) == set(TABLES)
    assert current_revision(url) == head

"""The async engine: one per process, owned by the app's lifespan (or a CLI command)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.fastpaths.reads import why_dead


def async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (as docker-compose and libpq users write them)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str, *, pool_size: int = 8, connect_timeout_s: float | None = None
) -> AsyncEngine:
    """More than about 8-10 connections only slows PostgreSQL down on a 2-core machine.

    Connections are checked on checkout by `refuse_dead_connection` rather than SQLAlchemy's
    `pool_pre_ping`, whose round trip (and autocommit switching around it) cost a request
    about as much CPU as its query. `connect_timeout_s` bounds a new connection (a standby's,
    `db.replicas`: one that does not answer must not hold a read longer than going to the
    primary would); None: libpq's default (no limit).
    """
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=10,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={}
        if connect_timeout_s is None
        else {"connect_timeout": max(1, round(connect_timeout_s))},
    )
    event.listen(engine.sync_engine.pool, "checkout", refuse_dead_connection)
    return engine


def refuse_dead_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pre-ping without the round trip: an idle connection has nothing to read, so a socket
    that is readable (PostgreSQL's goodbye after a restart, or end of file) or closed means the
    server is gone. Raising InvalidatePoolError makes the pool drop every connection opened
    before now and hand out a new one, as a failed pre-ping does; a request is never given a
    connection its server has closed. (A silent network loss is not seen here: the first
    statement fails instead, and the pool is invalidated then.)"""
    reason = why_dead(dbapi_connection.driver_connection)
    if reason is not None:
        raise InvalidatePoolError(reason)

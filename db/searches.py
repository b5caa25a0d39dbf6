"""How the nearest-first searches reach the database, on either path FAST_PATHS chooses.

- FAST_PATHS=on: `db.fastpaths.reads.ReadPool`, psycopg connections of their own, each
  statement compiled once and prepared;
- FAST_PATHS=off: `EngineReads`, SQLAlchemy's async engine in autocommit, each statement's
  `Select` executed as SQLAlchemy documents it (the stock path).

Both hand out a connection with `connection()`, and `fetch_all` runs a `ReadStatement` on either:
the queries (`db.queries.proximity` and the searches built on it) do not know which path runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.fastpaths import reads
from db.fastpaths.reads import ReadStatement

ReadConnection = reads.ReadConnection | AsyncConnection
"""A connection of either path: psycopg's (fast, `db.fastpaths.reads.ReadConnection`) or
SQLAlchemy's (stock)."""


class Reads(Protocol):
    """Where the searches' statements run; opened and closed by the application's lifespan."""

    def connection(self) -> AbstractAsyncContextManager[ReadConnection]: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...


class EngineReads:
    """The stock path: the application's SQLAlchemy engine, autocommit (no BEGIN/ROLLBACK per
    search), sharing the engine's pool (DB_POOL_SIZE) instead of a read pool of its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[ReadConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def open(self) -> None:
        """Nothing to open: the engine connects lazily and the lifespan disposes of it."""

    async def close(self) -> None:
        """Nothing to close: the engine is the application's."""


async def fetch_all(
    conn: ReadConnection, statement: ReadStatement, values: Mapping[str, Any]
) -> Sequence[Any]:
    """The rows of `statement` with `values` bound; positions and names both work on them
    (psycopg's named tuples, SQLAlchemy's `Row`s)."""
    if isinstance(conn, AsyncConnection):
        unknown = values.keys() - statement.required
        if unknown:  # as the fast path refuses them
            raise KeyError(f"not parameters of this statement: {sorted(unknown)}")
        rows: Sequence[Any] = (await conn.execute(statement.select, dict(values))).all()
        return rows
    return await reads.fetch_all(conn, statement, values)

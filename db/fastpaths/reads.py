"""The hottest read-only statements, run straight through a psycopg pool.

Replaces: SQLAlchemy's asyncio engine (`AsyncConnection.execute`) for the nearest-first searches'
statements; the stock path, `db.searches.EngineReads`, runs the same `Select` through it when
FAST_PATHS=off.

Why: a nearest-first search runs one short statement (~0.2 ms of client CPU in psycopg), yet went
through SQLAlchemy's asyncio layer at ~0.6 ms: a greenlet per checkout, the switch to
autocommit and back, the cursor and row wrappers. Figure (bench/README.md, fourth session;
commit 410b2b1): client CPU of one search 0.61 -> 0.21 ms, part of nearestLenders going from
2.98 ms p50 / 636 req/s to 1.70 ms / 1,065 req/s at 8 clients.

Tested with: sqlalchemy 2.1.9, psycopg 3.3.9, psycopg-pool 3.3.3 (`db.fastpaths.TESTED_WITH`;
a different installed version is logged at import, and FAST_PATHS=auto then runs stock).

The searches (`nearestLenders`, `gardensNear`, `postsNear`) still *build* their statements with
SQLAlchemy Core, once per shape; `ReadStatement` turns one into the SQL text and the default
parameters that psycopg runs as a prepared statement on a `ReadPool` connection, and keeps the
`Select` itself for the stock path.

The pool's connections are autocommit and `default_transaction_read_only`: a statement sent
through it that tried to write would fail in PostgreSQL, not land.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import Column
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.types import ARRAY, Enum, TypeEngine

DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]
READ_ONLY = "-c default_transaction_read_only=on"

ReadConnection = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, slots=True)
class Observers:
    """Who wants to see what goes through the pool (the benchmark replays the statements raw,
    as it does those SQLAlchemy reports through its `before_cursor_execute` event)."""

    statements: list[Callable[[str, Mapping[str, Any]], None]] = field(default_factory=list)
    checkouts: list[Callable[[], None]] = field(default_factory=list)


OBSERVERS = Observers()


class UnsupportedStatement(ValueError):
    """A statement whose parameters or results SQLAlchemy would have converted on the way."""


@dataclass(slots=True)
class ReadStatement:
    """A SQLAlchemy `Select` compiled once for psycopg: its SQL text (named `%(x)s` placeholders)
    and the values of the parameters SQLAlchemy bound itself (literals such as an SRID). The
    `Select` is kept: the stock path (FAST_PATHS=off, `db.searches`) executes it as it is."""

    select: Select[Any]
    sql: str
    defaults: Mapping[str, Any]
    required: frozenset[str]
    """The parameters each execution must give (`bindparam("limit")` and the like)."""
    processors: Mapping[str, Callable[[Any], Any]]
    """What SQLAlchemy would do to a parameter's value before sending it (e.g. bool())."""
    column_types: tuple[TypeEngine[Any], ...]
    """The selected columns' types as this dialect reads them, checked on the first result."""
    results_checked: bool = False

    @classmethod
    def of(cls, statement: Select[Any]) -> ReadStatement:
        """Compile `statement`; refused (where statements are built, once) when a parameter has
        a converter that only SQLAlchemy's execution would apply, or is expanded at execution
        (`IN` lists). Result columns are checked likewise on the first result (`check_result`):
        their converters depend on the types PostgreSQL answers with."""
        compiled = statement.compile(dialect=DIALECT)
        if compiled.escaped_bind_names:  # `x y` sent as `%(x_y)s`: names would not match
            raise UnsupportedStatement(f"parameter names {sorted(compiled.escaped_bind_names)}")
        processors: dict[str, Callable[[Any], Any]] = {}
        defaults: dict[str, Any] = {}
        required: set[str] = set()
        for bind in compiled.binds.values():
            name = compiled.bind_names[bind]
            if bind.expanding or bind.literal_execute:
                raise UnsupportedStatement(f"parameter {name!r} is rendered by SQLAlchemy")
            processor = bind.type.dialect_impl(DIALECT).bind_processor(DIALECT)
            if processor is not None:
                processors[name] = processor
            if bind.required:
                required.add(name)
            else:  # a value SQLAlchemy bound itself, e.g. an SRID
                value = bind.effective_value
                defaults[name] = processor(value) if processor is not None else value
        return cls(
            select=statement,
            sql=str(compiled),
            defaults=defaults,
            required=frozenset(required),
            processors=processors,
            column_types=tuple(
                column.type.dialect_impl(DIALECT) for column in statement.selected_columns
            ),
        )

    def check_result(self, description: Sequence[Column]) -> None:
        """Refuse a result a column of which SQLAlchemy would have converted (a Decimal into a
        float, say): the rows psycopg gives must be the rows SQLAlchemy would have given."""
        for column_type, column in zip(self.column_types, description, strict=True):
            if not reads_as_is(column_type, column.type_code):
                raise UnsupportedStatement(f"column {column.name!r} needs SQLAlchemy to read it")
        self.results_checked = True

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        unknown = values.keys() - self.required
        if unknown:
            raise KeyError(f"not parameters of this statement: {sorted(unknown)}")
        parameters = {**self.defaults, **values}
        for name in self.processors.keys() & values.keys():
            parameters[name] = self.processors[name](parameters[name])
        return parameters


def reads_as_is(column_type: TypeEngine[Any], type_code: int) -> bool:
    """Whether SQLAlchemy would hand over psycopg's value unchanged. An ARRAY always has a
    converter, which for items without one and a list result only copies the list psycopg
    built (`ARRAY._apply_item_processor`)."""
    if column_type.result_processor(DIALECT, type_code) is None:
        return True
    if isinstance(column_type, ARRAY) and not column_type.as_tuple:
        item_type = column_type.item_type
        if isinstance(item_type, Enum):
            return False
        try:  # numeric items need the element's type code, which an array column does not give
            return item_type.dialect_impl(DIALECT).result_processor(DIALECT, None) is None
        except (TypeError, InvalidRequestError):
            return False
    return False


async def fetch_all(
    conn: ReadConnection, statement: ReadStatement, values: Mapping[str, Any]
) -> list[Any]:
    """The rows of `statement` with `values` bound, as named tuples (positions and names both
    work, as on a SQLAlchemy `Row`). Prepared on the connection: it is planned once."""
    cursor = conn.cursor(row_factory=namedtuple_row)
    parameters = statement.parameters(values)
    for observe in OBSERVERS.statements:
        observe(statement.sql, parameters)
    await cursor.execute(statement.sql, parameters, prepare=True)
    if not statement.results_checked and cursor.description is not None:
        statement.check_result(cursor.description)
    return await cursor.fetchall()


def why_dead(conn: ReadConnection) -> str | None:
    """Why an idle connection is dead, if it is, without a round trip: closed or broken, or
    its socket readable (an idle connection has nothing to read: PostgreSQL's goodbye after a
    restart, or end of file). None: it looks alive. Both pools check their connections so."""
    if conn.closed or conn.broken:
        return "connection closed"
    try:
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN)
        events = poller.poll(0)
    except (OSError, ValueError, psycopg.OperationalError):  # no socket any more
        return "connection socket unusable"
    return "server closed the connection (restart?)" if events else None


class ReadPool:
    """Autocommit, read-only connections for the searches; one pool per process, opened and
    closed by the application's lifespan. `timeout_s`: the longest a request waits for a
    connection before failing (as the SQLAlchemy pool's `pool_timeout`)."""

    def __init__(self, conninfo: str, *, size: int, timeout_s: float = 10.0) -> None:
        given = conninfo_to_dict(conninfo).get("options")
        self.size = size
        self.pool: AsyncConnectionPool[ReadConnection] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            timeout=timeout_s,
            open=False,
            # The URL's own `options` (a search_path, a statement_timeout) are kept.
            kwargs={"autocommit": True, "options": f"{given} {READ_ONLY}" if given else READ_ONLY},
            name="reads",
        )
        self.started = False
        self.opening = asyncio.Lock()

    async def open(self) -> None:
        """Start connecting in the background: a database not up yet delays searches, not the
        start of the server (as the SQLAlchemy pool connects lazily). Done by the first search
        when the application was served without its lifespan (as by tests' ASGI transports);
        never again once closed."""
        async with self.opening:
            if not self.started:
                self.started = True
                await self.pool.open(wait=False)

    async def close(self) -> None:
        self.started = True
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[ReadConnection]:
        if not self.started:
            await self.open()
        for observe in OBSERVERS.checkouts:
            observe()
        conn = await self.live_connection()
        try:
            yield conn
        finally:
            await self.pool.putconn(conn)

    async def live_connection(self) -> ReadConnection:
        """A connection whose server is still there, checked without a round trip. The dead
        ones a restart left are closed and handed back (the pool replaces them) one after the
        other without waiting: psycopg_pool's own `check` backs off a second, then two, then
        four... after each failure, which after a restart held searches for seconds."""
        for _ in range(self.size):
            conn = await self.pool.getconn()
            if why_dead(conn) is None:
                return conn
            await conn.close()
            await self.pool.putconn(conn)
        return await self.pool.getconn()  # all were dead: this one is new

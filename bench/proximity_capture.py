"""The API in this process (`create_app` + httpx's ASGI transport): what SQL a request sends,
and where a request's time goes.

Capture: every statement the app hands to psycopg (SQLAlchemy's `before_cursor_execute`, with
its final SQL text and parameters), plus pool checkouts (each pings the server first,
`pool_pre_ping`) and transactions opened on non-autocommit connections (BEGIN ... ROLLBACK).
The raw-SQL side of the benchmark replays exactly the captured statements.

Profile: cProfile over many sequential requests, each function's own time put in a bucket by
the package it belongs to (parsing, validation, execution and field resolution, SQLAlchemy,
psycopg, waiting for the database, JSON, HTTP/ASGI, the test client). cProfile slows Python
code, not the wait for PostgreSQL, so the Python buckets are scaled to the unprofiled time.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from api.app import create_app
from api.settings import PROJECT_ROOT, Settings

Statement = tuple[str, dict[str, Any]]
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting for PostgreSQL (epoll)", ("select.epoll",)),
    ("GraphQL parsing", ("graphql/language/",)),
    ("GraphQL validation (+ cost/depth rules)", ("graphql/validation/", "api/cost.py")),
    ("execution, field resolution (graphql-core)", ("graphql/execution/", "graphql/pyutils")),
    ("Strawberry (schema, types, DataLoaders)", ("strawberry/",)),
    ("resolvers and types (api/)", ("api/resolvers/", "api/types/", "api/context.py")),
    ("SQLAlchemy (compile, execute, rows)", ("sqlalchemy/",)),
    ("psycopg (driver, adapters)", ("psycopg/", "psycopg_binary", "psycopg_pool")),
    ("JSON serialisation", ("json/", "_json")),
    ("HTTP, ASGI, middleware (Starlette, api/)", ("starlette/", "api/", "anyio/")),
    ("test client (httpx ASGI transport)", ("httpx/", "h11/")),
    ("asyncio event loop", ("asyncio/",)),
)
OTHER = "other"


@dataclass
class StatementLog:
    """What the app sends, between two `reset()`s."""

    statements: list[Statement] = field(default_factory=list)
    checkouts: int = 0
    transactions: int = 0
    recording: bool = False

    def reset(self) -> None:
        self.statements, self.checkouts, self.transactions = [], 0, 0

    def on_execute(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if not self.recording:
            return
        driver = conn.connection.driver_connection
        if not driver.autocommit and driver.info.transaction_status == 0:  # IDLE: BEGIN first
            self.transactions += 1
        self.statements.append((statement, dict(parameters or {})))

    def on_checkout(self, *_: Any) -> None:
        if self.recording:
            self.checkouts += 1


@contextlib.asynccontextmanager
async def in_process(
    settings: Settings, log: StatementLog | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and a client calling it without any socket."""
    if log is not None:
        event.listen(Engine, "before_cursor_execute", log.on_execute)
        event.listen(Pool, "checkout", log.on_checkout)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                yield client
    finally:
        if log is not None:
            event.remove(Engine, "before_cursor_execute", log.on_execute)
            event.remove(Pool, "checkout", log.on_checkout)


@dataclass(frozen=True, slots=True, kw_only=True)
class Captured:
    """Per request: its statements (to replay), and what the API spent around them."""

    requests: list[list[Statement]]
    checkouts: float
    transactions: float


def check(payload: dict[str, Any], field_name: str) -> None:
    if payload.get("errors") or not isinstance(payload.get("data", {}).get(field_name), dict):
        raise RuntimeError(f"{field_name} failed: {str(payload)[:500]}")


async def capture(
    settings: Settings, bodies: Sequence[dict[str, Any]], field_name: str
) -> Captured:
    """Send each body once in-process; keep the statements each one made the app send."""
    log = StatementLog()
    requests: list[list[Statement]] = []
    checkouts = transactions = 0
    async with in_process(settings, log) as client:
        check((await client.post("/graphql", json=bodies[0])).json(), field_name)
        for body in bodies:
            log.reset()
            log.recording = True
            payload = (await client.post("/graphql", json=body)).json()
            log.recording = False
            check(payload, field_name)
            requests.append(list(log.statements))
            checkouts += log.checkouts
            transactions += log.transactions
    return Captured(
        requests=requests,
        checkouts=checkouts / len(bodies),
        transactions=transactions / len(bodies),
    )


def bucket_of(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for bucket, markers in BUCKETS:
        if any(marker in where for marker in markers):
            return bucket
    return OTHER


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    requests: int
    unprofiled_ms: float
    """Mean time of one request without the profiler (in-process, sequential)."""
    buckets_ms: dict[str, float]
    """Per request, scaled so that they add up to `unprofiled_ms`."""
    top: list[tuple[str, float]]
    """The functions with most own time (profiled ms per request)."""


async def timed_requests(client: httpx.AsyncClient, bodies: Sequence[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for body in bodies:
        await client.post("/graphql", json=body)
    return time.perf_counter() - started


async def profile(
    settings: Settings, bodies: Sequence[dict[str, Any]], *, requests: int
) -> Profile:
    """`requests` sequential requests, unprofiled then under cProfile, in-process."""
    rounds = [bodies[index % len(bodies)] for index in range(requests)]
    async with in_process(settings) as client:
        await timed_requests(client, rounds[:200])  # warm-up: pools, caches, imports
        plain_s = await timed_requests(client, rounds)
        profiler = cProfile.Profile()
        profiler.enable()
        profiled_s = await timed_requests(client, rounds)
        profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    own: dict[str, float] = {}
    functions: list[tuple[str, float]] = []
    for (filename, line, name), (_, _, own_s, _, _) in stats.items():
        bucket = bucket_of(filename, name)
        own[bucket] = own.get(bucket, 0.0) + own_s
        functions.append((f"{short(filename)}:{line} {name}", 1000 * own_s / requests))
    wait_bucket = BUCKETS[0][0]
    wait_s = own.get(wait_bucket, 0.0)
    python_s = sum(own.values()) - wait_s
    scale = max(plain_s - wait_s, 0.0) / python_s if python_s else 1.0
    buckets_ms = {
        name: 1000 * (value if name == wait_bucket else value * scale) / requests
        for name, value in sorted(own.items(), key=lambda pair: -pair[1])
    }
    del profiled_s
    return Profile(
        requests=requests,
        unprofiled_ms=1000 * plain_s / requests,
        buckets_ms=buckets_ms,
        top=sorted(functions, key=lambda pair: -pair[1])[:15],
    )


def short(filename: str) -> str:
    for marker in ("site-packages/", f"{PROJECT_ROOT}/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename

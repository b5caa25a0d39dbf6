"""The API in this process (`create_app` + httpx's ASGI transport): what SQL a request sends,
and where a request's time goes.

Capture: every statement the app hands to psycopg (SQLAlchemy's `before_cursor_execute`, with
its final SQL text and parameters), plus pool checkouts (each checked by
`db.engine.refuse_dead_connection`, a socket poll) and transactions opened on non-autocommit connections (BEGIN ... ROLLBACK).
The raw-SQL side of the benchmark replays exactly the captured statements.

Profile: many sequential requests sampled by pyinstrument (cProfile when it is missing), each
function's own time put in a bucket by the package it belongs to (parsing, validation,
execution and field resolution, SQLAlchemy, psycopg, waiting for the database, JSON,
HTTP/ASGI, the test client). The buckets' shares of the profiled time are applied to the
unprofiled time of a request, since any profiler slows the Python side down.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from api.app import create_app
from api.settings import PROJECT_ROOT, Settings
from db.fastpaths.reads import OBSERVERS

Statement = tuple[str, dict[str, Any]]
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting for PostgreSQL (event loop idle)", ("selectors.py", "select.epoll")),
    ("GraphQL parsing", ("graphql/language/",)),
    ("GraphQL validation (+ cost/depth rules)", ("graphql/validation/", "api/cost.py")),
    (
        "execution, field resolution (graphql-core, api/fastpaths/execution.py)",
        ("graphql/execution/", "graphql/pyutils", "api/fastpaths/execution.py"),
    ),
    ("Strawberry (schema, types, DataLoaders)", ("strawberry/",)),
    ("resolvers and types (api/)", ("api/resolvers/", "api/types/", "api/context.py")),
    ("rows to objects, statements (db/queries)", ("db/queries/",)),
    ("SQLAlchemy (compile, pool, execute, rows)", ("sqlalchemy/", "greenlet")),
    (
        "psycopg (driver, pool, db/fastpaths/reads.py)",
        ("psycopg/", "psycopg_binary", "psycopg_pool", "db/fastpaths/reads.py"),
    ),
    ("JSON (de)serialisation", ("json/", "_json")),
    ("HTTP, ASGI, middleware (Starlette, api/)", ("starlette/", "api/", "anyio/")),
    ("test client (httpx ASGI transport)", ("httpx/", "h11/")),
    ("asyncio event loop", ("asyncio/",)),
)
OTHER = "other"
FLOOR_REQUESTS = 500
STANDARD_KEPT = ("/asyncio/", "/json/", "selectors.py")


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

    def on_read(self, statement: str, parameters: Mapping[str, Any]) -> None:
        """A statement of the searches' own pool (`db.fastpaths.reads`): autocommit, no BEGIN."""
        if self.recording:
            self.statements.append((statement, dict(parameters)))


@contextlib.asynccontextmanager
async def in_process(
    settings: Settings, log: StatementLog | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and a client calling it without any socket."""
    if log is not None:
        event.listen(Engine, "before_cursor_execute", log.on_execute)
        event.listen(Pool, "checkout", log.on_checkout)
        OBSERVERS.statements.append(log.on_read)
        OBSERVERS.checkouts.append(log.on_checkout)
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
            OBSERVERS.statements.remove(log.on_read)
            OBSERVERS.checkouts.remove(log.on_checkout)


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
    profiler: str
    wall_ms: float
    """Mean time of one request without the profiler (in-process, sequential)."""
    cpu_ms: float
    """This process's CPU time per request without the profiler (app + test client)."""
    floor_ms: tuple[float, float]
    """Wall and CPU ms of a bare `{ __typename }` request: the stack's fixed cost."""
    buckets_ms: dict[str, float]
    """Per request: each bucket's share of the profiled time, applied to `wall_ms`."""
    top: list[tuple[str, float]]
    """The functions with the most own time, as ms of `wall_ms`."""


async def timed_requests(client: httpx.AsyncClient, bodies: Sequence[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for body in bodies:
        await client.post("/graphql", json=body)
    return time.perf_counter() - started


def inherits(path: str, synthetic: bool) -> bool:
    """Frames charged to their caller: pyinstrument's synthetic ones ([self], [await]) and
    the standard library's helpers (contextlib, inspect, typing, dataclass `__init__`...),
    which run on behalf of whoever called them. The event loop and JSON keep their own."""
    if synthetic or not path or path.startswith("<"):
        return True
    standard = "/lib/python3" in path and "site-packages" not in path
    return standard and not any(part in path for part in STANDARD_KEPT)


def add_frame(
    frame: Any,
    parent: tuple[str, str],
    buckets: dict[str, float],
    own: dict[str, float],
) -> None:
    """pyinstrument's tree → own time by bucket and by function (see `inherits`)."""
    children = list(frame.children)
    path, function = frame.file_path or "", frame.function or ""
    if inherits(path, bool(frame.is_synthetic)):
        bucket, name = parent
    else:
        bucket, name = bucket_of(path, function), f"{short(path)}:{frame.line_no} {function}"
    spent = float(frame.time) - sum(float(child.time) for child in children)
    buckets[bucket] = buckets.get(bucket, 0.0) + spent
    own[name] = own.get(name, 0.0) + spent
    for child in children:
        add_frame(child, (bucket, name), buckets, own)


async def sampled(
    client: httpx.AsyncClient, rounds: Sequence[dict[str, Any]]
) -> tuple[str, dict[str, float], dict[str, float]]:
    """Own time by bucket and by function: pyinstrument's sampling when installed (`make
    bench-deps`), else cProfile (which slows call-heavy code more than the rest)."""
    buckets: dict[str, float] = {}
    own: dict[str, float] = {}
    try:
        from pyinstrument import Profiler
    except ImportError:
        profiler = cProfile.Profile()
        profiler.enable()
        await timed_requests(client, rounds)
        profiler.disable()
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        for (filename, line, name), (_, _, own_s, _, _) in stats.items():
            bucket = bucket_of(filename, name)
            buckets[bucket] = buckets.get(bucket, 0.0) + own_s
            key = f"{short(filename)}:{line} {name}"
            own[key] = own.get(key, 0.0) + own_s
        return "cProfile", buckets, own
    sampler = Profiler(interval=0.001, async_mode="disabled")
    sampler.start()
    await timed_requests(client, rounds)
    session = sampler.stop()
    root = session.root_frame()
    if root is not None:
        add_frame(root, (OTHER, OTHER), buckets, own)
    return "pyinstrument", buckets, own


async def profile(
    settings: Settings, bodies: Sequence[dict[str, Any]], *, requests: int
) -> Profile:
    """`requests` sequential requests in-process, timed unprofiled, then sampled."""
    rounds = [bodies[index % len(bodies)] for index in range(requests)]
    async with in_process(settings) as client:
        await timed_requests(client, rounds[:200])  # warm-up: pools, caches, imports
        bare = [{"query": "{ __typename }"}] * FLOOR_REQUESTS
        await timed_requests(client, bare[:50])
        floor_cpu = time.process_time()
        floor_s = await timed_requests(client, bare)
        floor_cpu = time.process_time() - floor_cpu
        cpu_started = time.process_time()
        wall_s = await timed_requests(client, rounds)
        cpu_s = time.process_time() - cpu_started
        profiler, buckets, own = await sampled(client, rounds)
    total = sum(buckets.values()) or 1.0
    wall_ms = 1000 * wall_s / requests
    return Profile(
        requests=requests,
        profiler=profiler,
        wall_ms=wall_ms,
        cpu_ms=1000 * cpu_s / requests,
        floor_ms=(1000 * floor_s / FLOOR_REQUESTS, 1000 * floor_cpu / FLOOR_REQUESTS),
        buckets_ms={
            name: wall_ms * value / total
            for name, value in sorted(buckets.items(), key=lambda pair: -pair[1])
        },
        top=[
            (name, wall_ms * value / total)
            for name, value in sorted(own.items(), key=lambda pair: -pair[1])[:15]
        ],
    )


def short(filename: str) -> str:
    for marker in ("site-packages/", f"{PROJECT_ROOT}/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename

"""Read replicas: which server each read goes to, and how fresh every hot standby is.

With `DATABASE_REPLICA_URLS` set (one or several PostgreSQL streaming-replication standbys),
the reads of a GraphQL *query* — the nearest-first searches through their pool
(`db.searches`), the rest through the autocommit reader — go to a standby; writes,
LISTEN/NOTIFY, authentication, every read of a mutation or a subscription, and every read inside
a use case (services use the primary engine) stay on the primary. The rules (docs/scale.md, "Read replicas"):

- **Read your writes.** After a mutation, `record_write` stores the primary's
  `pg_current_wal_lsn()` — taken after the mutation's transactions committed, so at or past their
  commit records — as the viewer's mark (account or partner key): in Redis when `REDIS_URL` is
  set, so that every worker and node knows it, else in this process. A query of that viewer goes
  to a standby only once that standby's `pg_last_wal_replay_lsn()` (as of the last check, so an
  underestimate) has reached the mark; until then to the primary.
- **Freshness.** A monitor polls the primary's LSN and every standby's replay LSN each
  `CHECK_INTERVAL_S`. A standby's lag is the age of the newest primary sample it has replayed
  (no clocks compared, and an idle primary is not mistaken for a late standby). Lagging beyond
  `REPLICA_MAX_LAG_SECONDS`, unreachable, or promoted (not in recovery): skipped, and taken back
  by the first good check.
- **No failed request.** A standby that refuses a connection, or whose connection breaks
  mid-read (stopped, restarted, a recovery conflict), is marked down and the read is run again on
  the primary: autocommit reads have no transaction to lose.

The route of a request lives in a context variable (`ROUTE`) because the pools are
process-wide and reads reach them through code that never sees the request (loaders, the
searches); no route (CLI, tests, background tasks) means the primary.

`RoutedConnection` subclasses SQLAlchemy's `AsyncConnection` (2.1, pinned) to choose its
engine when it starts and to move to the primary on a failure: a thin proxy whose three slots
(`engine`, `sync_engine`, `sync_connection`) are the whole of its state, as its source says.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import psycopg
import redis.asyncio as aioredis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import create_engine
from db.searches import ReadConnection, Reads

log = logging.getLogger("voisinage.replicas")

T = TypeVar("T")

CHECK_INTERVAL_S = 0.5
"""How often the primary's LSN and each standby's replay position are read."""
CHECK_TIMEOUT_S = 2.0
"""A standby slower than this to answer its check counts as down."""
CHECKOUT_TIMEOUT_S = 1.0
"""Longest a read should wait for a standby's connection before going to the primary instead
(the timeout of the standbys' search pools, `ReadsFactory`)."""
AWAY = "unreachable"
"""How a standby's `reason` starts while it cannot be reached."""
RETRYABLE_SQLSTATES = frozenset({"40001", "57P01", "57P02", "57P03"})
"""Recovery conflict on the standby, administrator shutdown, crash, cannot connect now."""

ROUTE: ContextVar[Route | None] = ContextVar("voisinage_replica_route", default=None)


def lsn_to_int(lsn: str) -> int:
    """`16/B374D848` (pg_lsn as text) to a byte position."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def int_to_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def display_name(url: str) -> str:
    """host:port/database, without credentials: what /readyz and /metrics call a standby."""
    parsed = make_url(url)
    host = parsed.host or str(parsed.query.get("host", "local"))
    port = parsed.port or parsed.query.get("port", 5432)
    return f"{host}:{port}/{parsed.database}"


class WriteMarks(Protocol):
    """Where each viewer's last write position is kept (`MemoryMarks`, `RedisMarks`)."""

    async def get(self, viewer_key: str) -> int | None: ...

    async def put(self, viewer_key: str, lsn: int, ttl_s: float) -> None: ...

    async def close(self) -> None: ...


@dataclass
class MemoryMarks:
    """One process's marks: enough with one worker; with several, or several nodes, set
    REDIS_URL (each worker would otherwise know only the writes it served)."""

    marks: dict[str, tuple[int, float]] = field(default_factory=dict)

    async def get(self, viewer_key: str) -> int | None:
        found = self.marks.get(viewer_key)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    async def put(self, viewer_key: str, lsn: int, ttl_s: float) -> None:
        now = time.monotonic()
        if len(self.marks) > 10_000:
            self.marks = {key: mark for key, mark in self.marks.items() if mark[1] >= now}
        previous = self.marks.get(viewer_key)
        kept = max(lsn, previous[0]) if previous and previous[1] >= now else lsn
        self.marks[viewer_key] = (kept, now + ttl_s)

    async def close(self) -> None:
        return None


RAISE_MARK = """
local current = redis.call('GET', KEYS[1])
if not current or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
"""
"""Keep the larger of two marks (two nodes may record the same viewer's writes out of order);
positions are 16 hex digits, so that strings compare as numbers do."""


class RedisMarks:
    """Marks shared by every worker and node on one Redis, under `<prefix>:lsn:`."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = aioredis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = f"{prefix}:lsn:"
        self.raise_mark = self.client.register_script(RAISE_MARK)

    async def get(self, viewer_key: str) -> int | None:
        raw = await self.client.get(self.prefix + viewer_key)
        return int(raw, 16) if raw else None

    async def put(self, viewer_key: str, lsn: int, ttl_s: float) -> None:
        await self.raise_mark(
            keys=[self.prefix + viewer_key], args=[f"{lsn:016X}", int(ttl_s * 1000)]
        )

    async def close(self) -> None:
        await self.client.aclose()


ReadsFactory = Callable[[str, AsyncEngine], Reads]
"""Builds a standby's search pool from its libpq conninfo and its engine: the application's
choice (`db.fastpaths.reads.ReadPool`, or `db.searches.EngineReads` with FAST_PATHS off)."""


@dataclass
class Replica:
    """One hot standby: its pools (the searches', an autocommit SQLAlchemy engine) and what its
    last check found."""

    name: str
    reads: Reads
    engine: AsyncEngine
    """Autocommit view of `base_engine`."""
    base_engine: AsyncEngine
    conninfo: str
    healthy: bool = False
    lag_s: float | None = None
    replay_lsn: int = 0
    reason: str | None = "not checked yet"
    monitor: psycopg.AsyncConnection[Any] | None = None

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "healthy": self.healthy,
            "lagSeconds": (
                round(self.lag_s, 3)
                if self.lag_s is not None and math.isfinite(self.lag_s)
                else None
            ),
            "replayLsn": int_to_lsn(self.replay_lsn) if self.replay_lsn else None,
            "reason": self.reason,
        }


def broken(error: BaseException, conn: object = None) -> bool:
    """The connection itself failed (not only its statement): the standby is away."""
    if getattr(conn, "broken", False) or getattr(conn, "invalidated", False):
        return True
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated)
    return isinstance(error, OSError | psycopg.OperationalError) and not getattr(
        error, "sqlstate", None
    )


def retryable(error: BaseException, conn: object = None) -> bool:
    """A failure of the standby or of the connection, not of the statement: worth the primary.
    (A statement cancelled by its own timeout, or a bad query, would fail there too.)"""
    if broken(error, conn):
        return True
    orig = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(orig, OSError | psycopg.InterfaceError):
        return True
    if isinstance(orig, psycopg.Error):
        state = orig.sqlstate or ""
        return state in RETRYABLE_SQLSTATES or state.startswith("08") or orig.sqlstate is None
    return False


@dataclass
class Route:
    """Where the reads of one request may go: decided per connection, since a mutation pins
    its request to the primary once its operation is known (`api.replica_routing`)."""

    replicas: ReplicaSet
    viewer_key: str | None
    primary_only: bool = False
    mark: int | None = None
    mark_read: bool = False

    async def min_lsn(self) -> int | None:
        """The viewer's last write position (read once per request), None when it has none."""
        if not self.mark_read:
            self.mark_read = True
            if self.viewer_key is not None:
                self.mark = await self.replicas.viewer_mark(self.viewer_key)
        return self.mark


class ReplicaSet:
    """The standbys of one primary, their monitor and the routing rule; one per process, started
    and stopped by the application's lifespan."""

    def __init__(
        self,
        primary: AsyncEngine,
        urls: Sequence[tuple[str, str]],
        *,
        max_lag_s: float,
        pool_size: int,
        make_reads: ReadsFactory,
        marks: WriteMarks | None = None,
        check_interval_s: float = CHECK_INTERVAL_S,
    ) -> None:
        """`primary`: the primary's autocommit engine; `urls`: (SQLAlchemy URL, libpq conninfo)
        of each standby."""
        self.primary = primary
        self.max_lag_s = max_lag_s
        self.check_interval_s = check_interval_s
        self.marks: WriteMarks = marks or MemoryMarks()
        self.make_reads = make_reads
        self.replicas = [
            self._replica(url, conninfo, pool_size, make_reads) for url, conninfo in urls
        ]
        self.samples: deque[tuple[float, int]] = deque()
        """(monotonic time, primary LSN) of recent checks, for the standbys' lag."""
        self.horizon_s = max(30.0, 4 * max_lag_s)
        self.turn = itertools.count()
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    @staticmethod
    def _replica(url: str, conninfo: str, pool_size: int, make_reads: ReadsFactory) -> Replica:
        base = create_engine(url, pool_size=pool_size, connect_timeout_s=CHECK_TIMEOUT_S)
        return Replica(
            name=display_name(url),
            reads=make_reads(conninfo, base),
            engine=base.execution_options(isolation_level="AUTOCOMMIT"),
            base_engine=base,
            conninfo=conninfo,
        )

    @property
    def mark_ttl_s(self) -> float:
        """After this, every standby still routed to has replayed the write (a healthy one is
        at most max_lag_s behind, measured in whole checks)."""
        return 2 * self.max_lag_s + 10 * self.check_interval_s

    async def start(self) -> None:
        for replica in self.replicas:
            await replica.reads.open()
        if self.task is None:
            self.task = asyncio.create_task(self._monitor(), name="voisinage-replica-monitor")

    async def stop(self) -> None:
        if self.task is not None:
            # Let a check in progress return its connections rather than cancel it mid-query
            # (SQLAlchemy could not check such a connection back in).
            self.stopping.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.task, CHECK_TIMEOUT_S * 2)
            self.task = None
        for replica in self.replicas:
            if replica.monitor is not None:
                await replica.monitor.close()
            await replica.reads.close()
            await replica.base_engine.dispose()
        await self.marks.close()

    def route(self, viewer_key: str | None, *, primary_only: bool = False) -> Route:
        return Route(self, viewer_key, primary_only)

    @contextlib.contextmanager
    def routing(self, route: Route) -> Iterator[Route]:
        token = ROUTE.set(route)
        try:
            yield route
        finally:
            ROUTE.reset(token)

    async def viewer_mark(self, viewer_key: str) -> int | None:
        try:
            return await self.marks.get(viewer_key)
        except Exception as error:  # unknown mark: the primary is always fresh enough
            log.warning("cannot read the write mark of %s: %s", viewer_key, error)
            return 1 << 64

    async def record_write(self, viewer_key: str) -> None:
        """After a mutation of `viewer_key` committed: its reads stay on the primary until a
        standby has replayed the primary's position as of now."""
        try:
            async with self.primary.connect() as conn:
                raw = (await conn.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar_one()
            await self.marks.put(viewer_key, lsn_to_int(raw), self.mark_ttl_s)
        except Exception as error:
            log.warning("cannot record the write position of %s: %s", viewer_key, error)

    async def choose(self, route: Route | None) -> Replica | None:
        """A healthy standby that has replayed the viewer's writes (round robin), or None: the
        primary."""
        if route is None or route.primary_only or not self.replicas:
            return None
        candidates = [replica for replica in self.replicas if replica.healthy]
        if not candidates:
            return None
        mark = await route.min_lsn()
        if mark is not None:
            candidates = [replica for replica in candidates if replica.replay_lsn >= mark]
            if not candidates:
                return None
        return candidates[next(self.turn) % len(candidates)]

    def mark_down(self, replica: Replica, error: BaseException | str) -> None:
        """Skip `replica` until its next good check."""
        if replica.healthy:
            log.warning("replica %s skipped: %s", replica.name, error)
        replica.healthy = False
        replica.reason = f"{AWAY} (a read failed: {error})"[:200]

    async def run(self, primary: Reads, read: Callable[[ReadConnection], Awaitable[T]]) -> T:
        """`read` on a standby's search connection when the current route allows it, else (or
        when the standby fails under it: down, restarting, a recovery conflict) on
        `primary`'s. Autocommit reads: running one again is safe."""
        replica = await self.choose(ROUTE.get())
        if replica is not None:
            held = replica.reads.connection()
            try:
                conn = await held.__aenter__()
            except Exception as error:  # refused, timed out: the standby is away
                self.mark_down(replica, error)
            else:
                try:
                    return await read(conn)
                except Exception as error:
                    if not retryable(error, conn):
                        raise
                    if broken(error, conn):
                        self.mark_down(replica, error)
                finally:
                    with contextlib.suppress(Exception):
                        await held.__aexit__(None, None, None)
        async with primary.connection() as conn:
            return await read(conn)

    @asynccontextmanager
    async def connection(self, primary: Reads) -> AsyncIterator[ReadConnection]:
        """A search connection as `run` picks it, for a caller that cannot be run again (a
        failure mid-read is not retried here: prefer `run`)."""
        replica = await self.choose(ROUTE.get())
        if replica is not None:
            held = replica.reads.connection()
            try:
                conn = await held.__aenter__()
            except Exception as error:
                self.mark_down(replica, error)
            else:
                try:
                    yield conn
                finally:
                    await held.__aexit__(None, None, None)
                return
        async with primary.connection() as conn:
            yield conn

    async def _monitor(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.check()
            except Exception:  # the monitor must outlive any one failure
                log.exception("replica check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.check_interval_s)

    async def check(self) -> None:
        """Sample the primary's position, then every standby's (concurrently)."""
        now = time.monotonic()
        try:
            async with self.primary.connect() as conn:
                raw = (await conn.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar_one()
        except Exception as error:  # primary away: standbys' lag unknown, keep last verdicts
            log.warning("cannot read the primary's WAL position: %s", type(error).__name__)
            return
        self.samples.append((now, lsn_to_int(raw)))
        while self.samples and self.samples[0][0] < now - self.horizon_s:
            self.samples.popleft()
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    def lag_s(self, replay_lsn: int, now: float) -> float:
        """Seconds since the primary was where this standby now is: the age of the newest
        sample it has replayed (the whole horizon when it has replayed none)."""
        for sampled_at, lsn in reversed(self.samples):
            if lsn <= replay_lsn:
                return max(0.0, now - sampled_at)
        return now - self.samples[0][0] if self.samples else float("inf")

    async def _check(self, replica: Replica) -> None:
        try:
            if replica.monitor is None or replica.monitor.closed or replica.monitor.broken:
                replica.monitor = await psycopg.AsyncConnection.connect(
                    replica.conninfo,
                    autocommit=True,
                    connect_timeout=int(CHECK_TIMEOUT_S),
                    application_name="voisinage-replica-monitor",
                )
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                row = await (
                    await replica.monitor.execute(
                        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"
                    )
                ).fetchone()
        except (psycopg.Error, OSError, TimeoutError) as error:
            if replica.monitor is not None:
                await replica.monitor.close()
            replica.monitor = None
            self._verdict(replica, None, f"{AWAY}: {type(error).__name__}")
            return
        assert row is not None
        in_recovery, replay = row
        if not in_recovery or replay is None:
            self._verdict(replica, None, "not a standby (promoted?)")
            return
        replica.replay_lsn = lsn_to_int(replay)
        lag_s = self.lag_s(replica.replay_lsn, time.monotonic())
        too_late = (
            f"lags {lag_s:.1f} s (> {self.max_lag_s:g} s)" if lag_s > self.max_lag_s else None
        )
        if too_late is None and replica.reason is not None and replica.reason.startswith(AWAY):
            await self._fresh_pool(replica)
        self._verdict(replica, lag_s, too_late)

    async def _fresh_pool(self, replica: Replica) -> None:
        """A new search pool for a standby that is back: psycopg_pool's reconnection attempts
        back off (1, 2, 4... s) while a server is away, and would keep reads off it that long."""
        stale, replica.reads = replica.reads, self.make_reads(replica.conninfo, replica.base_engine)
        await replica.reads.open()
        with contextlib.suppress(Exception):
            await stale.close()

    def _verdict(self, replica: Replica, lag_s: float | None, problem: str | None) -> None:
        healthy = problem is None
        if healthy != replica.healthy:
            log.warning(
                "replica %s %s", replica.name, "taken back" if healthy else f"skipped: {problem}"
            )
        replica.healthy, replica.lag_s, replica.reason = healthy, lag_s, problem

    def status(self) -> list[dict[str, Any]]:
        return [replica.status() for replica in self.replicas]


class RoutedConnection(AsyncConnection):
    """An autocommit read connection that starts on the standby the current route picks (or
    the primary), and moves to the primary when the standby fails under it."""

    __slots__ = ("primary", "replica", "replicas")

    def __init__(self, primary: AsyncEngine, replicas: ReplicaSet) -> None:
        super().__init__(primary)
        self.primary = primary
        self.replicas = replicas
        self.replica: Replica | None = None

    def _target(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sync_engine = engine.sync_engine

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        replica = await self.replicas.choose(ROUTE.get())
        if replica is not None:
            self._target(replica.engine)
            try:
                await super().start(is_ctxmanager)
            except (DBAPIError, OSError) as error:
                self.replicas.mark_down(replica, error)
                self._target(self.primary)
            else:
                self.replica = replica
                return self
        return await super().start(is_ctxmanager)

    async def execute(  # type: ignore[override]
        self, statement: Any, parameters: Any = None, *, execution_options: Any = None
    ) -> Any:
        try:
            return await super().execute(statement, parameters, execution_options=execution_options)
        except (DBAPIError, OSError) as error:
            replica = self.replica
            if replica is None or not retryable(error):
                raise
            if not isinstance(error, DBAPIError) or error.connection_invalidated:
                self.replicas.mark_down(replica, error)
            await self._to_primary()
        return await super().execute(statement, parameters, execution_options=execution_options)

    async def _to_primary(self) -> None:
        with contextlib.suppress(Exception):
            await self.close()
        self.replica = None
        self.sync_connection = None
        self._target(self.primary)
        await super().start()


class RoutedEngine(AsyncEngine):
    """The primary's autocommit reader whose `connect()` follows the current route. Only
    `connect()` is routed: `begin()`, `execution_options()`... are the primary's."""

    __slots__ = ("primary", "replicas")

    def __init__(self, primary: AsyncEngine, replicas: ReplicaSet) -> None:
        # Its own view of the primary's engine (same pool), so that SQLAlchemy's map from sync
        # engines to their async proxies still gives `primary` for the primary's.
        super().__init__(primary.sync_engine.execution_options())
        self.primary = primary
        self.replicas = replicas

    def connect(self) -> AsyncConnection:
        return RoutedConnection(self.primary, self.replicas)


class ReplicaCollector(Collector):
    """`voisinage_replica_lag_seconds` and `voisinage_replica_healthy` per standby, read at
    scrape time from the monitor's last check."""

    def __init__(self, replicas: ReplicaSet) -> None:
        self.replicas = replicas

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "voisinage_replica_lag_seconds",
            "Seconds since the primary was where each standby has replayed to (NaN: unknown)",
            labels=["replica"],
        )
        healthy = GaugeMetricFamily(
            "voisinage_replica_healthy",
            "1 when reads are routed to the standby, 0 when it is skipped",
            labels=["replica"],
        )
        for replica in self.replicas.replicas:
            lag.add_metric([replica.name], float("nan") if replica.lag_s is None else replica.lag_s)
            healthy.add_metric([replica.name], 1.0 if replica.healthy else 0.0)
        yield lag
        yield healthy


class RoutedReads:
    """The searches' `Reads` with standbys: each search runs where the current route allows
    (`ReplicaSet.run`), the primary's pool (`primary`) otherwise."""

    def __init__(self, primary: Reads, replicas: ReplicaSet) -> None:
        self.primary = primary
        self.replicas = replicas

    def connection(self) -> AbstractAsyncContextManager[ReadConnection]:
        return self.replicas.connection(self.primary)

    async def run(self, read: Callable[[ReadConnection], Awaitable[T]]) -> T:
        return await self.replicas.run(self.primary, read)

    async def open(self) -> None:
        await self.primary.open()
        await self.replicas.start()

    async def close(self) -> None:
        await self.replicas.stop()
        await self.primary.close()


async def run_read(reads: Reads, read: Callable[[ReadConnection], Awaitable[T]]) -> T:
    """`read` on a connection of `reads`; with standbys, run again on the primary when the
    standby fails under it (a plain `async with reads.connection()` cannot be)."""
    if isinstance(reads, RoutedReads):
        return await reads.run(read)
    async with reads.connection() as conn:
        return await read(conn)

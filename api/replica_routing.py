"""Wiring the read replicas (`db.replicas`) into the application: which standbys, which
requests may read there, and the mark each mutation leaves for its author.

A query's reads may go to a standby; a mutation's and a subscription's stay on the primary
(a subscription re-reads what NOTIFY just announced, which a standby may not have replayed yet),
and a mutation records the primary's WAL position for its viewer so that the viewer's next
queries wait for a standby that has replayed it (docs/scale.md, "Read replicas").
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.context import Viewer
from api.runtime import APP_DATABASE, ConfigurationError, libpq_url
from api.settings import Settings
from db.embedded import EmbeddedPostgres, EmbeddedPostgresError
from db.replicas import (
    ROUTE,
    MemoryMarks,
    ReadsFactory,
    RedisMarks,
    ReplicaSet,
    WriteMarks,
)
from db.standby import standby_of


def build_replicas(
    settings: Settings, primary_reader: AsyncEngine, make_reads: ReadsFactory
) -> ReplicaSet | None:
    """The standbys of DATABASE_REPLICA_URLS (None when there are none), their searches built
    by `make_reads` (the primary's path: FAST_PATHS), the write marks in Redis when REDIS_URL is
    set."""
    if not settings.database_replica_urls:
        return None
    marks: WriteMarks = (
        RedisMarks(settings.redis_url, settings.redis_key_prefix)
        if settings.redis_url
        else MemoryMarks()
    )
    return ReplicaSet(
        primary_reader,
        [(url, libpq_url(url)) for url in settings.database_replica_urls],
        max_lag_s=settings.replica_max_lag_s,
        pool_size=settings.db_pool_size,
        make_reads=make_reads,
        marks=marks,
    )


def viewer_key(viewer: Viewer) -> str | None:
    """Whose writes a request makes: an account, or a partner key; None when anonymous."""
    if viewer.account_id is not None:
        return f"account:{viewer.account_id}"
    if viewer.partner_key_id is not None:
        return f"partner:{viewer.partner_key_id}"
    return None


def enter_route(replicas: ReplicaSet, viewer: Viewer, *, websocket: bool) -> None:
    """The route of the request being served (`db.replicas.ROUTE`), set where its context is
    built: its resolvers, loaders and searches run in this task or in tasks it starts."""
    ROUTE.set(replicas.route(viewer_key(viewer), primary_only=websocket))


class ReplicaRouting(SchemaExtension):
    """Pins a mutation's (or subscription's) reads to the primary before any resolver runs, and
    after a mutation records the primary's WAL position as its viewer's mark, before the answer
    leaves: the viewer's next request cannot outrun it."""

    async def on_execute(self) -> AsyncIterator[None]:
        route = ROUTE.get()
        operation = self.execution_context.operation_type
        if route is not None and operation is not OperationType.QUERY:
            route.primary_only = True
        yield
        if (
            route is not None
            and operation is OperationType.MUTATION
            and route.viewer_key is not None
        ):
            await route.replicas.record_write(route.viewer_key)


@contextlib.contextmanager
def embedded_standby(settings: Settings, *, enabled: bool) -> Iterator[str | None]:
    """`serve --replica`: a hot standby of the running embedded cluster in
    `<data dir>/standby` (made by pg_basebackup on first use, then kept and started again),
    stopped on exit; yields its URL (None when not `enabled`)."""
    if not enabled:
        yield None
        return
    if settings.database_url:
        raise ConfigurationError(
            "--replica makes a standby of the embedded cluster: with DATABASE_URL set, run your "
            "standbys yourself and list them in DATABASE_REPLICA_URLS"
        )
    primary = EmbeddedPostgres(data_dir=settings.data_dir / "postgres")
    standby = standby_of(primary, settings.data_dir / "standby" / "postgres")
    try:
        primary.start()  # already running (`database`): this only finds its port
        standby.start()
    except EmbeddedPostgresError as error:
        raise ConfigurationError(
            f"{error} (a standby of an earlier cluster cannot follow a new one: remove "
            f"{settings.data_dir / 'standby'})"
        ) from None
    try:
        yield standby.url(APP_DATABASE)
    finally:
        standby.stop()

"""The Starlette application factory: `create_app(settings)` builds everything from settings.

The lifespan owns the database engine (one pool per process); routes are GraphQL (HTTP, GraphiQL,
WebSocket on the same path), health, readiness and metrics.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from api import fastpaths
from api.auth import InvalidApiKeyError, api_key, bearer_token, viewer_for
from api.context import Context
from api.deadline import DisconnectMiddleware
from api.inputs import SERVICE_AREA
from api.limits import BodySizeLimitMiddleware
from api.live_transport import LiveTransportWSHandler
from api.observability import Metrics, RequestLogMiddleware, RequestState
from api.pubsub import Broadcaster
from api.ratelimit import RateLimits
from api.replica_routing import build_replicas, enter_route
from api.runtime import libpq_url
from api.schema import build_schema
from api.settings import Settings
from api.static import web_routes
from api.transport import GraphQLOverHTTP
from api.unsubscribe import unsubscribe_routes
from api.web_session import WebSessionMiddleware, session_routes
from db.engine import create_engine
from db.fastpaths.reads import ReadPool
from db.migrate import head_revision
from db.passwords import PasswordHashing
from db.replicas import CHECKOUT_TIMEOUT_S, ReplicaCollector, RoutedEngine, RoutedReads
from db.searches import EngineReads, Reads
from geo.service_area import service_area_named

log = logging.getLogger("voisinage.app")


class VoisinageGraphQL(GraphQLOverHTTP):
    """Strawberry's ASGI view (held to GraphQL over HTTP) with our per-request context.

    With FAST_PATHS on, its graphql-transport-ws handler lets live posts be rendered once per
    group of identical payloads instead of once per subscriber (`api.fastpaths.fanout`).
    """

    graphql_transport_ws_handler_class = LiveTransportWSHandler

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        metrics: Metrics,
        broadcaster: Broadcaster | None = None,
        reads: Reads | None = None,
        rate_limits: RateLimits | None = None,
    ) -> None:
        super().__init__(
            build_schema(settings, metrics, rate_limits),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.ws_max_subscriptions_per_connection,
            allowed_origins=settings.cors_origins,
        )
        if fastpaths.enabled(settings):
            from api.fastpaths.fanout import SharingTransportWSHandler

            self.graphql_transport_ws_handler_class = SharingTransportWSHandler
        self.settings = settings
        self.service_area = service_area_named(settings.service_area)
        self.engine = engine
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.passwords = PasswordHashing(settings.password_hashing)
        self.broadcaster = broadcaster
        self.reads = reads
        # With standbys (DATABASE_REPLICA_URLS) a query's reads follow its route (db.replicas);
        # authentication keeps `self.reader`: a token just issued or revoked is on the primary.
        self.replicas = reads.replicas if isinstance(reads, RoutedReads) else None
        self.routed_reader = (
            RoutedEngine(self.reader, self.replicas) if self.replicas is not None else None
        )
        self.rate_limits = rate_limits
        self.connections_by_viewer: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Counts each viewer's WebSocket connections, released when the socket closes."""
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        holder: dict[str, str] = {}
        scope.setdefault("state", {})["voisinage_ws"] = holder
        try:
            await super().__call__(scope, receive, send)
        finally:
            viewer_key = holder.get("viewer")
            if viewer_key is not None:
                self.connections_by_viewer[viewer_key] -= 1
                if self.connections_by_viewer[viewer_key] <= 0:
                    del self.connections_by_viewer[viewer_key]

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticates a WebSocket from its `connection_init` payload (`authorization`:
        "Bearer <token>", or a partner's `apiKey`) and applies the per-viewer connection limit
        (4403 Forbidden when exceeded)."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        token = bearer_token({"authorization": raw}) if isinstance(raw, str) else None
        if token is None and context.websocket is not None:
            # The handshake's header: the web client's session cookie (api.web_session).
            token = bearer_token(context.websocket.headers)
        raw_key = params.get("apiKey")
        key = api_key({"x-api-key": raw_key}) if isinstance(raw_key, str) else None
        context.viewer = await viewer_for(self.reader, token, key)
        context.token = token
        viewer = context.viewer
        if viewer.account_id is not None:
            viewer_key = f"account:{viewer.account_id}"
        elif viewer.partner_key_id is not None:
            viewer_key = f"partner:{viewer.partner_key_id}"
        else:
            return UNSET  # type: ignore[no-any-return]
        if self.connections_by_viewer[viewer_key] >= self.settings.ws_max_connections_per_viewer:
            raise ConnectionRejectionError({"reason": "too many connections for this viewer"})
        self.connections_by_viewer[viewer_key] += 1
        holder = (
            context.request_scope.get("state", {}).get("voisinage_ws")
            if context.request_scope
            else None
        )
        if isinstance(holder, dict):
            holder["viewer"] = viewer_key
        return UNSET  # type: ignore[no-any-return]

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.scope.get("state", {}).get("voisinage")
        token = bearer_token(request.headers)
        SERVICE_AREA.set(self.service_area)
        key = api_key(request.headers)
        is_http = not isinstance(request, WebSocket)
        if is_http and key is None and request.headers.get("x-api-key") is not None:
            raise HTTPException(401, InvalidApiKeyError.MESSAGE)  # malformed: never a valid key
        try:
            viewer = await viewer_for(self.reader, token, key, refuse_invalid_key=is_http)
        except InvalidApiKeyError as error:
            raise HTTPException(401, str(error)) from None
        except (SQLAlchemyError, OSError):
            # Pool exhausted or database away: a JSON 503 the client can retry, not a bare 500.
            log.warning("could not authenticate: database unavailable")
            raise HTTPException(503, "The service is busy or restarting: retry shortly.") from None
        if self.replicas is not None:
            enter_route(self.replicas, viewer, websocket=isinstance(request, WebSocket))
        return Context(
            settings=self.settings,
            engine=self.engine,
            request_id=state.request_id if isinstance(state, RequestState) else "-",
            request_state=state if isinstance(state, RequestState) else None,
            viewer=viewer,
            token=token,
            broadcaster=self.broadcaster,
            request_scope=dict_scope(request) if isinstance(request, WebSocket) else None,
            websocket=request if isinstance(request, WebSocket) else None,
            read_engine=self.routed_reader or self.reader,
            read_pool=self.reads,
            passwords=self.passwords,
            rate_limits=self.rate_limits,
        )


def dict_scope(websocket: WebSocket) -> dict[str, Any]:
    scope = websocket.scope
    assert isinstance(scope, dict)
    return scope


def create_app(settings: Settings) -> Starlette:
    if not settings.database_url:
        raise ValueError(
            "create_app needs settings.database_url; the CLI resolves the embedded one"
        )
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    metrics = Metrics.create(engine)
    broadcaster = Broadcaster(
        libpq_url(settings.database_url), queue_size=settings.subscription_queue_size
    )
    reads: Reads = (
        ReadPool(libpq_url(settings.database_url), size=settings.db_read_pool_size)
        if fastpaths.enabled(settings)
        else EngineReads(engine)
    )
    replicas = build_replicas(
        settings,
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        lambda conninfo, standby: (  # each standby's searches on the primary's path
            ReadPool(conninfo, size=settings.db_read_pool_size, timeout_s=CHECKOUT_TIMEOUT_S)
            if fastpaths.enabled(settings)
            else EngineReads(standby)
        ),
    )
    if replicas is not None:  # standbys: the searches, and every read of a query, may go there
        reads = RoutedReads(reads, replicas)
        metrics.registry.register(ReplicaCollector(replicas))
    rate_limits = RateLimits(settings)  # counters in Redis (REDIS_URL) or in this process
    graphql = VoisinageGraphQL(settings, engine, metrics, broadcaster, reads, rate_limits)
    expected_revision = head_revision()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with engine.connect() as conn:
                # A never-migrated database has no alembic_version table: "not at head", not
                # "unreachable" (which would send the operator looking at the network).
                migrated = (
                    await conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
                ).scalar_one()
                revision = (
                    (
                        await conn.execute(text("SELECT version_num FROM alembic_version"))
                    ).scalar_one_or_none()
                    if migrated
                    else None
                )
        except Exception as error:  # readiness reports, it does not raise
            log.warning("readiness check failed: %s", type(error).__name__)
            return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)
        if revision != expected_revision:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "reason": "migrations not at head",
                    "database": revision,
                    "expected": expected_revision,
                },
                503,
            )
        if replicas is not None:  # reported, never a reason to be unready: the primary serves
            return JSONResponse(
                {"status": "ready", "revision": revision, "replicas": replicas.status()}
            )
        return JSONResponse({"status": "ready", "revision": revision})

    async def metrics_endpoint(_: Request) -> Response:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await broadcaster.start()
        await reads.open()
        try:
            yield
        finally:
            await broadcaster.stop()
            await reads.close()
            await rate_limits.close()
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *session_routes(),
            *unsubscribe_routes(),
            *web_routes(),  # last: its fallback serves the web client for every other path
        ],
        middleware=[
            Middleware(RequestLogMiddleware, metrics=metrics),
            Middleware(WebSessionMiddleware, allowed_origins=settings.cors_origins),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type", "x-api-key", "x-request-id"],
                max_age=600,
            ),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
            Middleware(DisconnectMiddleware),  # inside the size limit: it reads the body
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.reads = reads
    app.state.broadcaster = broadcaster
    app.state.settings = settings
    return app

"""The Starlette application factory: `create_app(settings)` builds everything from settings.

The lifespan owns the database engine (one pool per process); routes are GraphQL (HTTP, GraphiQL,
WebSocket on the same path), health, readiness and metrics.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.auth import bearer_token, viewer_for_token
from api.context import Context
from api.limits import BodySizeLimitMiddleware
from api.observability import Metrics, RequestLogMiddleware, RequestState
from api.schema import build_schema
from api.settings import Settings
from db.engine import create_engine
from db.migrate import head_revision

log = logging.getLogger("voisinage.app")


class VoisinageGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our per-request context."""

    def __init__(self, settings: Settings, engine: AsyncEngine, metrics: Metrics) -> None:
        super().__init__(
            build_schema(settings, metrics),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=20,
            allowed_origins=settings.cors_origins,
        )
        self.settings = settings
        self.engine = engine

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.scope.get("state", {}).get("voisinage")
        token = bearer_token(request.headers)
        return Context(
            settings=self.settings,
            engine=self.engine,
            request_id=state.request_id if isinstance(state, RequestState) else "-",
            request_state=state if isinstance(state, RequestState) else None,
            viewer=await viewer_for_token(self.engine, token),
            token=token,
        )


def create_app(settings: Settings) -> Starlette:
    if not settings.database_url:
        raise ValueError(
            "create_app needs settings.database_url; the CLI resolves the embedded one"
        )
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    metrics = Metrics.create(engine)
    graphql = VoisinageGraphQL(settings, engine, metrics)
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
        return JSONResponse({"status": "ready", "revision": revision})

    async def metrics_endpoint(_: Request) -> Response:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        middleware=[
            Middleware(RequestLogMiddleware, metrics=metrics),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type", "x-api-key", "x-request-id"],
                max_age=600,
            ),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    return app

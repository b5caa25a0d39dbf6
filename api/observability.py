"""Request logging, request IDs and Prometheus metrics.

One log line per request (request ID, method, path, GraphQL operation name, status, duration),
JSON when configured. The GraphQL extension fills in the operation name, which the ASGI
middleware only learns after the body is parsed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

log = logging.getLogger("voisinage.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(*, json_lines: bool, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # our access line replaces it


@dataclass
class RequestState:
    """What the middleware and the GraphQL layer share about one request."""

    request_id: str
    operations: list[str] = field(default_factory=list)
    client_address: str | None = None
    """The socket peer's IP address; behind a trusted proxy (FORWARDED_ALLOW_IPS, which `serve`
    hands to uvicorn) the address it forwarded for. Rate limits count it."""


class PoolCollector(Collector):
    """Database pool usage, read at scrape time from the SQLAlchemy pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine.pool
        gauge = GaugeMetricFamily(
            "voisinage_db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        gauge.add_metric(["size"], float(getattr(pool, "size", lambda: 0)()))
        gauge.add_metric(["in_use"], float(getattr(pool, "checkedout", lambda: 0)()))
        gauge.add_metric(["idle"], float(getattr(pool, "checkedin", lambda: 0)()))
        yield gauge


@dataclass
class Metrics:
    registry: CollectorRegistry
    http_requests: Counter
    http_duration: Histogram
    operations: Counter
    operation_duration: Histogram
    children: dict[tuple[str, ...], tuple[Any, Any]] = field(default_factory=dict)
    """Labelled children by their labels: `labels()` takes a lock and rebuilds its key on each
    call (four per request); the registry keeps every child anyway, so this holds no more."""

    def count_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = ("http", method, route, str(status))
        pair = self.children.get(key)
        if pair is None:
            pair = (
                self.http_requests.labels(method, route, str(status)),
                self.http_duration.labels(route),
            )
            self.children[key] = pair
        pair[0].inc()
        pair[1].observe(seconds)

    def count_operation(self, name: str, outcome: str, seconds: float) -> None:
        key = ("operation", name, outcome)
        pair = self.children.get(key)
        if pair is None:
            pair = (self.operations.labels(name, outcome), self.operation_duration.labels(name))
            self.children[key] = pair
        pair[0].inc()
        pair[1].observe(seconds)

    @classmethod
    def create(cls, engine: AsyncEngine) -> Metrics:
        registry = CollectorRegistry()
        registry.register(PoolCollector(engine))
        return cls(
            registry=registry,
            http_requests=Counter(
                "voisinage_http_requests",
                "HTTP requests by method, route and status",
                ["method", "route", "status"],
                registry=registry,
            ),
            http_duration=Histogram(
                "voisinage_http_request_duration_seconds",
                "HTTP request latency",
                ["route"],
                registry=registry,
            ),
            operations=Counter(
                "voisinage_graphql_operations",
                "GraphQL operations by name and outcome",
                ["operation", "outcome"],
                registry=registry,
            ),
            operation_duration=Histogram(
                "voisinage_graphql_operation_duration_seconds",
                "GraphQL operation latency by operation name",
                ["operation"],
                buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
                registry=registry,
            ),
        )


KNOWN_ROUTES = {"/graphql", "/healthz", "/readyz", "/metrics"}


class RequestLogMiddleware:
    """Assigns the request ID (or keeps a sane incoming `X-Request-ID`), logs, counts."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        raw = b""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                raw = value  # the last one, as before
        incoming = raw.decode("latin-1")
        request_id = (
            incoming if incoming.isascii() and 8 <= len(incoming) <= 64 else uuid.uuid4().hex
        )
        client = scope.get("client")
        state = RequestState(request_id=request_id, client_address=client[0] if client else None)
        scope.setdefault("state", {})["voisinage"] = state
        status = 0
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            status = 500
            raise
        finally:
            duration = time.perf_counter() - started
            route = scope["path"] if scope["path"] in KNOWN_ROUTES else "other"
            method = scope.get("method", "WS")
            self.metrics.count_request(method, route, status, duration)
            if log.isEnabledFor(logging.INFO):
                log_request(request_id, method, scope["path"], state, status, duration)


def log_request(
    request_id: str, method: str, path: str, state: RequestState, status: int, duration: float
) -> None:
    """The access log line (only built when INFO is enabled: production runs at WARNING)."""
    fields = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "operation": ",".join(state.operations) or None,
        "status": status,
        "duration_ms": round(duration * 1000, 2),
    }
    log.info(
        "%s %s %s op=%s %s %.1fms",
        request_id,
        method,
        path,
        fields["operation"],
        status,
        duration * 1000,
        extra={"fields": fields},
    )


class OperationMetrics(SchemaExtension):
    """Counts and times each GraphQL operation by its name (anonymous ones as `anonymous`)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context.context
        name = self.execution_context.operation_name or "anonymous"
        if len(name) > 64:
            name = name[:64]
        state = getattr(context, "request_state", None)
        if isinstance(state, RequestState):
            state.operations.append(name)
        result = self.execution_context.result
        outcome = "error" if result is not None and getattr(result, "errors", None) else "ok"
        self.metrics.count_operation(name, outcome, time.perf_counter() - started)

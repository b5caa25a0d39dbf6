"""The web client's session: an httpOnly, SameSite=Strict cookie instead of a token in page scripts.

A browser page must not hold the bearer token (any injected script could read it from memory or
storage). So the web client never sees it: its log-in requests carry `X-Voisinage-Session: open`,
and this middleware moves the `token` of a successful `logIn` answer into a cookie and blanks it
in the JSON. Later requests carry the cookie, and the
middleware turns it into the `Authorization` header the API already understands, so nothing else
in the API knows about cookies.

CSRF: the cookie is used only on POSTs carrying `X-Voisinage-Web: 1`. A page on another origin
cannot add a custom header without a CORS preflight, and the CORS policy does not allow that
header; SameSite=Strict keeps the cookie off cross-site requests anyway. On the WebSocket
upgrade (which browsers do not preflight) the cookie is used only when `Origin` is the API's own
origin or one of `CORS_ORIGINS`. An explicit `Authorization` header always wins over the cookie.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http.websocket_origin import is_same_origin, normalize_origin

COOKIE = "voisinage_session"
WEB_HEADER = b"x-voisinage-web"
SESSION_HEADER = b"x-voisinage-session"
AUTH_FIELDS = ("logIn",)
GRAPHQL_PATH = "/graphql"


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def session_cookie(scope: Scope) -> str | None:
    """The session token of the request's cookie, if well-formed (same rules as a bearer)."""
    raw = header(scope, b"cookie")
    if raw is None:
        return None
    token = cookie_parser(raw).get(COOKIE, "")
    if not token or len(token) > 200 or not token.isascii() or " " in token:
        return None
    return token


def with_authorization(scope: Scope, token: str) -> Scope:
    headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"authorization"]
    headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
    return {**scope, "headers": headers}


def cookie_header(value: str, *, max_age_s: int | None, secure: bool) -> bytes:
    parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if max_age_s is not None:
        parts.append(f"Max-Age={max_age_s}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


def seconds_until(expires_at: object) -> int | None:
    if not isinstance(expires_at, str):
        return None
    try:
        moment = datetime.fromisoformat(expires_at)
    except ValueError:
        return None
    return max(0, int(moment.timestamp() - time.time()))


def take_token(body: bytes) -> tuple[bytes, str, int | None] | None:
    """The answer without its session token, the token and its lifetime, if it holds one."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        return None
    for name in AUTH_FIELDS:
        result = data.get(name)
        if isinstance(result, dict) and isinstance(result.get("token"), str) and result["token"]:
            token: str = result["token"]
            result["token"] = ""
            return orjson.dumps(document), token, seconds_until(result.get("expiresAt"))
    return None


class WebSessionMiddleware:
    """Cookie ⇄ bearer token for the web client on `/graphql` (see the module docstring)."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_origins = frozenset(
            origin for origin in map(normalize_origin, allowed_origins) if origin
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(self.websocket_scope(scope), receive, send)
            return
        is_web = scope.get("method") == "POST" and header(scope, WEB_HEADER) == "1"
        if not is_web:
            await self.app(scope, receive, send)
            return
        token = session_cookie(scope)
        if token is not None and header(scope, b"authorization") is None:
            scope = with_authorization(scope, token)
        if header(scope, SESSION_HEADER) == "open":
            await self.app(scope, receive, self.opening_session(scope, send))
            return
        await self.app(scope, receive, send)

    def websocket_scope(self, scope: Scope) -> Scope:
        token = session_cookie(scope)
        origin = header(scope, b"origin")
        if token is None or origin is None or header(scope, b"authorization") is not None:
            return scope
        trusted = is_same_origin(origin, header(scope, b"host")) or (
            normalize_origin(origin) in self.allowed_origins
        )
        return with_authorization(scope, token) if trusted else scope

    def opening_session(self, scope: Scope, send: Send) -> Send:
        """A `send` that holds the answer back to move its token into the cookie."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body" or not start:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start.get("headers", ()) if k != b"content-length"]
            taken = take_token(body)
            if taken is not None:
                body, token, max_age_s = taken
                headers.append(
                    (b"set-cookie", cookie_header(token, max_age_s=max_age_s, secure=secure))
                )
                headers.append((b"cache-control", b"no-store"))
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        return send_with_cookie


async def close_session(request: Request) -> Response:
    """`DELETE /session`: forget the cookie (the client revokes the token with `logOut` first)."""
    if request.headers.get("x-voisinage-web") != "1":
        return Response(status_code=403)
    response = Response(status_code=204)
    response.headers["set-cookie"] = cookie_header(
        "", max_age_s=0, secure=request.url.scheme == "https"
    ).decode("latin-1")
    response.headers["cache-control"] = "no-store"
    return response


def session_routes() -> list[Route]:
    return [Route("/session", close_session, methods=["DELETE"])]

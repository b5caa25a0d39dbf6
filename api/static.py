"""The web client (web/dist, built by `make web`) served at `/`, beside the API.

Every path that is not the API's (`/graphql`, `/healthz`...) is a client route: it gets
`index.html` and the client's router shows the screen. Files under `/assets/` are immutable
(content-hashed names) and cached for a year; `index.html` is never cached, so a new build is
picked up at once. `index.html` carries a Content-Security-Policy without inline scripts, and
every request stays on this origin (docs/web.md, "Session and security"), except map tiles when
the build names a basemap.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.settings import PROJECT_ROOT

WEB_DIST = PROJECT_ROOT / "web" / "dist"
API_PREFIXES = ("/graphql", "/healthz", "/readyz", "/metrics", "/session", "/assets/")
MISSING = (
    "The web client is not built. Run `make web` (or `cd web && npm ci && npm run build`), "
    "then reload. The API itself is at /graphql.\n"
)


def content_security_policy(basemap_origin: str | None = None) -> str:
    """No inline script, no eval, nothing loaded from or sent to another origin (except map
    tiles from an operator-chosen basemap). `'self'` covers the same-origin WebSocket."""
    images = "'self' data:" + (f" {basemap_origin}" if basemap_origin else "")
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


BASEMAP = re.compile(r'<meta name="voisinage-basemap" content="([^"]*)"')


def basemap_origin(page: str) -> str | None:
    """The origin of the tile server the build named (`VITE_BASEMAP_URL`, docs/web.md), as a CSP
    source: `https://{s}.tile.example.org/{z}/{x}/{y}.png` → `https://*.tile.example.org`."""
    found = BASEMAP.search(page)
    if found is None or not found.group(1).startswith("https://"):
        return None
    host = urlsplit(found.group(1).replace("{s}", "x")).netloc
    if not host or not re.fullmatch(r"[A-Za-z0-9.:-]+", host):
        return None
    return "https://" + ("*." + host[2:] if found.group(1).startswith("https://{s}.") else host)


def page_headers(page: str) -> dict[str, str]:
    return {
        "content-security-policy": content_security_policy(basemap_origin(page)),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-cache",
        "permissions-policy": "camera=(), microphone=(), geolocation=(self)",
    }


class ImmutableAssets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
            response.headers["x-content-type-options"] = "nosniff"
        return response


def web_routes(dist: Path = WEB_DIST) -> list[BaseRoute]:
    """Routes for the client; put them after the API's (the fallback matches every path)."""
    index = dist / "index.html"

    async def page(request: Request) -> Response:
        if request.url.path.startswith(API_PREFIXES):
            return PlainTextResponse("Not Found", status_code=404)
        if not index.is_file():
            return PlainTextResponse(
                MISSING, status_code=503, headers={"cache-control": "no-store"}
            )
        page = index.read_text(encoding="utf-8")
        return HTMLResponse(page, headers=page_headers(page))

    return [
        Mount("/assets", ImmutableAssets(directory=dist / "assets", check_dir=False)),
        Route("/{path:path}", page, methods=["GET", "HEAD"]),
    ]

"""The web client's cookie session and static serving, at the HTTP level (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from api.static import basemap_origin, content_security_policy, web_routes
from api.web_session import COOKIE
from tests.servers import GRAPHQL_TRANSPORT_WS, Server, receive_json
from tests.web.browser import DEMO_PASSWORD, MEMBER

LOG_IN = """mutation ($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { ... on AuthSuccess { token expiresAt } }
}"""
ME = "{ me { email } }"
WEB = {"x-voisinage-web": "1"}


def open_session(server: Server) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.http_url)
    response = client.post(
        "/graphql",
        json={"query": LOG_IN, "variables": {"email": MEMBER, "password": DEMO_PASSWORD}},
        headers={**WEB, "x-voisinage-session": "open"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["logIn"]["token"] == ""  # never shown to page scripts
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Max-Age=" in set_cookie
    return client, client.cookies[COOKIE]


def me(client: httpx.Client, headers: dict[str, str]) -> object:
    response = client.post("/graphql", json={"query": ME}, headers=headers)
    return response.json()["data"]["me"]


def test_login_without_the_session_header_still_returns_the_token(web_server: Server) -> None:
    response = httpx.post(
        f"{web_server.http_url}/graphql",
        json={"query": LOG_IN, "variables": {"email": MEMBER, "password": DEMO_PASSWORD}},
    )
    assert len(response.json()["data"]["logIn"]["token"]) > 20
    assert "set-cookie" not in response.headers


def test_the_cookie_counts_only_with_the_web_header(web_server: Server) -> None:
    client, _ = open_session(web_server)
    try:
        assert me(client, WEB) == {"email": MEMBER}
        # A cross-site form or a simple request cannot add the custom header: the cookie is ignored.
        assert me(client, {}) is None
        assert (
            client.get("/graphql", params={"query": ME}, headers=WEB).json()["data"]["me"] is None
        )
        # DELETE /session forgets the cookie.
        assert client.delete("/session").status_code == 403
        response = client.delete("/session", headers=WEB)
        assert response.status_code == 204 and "Max-Age=0" in response.headers["set-cookie"]
        assert me(client, WEB) is None
    finally:
        client.close()


async def test_websocket_takes_the_cookie_only_from_its_own_origin(web_server: Server) -> None:
    client, token = open_session(web_server)
    client.close()
    cookie = f"{COOKIE}={token}"
    subscription = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": "subscription { notificationReceived { kind } }"},
    }
    async with connect(
        web_server.ws_url,
        subprotocols=[GRAPHQL_TRANSPORT_WS],
        additional_headers={"cookie": cookie, "origin": web_server.http_url},
    ) as ws:
        await ws.send('{"type": "connection_init", "payload": {}}')
        assert (await receive_json(ws))["type"] == "connection_ack"
        await ws.send(json.dumps(subscription))
        with pytest.raises(TimeoutError):  # subscribed (signed in): no error, waits for events
            await receive_json(ws, timeout=1)
    with pytest.raises(InvalidStatus):
        async with connect(
            web_server.ws_url,
            subprotocols=[GRAPHQL_TRANSPORT_WS],
            additional_headers={"cookie": cookie, "origin": "https://evil.example"},
        ):
            pass


def test_client_routes_get_the_page_with_its_security_headers(web_server: Server) -> None:
    response = httpx.get(f"{web_server.http_url}/objet/SXRlbTox")
    assert response.status_code == 200 and '<div id="app">' in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert httpx.get(f"{web_server.http_url}/assets/missing.js").status_code == 404
    assert httpx.get(f"{web_server.http_url}/healthz").json() == {"status": "ok"}
    graphiql = httpx.get(f"{web_server.http_url}/graphql", headers={"accept": "text/html"})
    assert graphiql.status_code == 200 and "graphiql" in graphiql.text.lower()


async def test_without_a_build_the_page_says_how_to_make_one(tmp_path: Path) -> None:
    app = Starlette(routes=web_routes(tmp_path / "dist"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/quartier")
    assert response.status_code == 503 and "make web" in response.text


def test_a_basemap_named_by_the_build_is_the_only_other_origin_allowed() -> None:
    def page(url: str) -> str:
        return f'<meta name="voisinage-basemap" content="{url}" />'

    assert basemap_origin(page("")) is None
    assert basemap_origin(page("http://tiles.example.org/{z}/{x}/{y}.png")) is None
    assert basemap_origin(page("https://tiles.example.org/{z}/{x}/{y}.png")) == (
        "https://tiles.example.org"
    )
    assert basemap_origin(page("https://{s}.tile.example.org/{z}/{x}/{y}.png")) == (
        "https://*.tile.example.org"
    )
    assert "img-src 'self' data: https://tiles.example.org;" in content_security_policy(
        "https://tiles.example.org"
    )

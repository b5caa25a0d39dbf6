"""The attacker's and the victim's WebSockets against real server processes (`python -m api serve`).

Shared by test_live_leaks.py and test_revocation.py: accounts and households made through the
API, partner keys and admin rights written to the database directly (as an operator would), and
graphql-transport-ws sockets that record every message they receive, with the time it came.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.runtime import libpq_url
from db.passwords import PasswordHashing
from tests.servers import GRAPHQL_TRANSPORT_WS, Server

CHAVENAY = {"lng": 1.99, "lat": 48.85}
VERSAILLES = {"lng": 2.13, "lat": 48.80}  # ~11 km east of Chavenay: another neighbourhood

PASSWORD = "correct horse battery"
LOG_IN = """mutation ($email: String!, $password: String!) { logIn(email: $email,
  password: $password) { __typename ... on AuthSuccess { token } } }"""
REGISTER = """mutation ($name: String!, $lng: Float!, $lat: Float!) {
  registerHousehold(input: {name: $name, location: {lng: $lng, lat: $lat}}) {
    __typename ... on RegisterHouseholdSuccess { household { id } neighbourhood { id name } } } }"""
CREATE_POST = """mutation ($title: String!, $body: String!) {
  createPost(input: {kind: DISCUSSION, title: $title, body: $body}) {
    __typename ... on CreatePostSuccess { post { id } } } }"""
POSTED = """subscription ($nid: ID, $near: LocationInput, $radius: Int, $after: String) {
  postCreated(neighbourhoodId: $nid, near: $near, radiusMeters: $radius, after: $after) {
    __typename id cursor kind title excerpt authorName createdAt expiresAt
    neighbourhood { id name } distanceMeters } }"""
NOTIFICATIONS = "subscription { notificationReceived { kind subject message } }"


@dataclass
class Member:
    token: str
    neighbourhood_id: str
    neighbourhood_name: str
    household_id: str

    @property
    def neighbourhood_pk(self) -> int:
        return int(base64.b64decode(self.neighbourhood_id).decode().split(":")[1])


async def graphql(
    server: Server,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    api_key: str | None = None,
) -> dict[str, Any]:
    """The whole response body (data and errors)."""
    headers = {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if api_key:
        headers["x-api-key"] = api_key
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(
            f"{server.http_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )
    body: dict[str, Any] = response.json()
    return body


async def data(server: Server, query: str, variables: dict[str, Any], **auth: Any) -> Any:
    body = await graphql(server, query, variables, **auth)
    assert "errors" not in body, body
    return body["data"]


async def member(server: Server, database_url: str, name: str, place: dict[str, float]) -> Member:
    """A new account with a new household at `place` (approved: fallback neighbourhoods are open)."""
    token = await sign_up(server, database_url, name)
    registered = (await data(server, REGISTER, {"name": name, **place}, token=token))[
        "registerHousehold"
    ]
    assert registered["__typename"] == "RegisterHouseholdSuccess", registered
    return Member(
        token=token,
        neighbourhood_id=registered["neighbourhood"]["id"],
        neighbourhood_name=registered["neighbourhood"]["name"],
        household_id=registered["household"]["id"],
    )


async def sign_up(server: Server, database_url: str, name: str) -> str:
    """A bearer token of a new account with a confirmed address (written as sign-up and the
    e-mailed link would leave it: these tests are about what a signed-in account receives)."""
    email = f"{uuid.uuid4().hex[:12]}@example.org"
    create_account(database_url, email, name)
    return await log_in(server, email)


def create_account(database_url: str, email: str, name: str) -> None:
    sql(
        database_url,
        "INSERT INTO accounts (email, password_hash, display_name) VALUES (%s, %s, %s)",
        (email, PasswordHashing("fast").hash(PASSWORD), name),
    )
    verified = sql(
        database_url,
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'accounts' AND column_name = 'email_verified_at'",
    )
    if verified:
        sql(
            database_url, "UPDATE accounts SET email_verified_at = now() WHERE email = %s", (email,)
        )


async def log_in(server: Server, email: str) -> str:
    signed = (await data(server, LOG_IN, {"email": email, "password": PASSWORD}))["logIn"]
    assert signed["__typename"] == "AuthSuccess", signed
    token: str = signed["token"]
    return token


async def post(
    server: Server, token: str, title: str, body: str = "Texte réservé aux membres"
) -> str:
    created = (await data(server, CREATE_POST, {"title": title, "body": body}, token=token))[
        "createPost"
    ]
    assert created["__typename"] == "CreatePostSuccess", created
    post_id: str = created["post"]["id"]
    return post_id


def sql(database_url: str, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """One statement, committed: what an operator or another service does to the data."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        cursor = conn.execute(statement, parameters)  # type: ignore[arg-type]
        return list(cursor.fetchall()) if cursor.description else []


def make_admin(database_url: str, token: str) -> None:
    sql(
        database_url,
        "UPDATE accounts SET is_admin = true WHERE id = "
        "(SELECT account_id FROM access_tokens WHERE token_hash = %s)",
        (hashlib.sha256(token.encode()).digest(),),
    )


def create_partner_key(
    database_url: str,
    scopes: Sequence[str],
    neighbourhood_ids: Sequence[int] = (),
) -> tuple[int, str]:
    """(key id, secret) of a new partner key, as an admin's createPartnerKey would write it."""
    secret = "vsk_" + uuid.uuid4().hex
    rows = sql(
        database_url,
        "INSERT INTO partner_keys (name, scopes, secret_hash, safelist_only) "
        "VALUES (%s, %s, %s, false) RETURNING id",
        ("Partenaire " + secret[-6:], list(scopes), hashlib.sha256(secret.encode()).digest()),
    )
    key_id = int(rows[0][0])
    for nid in neighbourhood_ids:
        sql(
            database_url,
            "INSERT INTO partner_key_neighbourhoods (key_id, neighbourhood_id) VALUES (%s, %s)",
            (key_id, nid),
        )
    return key_id, secret


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


@dataclass
class LiveSocket:
    """A graphql-transport-ws connection whose messages are recorded as (monotonic time, message)
    by a reader task, and whose close code is kept."""

    ws: ClientConnection
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    closed_at: float | None = None
    close_code: int | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def read_forever(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if message.get("type") in {"ping", "pong"}:
                    continue
                self.received.append((time.monotonic(), message))
                self.arrived.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed_at = time.monotonic()
            self.close_code = self.ws.close_code
            self.arrived.set()

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.ws.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )

    async def next_message(self, op_id: str, timeout: float = 10) -> dict[str, Any]:
        """The next message of operation `op_id` not returned before (next, error or complete)."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(len(self.received)):
                message = self.received[index][1]
                if message.get("id") == op_id and index not in self.taken:
                    self.taken.add(index)
                    return message
            if self.closed_at is not None:
                raise AssertionError(f"closed with {self.close_code} before a message for {op_id}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no message for {op_id} within {timeout} s")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    @property
    def taken(self) -> set[int]:
        taken: set[int] | None = self.__dict__.get("_taken")
        if taken is None:
            taken = self.__dict__["_taken"] = set()
        return taken

    async def live_post(self, op_id: str, title: str, timeout: float = 10) -> dict[str, Any]:
        """The `postCreated` payload of the post titled `title` (others, from other tests
        nearby, are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.next_message(op_id, max(deadline - time.monotonic(), 0.01))
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            live: dict[str, Any] = message["payload"]["data"]["postCreated"]
            if live["title"] == title:
                return live

    def messages_since(self, moment: float) -> list[dict[str, Any]]:
        return [message for at, message in self.received if at >= moment]

    async def wait_closed(self, timeout: float) -> None:
        assert self.reader is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.reader), timeout)


@contextlib.asynccontextmanager
async def live_socket(server: Server, init: dict[str, Any]) -> AsyncIterator[LiveSocket]:
    """A connected, acknowledged socket (`init`: the connection_init payload); closed on exit."""
    ws = await connect(server.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS])
    socket = LiveSocket(ws)
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] not in {"ping", "pong"}:
                break
        assert message["type"] == "connection_ack", message
        socket.reader = asyncio.create_task(socket.read_forever())
        yield socket
    finally:
        await ws.close()
        if socket.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket.reader, 5)


def bearer(token: str) -> dict[str, Any]:
    return {"authorization": f"Bearer {token}"}


def error_codes(message: dict[str, Any]) -> list[str]:
    """The `extensions.code`s of an `error` message, or of a `next` carrying errors."""
    if message["type"] == "error":
        errors = message["payload"]
    else:
        errors = message["payload"].get("errors") or []
    return [error.get("extensions", {}).get("code") for error in errors]

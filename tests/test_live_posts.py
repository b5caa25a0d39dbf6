"""Live posts over real WebSockets and real server processes.

A post created through process A reaches a subscriber connected to process B (LISTEN/NOTIFY);
a subscriber that reconnects with its cursor gets exactly what it missed; a slow consumer is cut
off with 4008; the listener survives a database restart under a live subscription.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.runtime import libpq_url
from db.embedded import EmbeddedPostgres
from db.engine import create_engine
from db.migrate import upgrade
from db.queries.partners import create_partner_key
from tests.servers import GRAPHQL_TRANSPORT_WS, Server, receive_json, running_server

SIGN_UP = """mutation ($email: String!) { signUp(input: {email: $email,
  password: "correct horse battery", displayName: "Voisin"}) { __typename } }"""
LOG_IN = """mutation ($email: String!) { logIn(email: $email, password: "correct horse battery") {
  ... on AuthSuccess { token } } }"""
REGISTER = """mutation ($name: String!, $lng: Float!, $lat: Float!) {
  registerHousehold(input: {name: $name, location: {lng: $lng, lat: $lat}}) {
    ... on RegisterHouseholdSuccess { neighbourhood { id } } } }"""
CREATE_POST = """mutation ($title: String!) {
  createPost(input: {kind: DISCUSSION, title: $title, body: "Bonjour à tous"}) {
    __typename ... on CreatePostSuccess { post { id } } } }"""
SUBSCRIBE = """subscription ($nid: ID, $near: LocationInput, $radius: Int, $after: String) {
  postCreated(neighbourhoodId: $nid, near: $near, radiusMeters: $radius, after: $after) {
    id cursor kind title excerpt authorName neighbourhood { id name } distanceMeters } }"""


async def graphql(
    server: Server, query: str, variables: dict[str, Any], token: str | None = None
) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{server.http_url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def neighbour(
    server: Server, database_url: str, name: str, lng: float = 1.99, lat: float = 48.85
) -> tuple[str, str]:
    """A signed-up account (its address confirmed, as the e-mailed link does) with a registered
    household: (token, neighbourhood global id)."""
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    signed_up = await graphql(server, SIGN_UP, {"email": email})
    assert signed_up["signUp"]["__typename"] == "SignUpSuccess", signed_up
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("UPDATE accounts SET email_verified_at = now() WHERE email = %s", (email,))
    token = (await graphql(server, LOG_IN, {"email": email}))["logIn"]["token"]
    registered = await graphql(server, REGISTER, {"name": name, "lng": lng, "lat": lat}, token)
    return token, registered["registerHousehold"]["neighbourhood"]["id"]


async def post(server: Server, token: str, title: str) -> str:
    data = await graphql(server, CREATE_POST, {"title": title}, token)
    assert data["createPost"]["__typename"] == "CreatePostSuccess", data
    post_id: str = data["createPost"]["post"]["id"]
    return post_id


async def open_subscription(
    server: Server, token: str, variables: dict[str, Any]
) -> ClientConnection:
    ws = await connect(server.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert (await receive_json(ws))["type"] == "connection_ack"
    await ws.send(
        json.dumps(
            {
                "id": "s",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": variables},
            }
        )
    )
    await asyncio.sleep(0.3)  # let the server register the subscriber before posts are written
    return ws


async def next_post(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    message = await receive_json(ws, timeout)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    live: dict[str, Any] = message["payload"]["data"]["postCreated"]
    return live


@pytest.fixture(scope="module")
def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("live")
    with (
        running_server(database_url, logs / "a.log") as a,
        running_server(database_url, logs / "b.log") as b,
    ):
        yield a, b


async def test_a_post_created_on_one_process_reaches_a_subscriber_on_another(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    token, nid = await neighbour(a, database_url, "Famille Martin")
    ws = await open_subscription(b, token, {"nid": nid})
    try:
        created = await post(a, token, "Places de cinéma en trop ce soir")
        live = await next_post(ws)
    finally:
        await ws.close()
    assert live["id"] == created
    assert live["title"] == "Places de cinéma en trop ce soir"
    assert live["authorName"] == "Famille Martin"
    assert live["neighbourhood"]["id"] == nid
    assert live["kind"] == "DISCUSSION" and live["distanceMeters"] is None


async def test_reconnecting_with_a_cursor_gets_exactly_the_missed_posts(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    token, nid = await neighbour(a, database_url, "Famille Petit", lng=1.95, lat=48.82)
    ws = await open_subscription(b, token, {"nid": nid})
    await post(a, token, "premier")
    cursor = (await next_post(ws))["cursor"]
    await ws.close()
    missed = [await post(a, token, title) for title in ("deuxième", "troisième", "quatrième")]
    ws = await open_subscription(b, token, {"nid": nid, "after": cursor})
    try:
        caught_up = [await next_post(ws) for _ in missed]
        live_id = await post(a, token, "cinquième")
        live = await next_post(ws)
        with pytest.raises(TimeoutError):  # nothing else: no duplicate at the seam
            await receive_json(ws, timeout=1.0)
    finally:
        await ws.close()
    assert [item["id"] for item in caught_up] == missed
    assert [item["title"] for item in caught_up] == ["deuxième", "troisième", "quatrième"]
    assert live["id"] == live_id


async def test_only_members_may_follow_a_neighbourhood(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, _ = servers
    _, chavenay = await neighbour(a, database_url, "Famille Martin")
    stranger, _ = await neighbour(a, database_url, "Loin", lng=2.35, lat=48.86)
    ws = await open_subscription(a, stranger, {"nid": chavenay})
    try:
        message = await receive_json(ws)
    finally:
        await ws.close()
    assert message["type"] in {"error", "next"}
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_near_subscription_crosses_borders_with_a_rounded_distance(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author, _ = await neighbour(a, database_url, "Auteur", lng=1.99, lat=48.85)
    # Another cell, ~4.4 km east: a stranger to the author's neighbourhood.
    reader, _ = await neighbour(a, database_url, "Lecteur", lng=2.05, lat=48.85)
    ws = await open_subscription(b, reader, {"near": {"lng": 2.05, "lat": 48.85}, "radius": 10000})
    try:
        await post(a, author, "Chat perdu rue de la Mare")
        live = await next_post(ws)
    finally:
        await ws.close()
    assert live["title"] == "Chat perdu rue de la Mare"
    assert live["distanceMeters"] % 500 == 0 and 3500 <= live["distanceMeters"] <= 5500
    # A stranger sees what postsNear shows, nothing more (docs/live.md).
    assert live["excerpt"] is None and live["authorName"] is None and live["id"] is None


async def test_a_slow_consumer_is_cut_off_with_4008(database_url: str, tmp_path: Path) -> None:
    with running_server(database_url, tmp_path / "slow.log", SUBSCRIPTION_QUEUE_SIZE="2") as server:
        token, nid = await neighbour(server, database_url, "Lent")
        ws = await open_subscription(server, token, {"nid": nid})
        neighbourhood_id = int(base64.b64decode(nid).decode().split(":")[1])
        burst = [
            json.dumps(
                {
                    "type": "post_created",
                    "id": 10_000_000 + i,
                    "neighbourhood_id": neighbourhood_id,
                    "neighbourhood_name": "x",
                    "household_id": 1,
                    "author_name": "x",
                    "kind": "DISCUSSION",
                    "title": "x",
                    "excerpt": "",
                    "created_at": "2026-01-01T00:00:00.000000Z",
                    "expires_at": None,
                    "lng": 1.99,
                    "lat": 48.85,
                }
            )
            for i in range(50)
        ]
        with psycopg.connect(libpq_url(database_url), autocommit=False) as conn:
            for payload in burst:  # one transaction: all 50 arrive at once
                conn.execute("SELECT pg_notify('voisinage_events', %s)", (payload,))
            conn.commit()
        try:
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(60):
                    await receive_json(ws, timeout=5)
        finally:
            await ws.close()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008


@pytest.fixture
async def private_cluster() -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    """A cluster of this test's own, so restarting it disturbs no other test; stopped and its
    directory removed whatever happens (a failed start or migration included)."""
    root = Path(tempfile.mkdtemp(prefix="voisinage-restart-"))
    os.chmod(root, 0o755)
    cluster = EmbeddedPostgres(data_dir=root / "postgres")
    try:
        cluster.start()
        with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as conn:
            conn.execute("CREATE DATABASE live")
        url = cluster.url("live")
        upgrade(url)
        yield cluster, url
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


async def test_a_subscription_survives_a_database_restart(
    private_cluster: tuple[EmbeddedPostgres, str], tmp_path: Path
) -> None:
    cluster, url = private_cluster
    with running_server(url, tmp_path / "restart.log") as server:
        token, nid = await neighbour(server, url, "Famille Robert")
        ws = await open_subscription(server, token, {"nid": nid})
        try:
            await post(server, token, "avant")
            assert (await next_post(ws))["title"] == "avant"
            await asyncio.to_thread(cluster.restart)
            during = await post(server, token, "juste après le redémarrage")
            later = await post(server, token, "plus tard")
            received = [await next_post(ws, timeout=20), await next_post(ws, timeout=20)]
        finally:
            await ws.close()
    assert [item["id"] for item in received] == [during, later]


NOTIFICATIONS = "subscription { notificationReceived { kind subject message } }"
CREATE_ITEM = """mutation { createItem(input: {title: "Perceuse", category: TOOLS, condition: GOOD,
  terms: FREE}) { ... on CreateItemSuccess { item { id } } } }"""
REQUEST_LOAN = """mutation ($item: ID!, $from: Date!, $to: Date!) {
  requestLoan(itemId: $item, startsOn: $from, endsOn: $to) { __typename ... on LoanChanged { loan { id } } } }"""


async def test_a_lender_hears_of_a_loan_request_live(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    lender, _ = await neighbour(a, database_url, "Prêteur")
    borrower, _ = await neighbour(a, database_url, "Emprunteur", lng=1.991, lat=48.851)
    item = (await graphql(a, CREATE_ITEM, {}, lender))["createItem"]["item"]["id"]
    ws = await connect(b.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS])
    try:
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {lender}"}}
            )
        )
        assert (await receive_json(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "n", "type": "subscribe", "payload": {"query": NOTIFICATIONS}})
        )
        await asyncio.sleep(0.3)
        today = datetime.date.today()
        requested = await graphql(
            a,
            REQUEST_LOAN,
            {
                "item": item,
                "from": str(today + datetime.timedelta(days=2)),
                "to": str(today + datetime.timedelta(days=4)),
            },
            borrower,
        )
        message = await receive_json(ws, timeout=10)
    finally:
        await ws.close()
    loan_id = requested["requestLoan"]["loan"]["id"]
    notification = message["payload"]["data"]["notificationReceived"]
    assert notification["kind"] == "LOAN_REQUESTED"
    assert notification["subject"] == loan_id
    assert "emprunter" in notification["message"]


async def test_connections_per_account_are_limited(database_url: str, tmp_path: Path) -> None:
    with running_server(
        database_url, tmp_path / "limit.log", WS_MAX_CONNECTIONS_PER_VIEWER="1"
    ) as server:
        token, nid = await neighbour(server, database_url, "Pressé")
        first = await open_subscription(server, token, {"nid": nid})
        second = await connect(server.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS])
        try:
            await second.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
            with pytest.raises(ConnectionClosed) as closed:
                await receive_json(second)
        finally:
            await second.close()
            await first.close()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_partner_key_follows_the_neighbourhoods_it_was_granted(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    token, nid = await neighbour(a, database_url, "Famille Mairie")
    engine = create_engine(database_url, pool_size=1)
    secret = "vsk_" + uuid.uuid4().hex
    try:
        async with engine.begin() as conn:
            await create_partner_key(
                conn,
                name="Mairie",
                scopes=["READ_NEIGHBOURHOODS"],
                secret=secret,
                neighbourhood_ids=[int(base64.b64decode(nid).decode().split(":")[1])],
                territory=None,
                safelist_only=False,
                created_by_account_id=None,
            )
    finally:
        await engine.dispose()
    ws = await connect(b.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS])
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": secret}}))
        assert (await receive_json(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "p",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"nid": nid}},
                }
            )
        )
        await asyncio.sleep(0.3)
        created = await post(a, token, "Réunion publique à la mairie")
        live = await next_post(ws)
    finally:
        await ws.close()
    assert live["id"] == created

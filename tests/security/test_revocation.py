"""Revocation is immediate: a socket opened before stops within a second, closed with 4403.

Each test opens a socket on one server process, takes the right away through the other (or
through the database, as an operator would), then writes a post and a notification that the
socket would have received: the close must come within 1 s and nothing may arrive after the
revocation returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.live_sockets import (
    NOTIFICATIONS,
    POSTED,
    LiveSocket,
    bearer,
    create_account,
    create_partner_key,
    data,
    global_id,
    live_socket,
    log_in,
    make_admin,
    member,
    post,
    sign_up,
    sql,
)
from tests.servers import Server, running_server

FORBIDDEN_CLOSE = 4403
LOG_OUT = "mutation { logOut { __typename } }"
REVOKE_KEY = "mutation ($id: ID!) { revokePartnerKey(id: $id) { __typename } }"
ROTATE_KEY = """mutation ($id: ID!) { rotatePartnerKey(id: $id, graceHours: 0) {
  __typename ... on PartnerKeySecret { secret } } }"""
CREATE_NEIGHBOURHOOD = """mutation ($name: String!, $boundary: GeoJSON!) {
  createNeighbourhood(input: {name: $name, boundary: $boundary}) {
    __typename ... on NeighbourhoodChanged { householdsMovedIn }
    ... on ValidationError { code message } } }"""
ACCEPT_MOVE = "mutation { acceptNeighbourhoodMove { __typename } }"
CREATE_ITEM = """mutation { createItem(input: {title: "Perceuse", category: TOOLS, condition: GOOD,
  terms: FREE}) { ... on CreateItemSuccess { item { id } } } }"""
REQUEST_LOAN = """mutation ($item: ID!, $from: Date!, $to: Date!) {
  requestLoan(itemId: $item, startsOn: $from, endsOn: $to) { __typename } }"""


@pytest.fixture(scope="module")
def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("revocation")
    with (
        running_server(database_url, logs / "a.log") as a,
        running_server(database_url, logs / "b.log") as b,
    ):
        yield a, b


def place(index: float) -> dict[str, float]:
    """A place of each test's own (~15 km apart), so that no test sees another's posts."""
    return {"lng": 1.70 + 0.2 * index, "lat": 48.60}


async def assert_closed_forbidden_within_a_second(socket: LiveSocket, since: float) -> None:
    await socket.wait_closed(timeout=3)
    assert socket.close_code == FORBIDDEN_CLOSE, socket.close_code
    assert socket.closed_at is not None and socket.closed_at - since <= 1.0, (
        socket.closed_at - since if socket.closed_at else None
    )


def deliveries_since(socket: LiveSocket, moment: float) -> list[dict[str, Any]]:
    return [m for m in socket.messages_since(moment) if m.get("type") == "next"]


async def test_log_out_closes_every_socket_of_that_token_within_a_second(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    victim = await member(a, database_url, "Famille Partie", place(0))
    neighbour = await member(
        a, database_url, "Famille Restée", {**place(0), "lng": place(0)["lng"] + 0.0005}
    )
    async with live_socket(b, bearer(victim.token)) as socket:
        await socket.subscribe("posts", POSTED, {"nid": victim.neighbourhood_id})
        await socket.subscribe("mine", NOTIFICATIONS)
        await asyncio.sleep(0.3)
        await post(a, neighbour.token, "Avant la déconnexion")
        assert (await socket.live_post("posts", "Avant la déconnexion"))["excerpt"]
        assert (await data(a, LOG_OUT, {}, token=victim.token))["logOut"]["__typename"] == (
            "LogOutSuccess"
        )
        revoked = time.monotonic()
        await post(a, neighbour.token, "Après la déconnexion")
        await assert_closed_forbidden_within_a_second(socket, revoked)
    assert deliveries_since(socket, revoked) == []


async def test_logging_out_another_device_leaves_this_socket_open(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    email = f"{uuid.uuid4().hex[:12]}@example.org"
    create_account(database_url, email, "Deux appareils")
    phone = await log_in(a, email)
    laptop = await log_in(a, email)
    registered = await data(
        a,
        """mutation ($lng: Float!, $lat: Float!) { registerHousehold(input: {name: "Deux",
        location: {lng: $lng, lat: $lat}}) { ... on RegisterHouseholdSuccess {
        neighbourhood { id } } } }""",
        place(1),
        token=phone,
    )
    nid = registered["registerHousehold"]["neighbourhood"]["id"]
    async with live_socket(b, bearer(laptop)) as socket:
        await socket.subscribe("posts", POSTED, {"nid": nid})
        await asyncio.sleep(0.3)
        await data(a, LOG_OUT, {}, token=phone)
        await asyncio.sleep(1.0)
        await post(a, laptop, "Toujours connecté")
        live = await socket.live_post("posts", "Toujours connecté")
    assert live["excerpt"] == "Texte réservé aux membres"


async def test_revoking_a_partner_key_closes_its_sockets_within_a_second(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Suivie", place(2))
    admin = await sign_up(a, database_url, "Admin")
    make_admin(database_url, admin)
    key_id, secret = create_partner_key(
        database_url, ["READ_PUBLIC", "READ_NEIGHBOURHOODS"], [author.neighbourhood_pk]
    )
    async with live_socket(b, {"apiKey": secret}) as socket:
        await socket.subscribe("posts", POSTED, {"nid": author.neighbourhood_id})
        await socket.subscribe("near", POSTED, {"near": place(2), "radius": 5000})
        await asyncio.sleep(0.3)
        await post(a, author.token, "Lu par la mairie")
        assert (await socket.live_post("posts", "Lu par la mairie"))["excerpt"]
        revoked_by = await data(a, REVOKE_KEY, {"id": global_id("PartnerKey", key_id)}, token=admin)
        assert revoked_by["revokePartnerKey"]["__typename"] == "RevokePartnerKeySuccess"
        revoked = time.monotonic()
        await post(a, author.token, "Plus pour la mairie")
        await assert_closed_forbidden_within_a_second(socket, revoked)
    assert deliveries_since(socket, revoked) == []


async def test_rotating_a_partner_key_without_grace_closes_sockets_on_the_old_secret(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Tournante", place(3))
    admin = await sign_up(a, database_url, "Admin")
    make_admin(database_url, admin)
    key_id, secret = create_partner_key(
        database_url, ["READ_NEIGHBOURHOODS"], [author.neighbourhood_pk]
    )
    async with live_socket(b, {"apiKey": secret}) as socket:
        await socket.subscribe("posts", POSTED, {"nid": author.neighbourhood_id})
        await asyncio.sleep(0.3)
        rotated = await data(a, ROTATE_KEY, {"id": global_id("PartnerKey", key_id)}, token=admin)
        assert rotated["rotatePartnerKey"]["secret"] != secret
        revoked = time.monotonic()
        await post(a, author.token, "Après la rotation")
        await assert_closed_forbidden_within_a_second(socket, revoked)
    assert deliveries_since(socket, revoked) == []


async def test_losing_membership_closes_the_neighbourhood_feed_within_a_second(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    home = place(4)
    leaver = await member(a, database_url, "Famille Déménagée", home)
    stayer = await member(a, database_url, "Famille Restante", {**home, "lng": home["lng"] + 0.01})
    assert stayer.neighbourhood_id == leaver.neighbourhood_id
    drawer = await sign_up(a, database_url, "Dessinatrice")
    d = 0.006  # a square (~1.2 km²) around the leaver's home only: it moves into it
    ring = [
        [home["lng"] - d, home["lat"] - d],
        [home["lng"] + d, home["lat"] - d],
        [home["lng"] + d, home["lat"] + d],
        [home["lng"] - d, home["lat"] + d],
        [home["lng"] - d, home["lat"] - d],
    ]
    async with live_socket(b, bearer(leaver.token)) as socket:
        await socket.subscribe("posts", POSTED, {"nid": leaver.neighbourhood_id})
        await asyncio.sleep(0.3)
        await post(a, stayer.token, "Encore voisins")
        assert (await socket.live_post("posts", "Encore voisins"))["excerpt"]
        drawn = await data(
            a,
            CREATE_NEIGHBOURHOOD,
            {"name": "Hameau", "boundary": {"type": "Polygon", "coordinates": [ring]}},
            token=drawer,
        )
        assert drawn["createNeighbourhood"]["__typename"] == "NeighbourhoodChanged", drawn
        if drawn["createNeighbourhood"]["householdsMovedIn"] == 0:  # a move proposed: accept it
            accepted = await data(a, ACCEPT_MOVE, {}, token=leaver.token)
            moved = accepted["acceptNeighbourhoodMove"]["__typename"]
            assert moved == "NeighbourhoodMoveAccepted", accepted
        revoked = time.monotonic()
        await post(a, stayer.token, "Plus voisins")
        await assert_closed_forbidden_within_a_second(socket, revoked)
    assert deliveries_since(socket, revoked) == []


async def test_a_membership_declined_in_the_database_closes_the_feed_within_a_second(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    victim = await member(a, database_url, "Famille Refusée", place(5))
    other = await member(
        a, database_url, "Famille Acceptée", {**place(5), "lng": place(5)["lng"] + 0.0005}
    )
    async with live_socket(b, bearer(victim.token)) as socket:
        await socket.subscribe("posts", POSTED, {"nid": victim.neighbourhood_id})
        await asyncio.sleep(0.3)
        sql(
            database_url,
            "UPDATE households SET membership_status = 'DECLINED' WHERE id = %s",
            (int(__import__("base64").b64decode(victim.household_id).decode().split(":")[1]),),
        )
        revoked = time.monotonic()
        await post(a, other.token, "Réservé aux membres")
        await assert_closed_forbidden_within_a_second(socket, revoked)
    assert deliveries_since(socket, revoked) == []


async def test_an_expired_token_closes_its_socket_when_it_expires(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    lender = await member(a, database_url, "Famille Expirée", place(6))
    borrower = await member(a, database_url, "Famille Emprunteuse", {**place(6), "lat": 48.6005})
    item = (await data(a, CREATE_ITEM, {}, token=lender.token))["createItem"]["item"]["id"]
    async with live_socket(b, bearer(lender.token)) as socket:
        await socket.subscribe("mine", NOTIFICATIONS)
        await asyncio.sleep(0.3)
        sql(
            database_url,
            "UPDATE access_tokens SET expires_at = now() + interval '2 seconds' "
            "WHERE token_hash = %s",
            (hashlib.sha256(lender.token.encode()).digest(),),
        )
        expires = time.monotonic() + 2
        await socket.wait_closed(timeout=5)
        today = datetime.date.today()
        await data(
            a,
            REQUEST_LOAN,
            {
                "item": item,
                "from": str(today + datetime.timedelta(days=2)),
                "to": str(today + datetime.timedelta(days=4)),
            },
            token=borrower.token,
        )
        await asyncio.sleep(0.5)
    assert socket.close_code == FORBIDDEN_CLOSE
    assert socket.closed_at is not None and expires - 0.5 <= socket.closed_at <= expires + 1.0
    assert deliveries_since(socket, 0) == []


async def test_log_out_closes_every_socket_of_a_two_worker_server(
    database_url: str, tmp_path: Path
) -> None:
    with running_server(database_url, tmp_path / "workers.log", WORKERS="2") as server:
        victim = await member(server, database_url, "Famille Multiple", place(7))
        async with contextlib.AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(live_socket(server, bearer(victim.token)))
                for _ in range(4)
            ]
            for socket in sockets:
                await socket.subscribe("posts", POSTED, {"nid": victim.neighbourhood_id})
            await asyncio.sleep(0.3)
            await data(server, LOG_OUT, {}, token=victim.token)
            revoked = time.monotonic()
            for socket in sockets:
                await assert_closed_forbidden_within_a_second(socket, revoked)
    assert all(deliveries_since(socket, revoked) == [] for socket in sockets)


async def test_losing_an_ambassador_role_closes_the_feed_it_gave_within_a_second(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Modérée", place(8))
    ambassador = await sign_up(a, database_url, "Ambassadrice venue d'ailleurs")
    digest = hashlib.sha256(ambassador.encode()).digest()
    sql(
        database_url,
        "INSERT INTO neighbourhood_roles (account_id, neighbourhood_id) "
        "SELECT account_id, %s FROM access_tokens WHERE token_hash = %s",
        (author.neighbourhood_pk, digest),
    )
    async with live_socket(b, bearer(ambassador)) as socket:
        await socket.subscribe("posts", POSTED, {"nid": author.neighbourhood_id})
        await asyncio.sleep(0.3)
        await post(a, author.token, "Lu par l'ambassadrice")
        assert (await socket.live_post("posts", "Lu par l'ambassadrice"))["excerpt"]
        sql(
            database_url,
            "DELETE FROM neighbourhood_roles WHERE neighbourhood_id = %s AND account_id = "
            "(SELECT account_id FROM access_tokens WHERE token_hash = %s)",
            (author.neighbourhood_pk, digest),
        )
        revoked = time.monotonic()
        await post(a, author.token, "Plus pour l'ambassadrice")
        await assert_closed_forbidden_within_a_second(socket, revoked)
    assert deliveries_since(socket, revoked) == []


async def test_a_partner_key_losing_a_neighbourhood_closes_the_feed_within_a_second(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Retirée", place(9))
    key_id, secret = create_partner_key(
        database_url, ["READ_NEIGHBOURHOODS"], [author.neighbourhood_pk]
    )
    async with live_socket(b, {"apiKey": secret}) as socket:
        await socket.subscribe("posts", POSTED, {"nid": author.neighbourhood_id})
        await asyncio.sleep(0.3)
        sql(
            database_url,
            "DELETE FROM partner_key_neighbourhoods WHERE key_id = %s AND neighbourhood_id = %s",
            (key_id, author.neighbourhood_pk),
        )
        revoked = time.monotonic()
        await post(a, author.token, "Plus pour le partenaire")
        await assert_closed_forbidden_within_a_second(socket, revoked)
    assert deliveries_since(socket, revoked) == []

"""Live = query: a subscription never shows what the same viewer could not read by query.

The attacker is a member of Versailles, or a partner app, following `postCreated` near
Chavenay: it may see what `postsNear` shows (kind, title, neighbourhood name, a rounded distance)
and nothing else, however it asks (every field, nested, aliased, in a fragment, sharing a
rendering with a Chavenay member, through a catch-up with a forged or old cursor).
Real server processes: the post is written through one, the socket is on the other.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.pagination import encode_time_cursor
from tests.security.live_sockets import (
    CHAVENAY,
    POSTED,
    VERSAILLES,
    Member,
    bearer,
    create_partner_key,
    error_codes,
    live_socket,
    member,
    post,
    sql,
)
from tests.servers import Server, running_server

CURSOR_SECRET = "test-live-cursor-secret-" + uuid.uuid4().hex
RADIUS = 15_000  # from Chavenay: reaches Versailles' posts too
PUBLIC_FIELDS = {"__typename", "cursor", "kind", "title", "neighbourhood", "distanceMeters"}
PRIVATE_FIELDS = {"id", "excerpt", "authorName", "createdAt", "expiresAt"}
NESTED = """subscription ($near: LocationInput, $radius: Int) {
  postCreated(near: $near, radiusMeters: $radius) { ...Shown t: title } }
fragment Shown on LivePost {
  words: excerpt who: authorName when: createdAt
  where: neighbourhood { which: id name } postId: id kind distanceMeters
}"""


@pytest.fixture(scope="module")
def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("leaks")
    with (
        running_server(database_url, logs / "a.log", LIVE_CURSOR_SECRET=CURSOR_SECRET) as a,
        running_server(database_url, logs / "b.log", LIVE_CURSOR_SECRET=CURSOR_SECRET) as b,
    ):
        yield a, b


def near(place: dict[str, float], radius: int = RADIUS) -> dict[str, Any]:
    return {"near": place, "radius": radius}


def assert_public_only(live: dict[str, Any], author: Member) -> None:
    """What postsNear shows a stranger, and null everywhere else."""
    assert live["kind"] == "DISCUSSION"
    assert live["neighbourhood"] == {"id": None, "name": author.neighbourhood_name}
    assert isinstance(live["distanceMeters"], int) and live["distanceMeters"] % 100 == 0
    assert {name: live[name] for name in PRIVATE_FIELDS} == dict.fromkeys(PRIVATE_FIELDS)


async def test_a_stranger_near_a_neighbourhood_sees_only_what_posts_near_shows(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Chavenaysienne", CHAVENAY)
    stranger = await member(a, database_url, "Famille Versaillaise", VERSAILLES)
    assert stranger.neighbourhood_id != author.neighbourhood_id
    async with live_socket(b, bearer(stranger.token)) as socket:
        await socket.subscribe("s", POSTED, near(CHAVENAY))
        await asyncio.sleep(0.3)
        title = f"Chat perdu {uuid.uuid4().hex[:6]}"
        await post(a, author.token, title, body="Appelez le 06 12 34 56 78, 3 rue de la Mare")
        live = await socket.live_post("s", title)
    assert_public_only(live, author)
    assert live["title"] == title
    assert 0 < live["distanceMeters"] <= 1_000


async def test_a_member_near_their_own_neighbourhood_reads_its_posts_in_full(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Auteur", CHAVENAY)
    neighbour = await member(a, database_url, "Famille Voisine", {"lng": 1.9905, "lat": 48.8502})
    assert neighbour.neighbourhood_id == author.neighbourhood_id
    async with live_socket(b, bearer(neighbour.token)) as socket:
        await socket.subscribe("s", POSTED, near(CHAVENAY))
        await asyncio.sleep(0.3)
        title = f"Fête des voisins {uuid.uuid4().hex[:6]}"
        post_id = await post(a, author.token, title, body="Samedi, cour de l'école")
        live = await socket.live_post("s", title)
    assert live["id"] == post_id
    assert live["excerpt"] == "Samedi, cour de l'école"
    assert live["authorName"] == "Famille Auteur"
    assert live["neighbourhood"]["id"] == author.neighbourhood_id
    assert live["createdAt"] is not None


async def test_nested_aliased_and_fragment_fields_are_null_for_a_stranger_even_when_a_member_shares_the_rendering(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Fragment", CHAVENAY)
    insider = await member(a, database_url, "Famille Dedans", {"lng": 1.9902, "lat": 48.8501})
    stranger = await member(a, database_url, "Famille Dehors", VERSAILLES)
    title = f"Perceuse à prêter {uuid.uuid4().hex[:6]}"
    # The same document, variables and origin: one group for api.fanout's shared rendering.
    async with (
        live_socket(b, bearer(insider.token)) as inside,
        live_socket(b, bearer(stranger.token)) as outside,
    ):
        await inside.subscribe("s", NESTED, near(CHAVENAY))
        await outside.subscribe("s", NESTED, near(CHAVENAY))
        await asyncio.sleep(0.3)
        await post(a, author.token, title, body="Contactez-moi au 06 00 00 00 00")

        async def find(socket: Any) -> dict[str, Any]:
            while True:
                message = await socket.next_message("s")
                live: dict[str, Any] = message["payload"]["data"]["postCreated"]
                if live["t"] == title:
                    return live

        seen_inside, seen_outside = await find(inside), await find(outside)
    assert seen_inside["words"] == "Contactez-moi au 06 00 00 00 00"
    assert seen_inside["who"] == "Famille Fragment"
    assert seen_outside["words"] is None and seen_outside["who"] is None
    assert seen_outside["when"] is None and seen_outside["postId"] is None
    assert seen_outside["where"] == {"which": None, "name": author.neighbourhood_name}
    assert seen_outside["kind"] == "DISCUSSION"


async def test_a_partner_key_without_a_reading_scope_for_the_territory_sees_public_fields_only(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Publique", CHAVENAY)
    versailles = await member(a, database_url, "Famille Mairie", VERSAILLES)
    # Reads Versailles' members' content, and public data: not Chavenay's.
    _, secret = create_partner_key(
        database_url, ["READ_PUBLIC", "READ_NEIGHBOURHOODS"], [versailles.neighbourhood_pk]
    )
    async with live_socket(b, {"apiKey": secret}) as socket:
        await socket.subscribe("s", POSTED, near(CHAVENAY))
        await asyncio.sleep(0.3)
        title = f"Vide-grenier {uuid.uuid4().hex[:6]}"
        await post(a, author.token, title)
        live = await socket.live_post("s", title)
    assert_public_only(live, author)


async def test_a_partner_key_without_any_reading_scope_may_not_follow_posts(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Agrégée", CHAVENAY)
    _, secret = create_partner_key(
        database_url, ["READ_AGGREGATES", "POST_ON_BEHALF"], [author.neighbourhood_pk]
    )
    async with live_socket(b, {"apiKey": secret}) as socket:
        await socket.subscribe("near", POSTED, near(CHAVENAY))
        await socket.subscribe("nid", POSTED, {"nid": author.neighbourhood_id})
        refused = [await socket.next_message("near"), await socket.next_message("nid")]
    assert [error_codes(message) for message in refused] == [["FORBIDDEN"], ["FORBIDDEN"]]


async def test_a_forged_cursor_replays_nothing(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Historique", CHAVENAY)
    await post(a, author.token, "Un vieux message")
    forged = encode_time_cursor("l", datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC), 0)
    async with live_socket(b, bearer(author.token)) as socket:
        await socket.subscribe("s", POSTED, {"nid": author.neighbourhood_id, "after": forged})
        first = await socket.next_message("s")
    assert error_codes(first) == ["INVALID_CURSOR"]


async def test_a_stranger_catching_up_near_a_neighbourhood_sees_only_public_fields(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Rattrapée", CHAVENAY)
    stranger = await member(a, database_url, "Famille Curieuse", VERSAILLES)
    async with live_socket(b, bearer(stranger.token)) as socket:
        await socket.subscribe("s", POSTED, near(CHAVENAY))
        await asyncio.sleep(0.3)
        first = f"Premier {uuid.uuid4().hex[:6]}"
        await post(a, author.token, first)
        cursor = (await socket.live_post("s", first))["cursor"]
    missed = f"Manqué {uuid.uuid4().hex[:6]}"
    await post(a, author.token, missed, body="Le code du portail est 1234")
    async with live_socket(a, bearer(stranger.token)) as socket:
        await socket.subscribe("s", POSTED, {**near(CHAVENAY), "after": cursor})
        caught_up = await socket.live_post("s", missed)
    assert_public_only(caught_up, author)


async def test_a_catch_up_sends_at_most_the_last_100_posts(
    servers: tuple[Server, Server], database_url: str
) -> None:
    a, b = servers
    author = await member(a, database_url, "Famille Bavarde", {"lng": 1.93, "lat": 48.88})
    async with live_socket(b, bearer(author.token)) as socket:
        await socket.subscribe("s", POSTED, {"nid": author.neighbourhood_id})
        await asyncio.sleep(0.3)
        await post(a, author.token, "Avant la coupure")
        cursor = (await socket.live_post("s", "Avant la coupure"))["cursor"]
    sql(
        database_url,
        "INSERT INTO posts (neighbourhood_id, household_id, account_id, kind, title, body, "
        "location) SELECT neighbourhood_id, household_id, account_id, kind, 'Rafale ' || n, body,"
        " location FROM posts, generate_series(1, 150) AS n WHERE title = 'Avant la coupure' "
        "AND neighbourhood_id = %s",
        (author.neighbourhood_pk,),
    )
    async with live_socket(a, bearer(author.token)) as socket:
        await socket.subscribe("s", POSTED, {"nid": author.neighbourhood_id, "after": cursor})
        caught_up = [(await socket.next_message("s")) for _ in range(100)]
        await asyncio.sleep(1.0)
        extra = [m for _, m in socket.received[100:] if m.get("id") == "s"]
    titles = [message["payload"]["data"]["postCreated"]["title"] for message in caught_up]
    assert titles == [f"Rafale {n}" for n in range(51, 151)]
    assert extra == []


async def test_a_cursor_older_than_a_day_replays_only_the_last_day(
    servers: tuple[Server, Server], database_url: str
) -> None:
    from api.live_cursor import LiveCursors, derive_key

    a, b = servers
    author = await member(a, database_url, "Famille Ancienne", {"lng": 1.94, "lat": 48.89})
    await post(a, author.token, "Il y a deux jours")
    await post(a, author.token, "Ce matin")
    sql(
        database_url,
        "UPDATE posts SET created_at = now() - interval '2 days' "
        "WHERE title = 'Il y a deux jours' AND neighbourhood_id = %s",
        (author.neighbourhood_pk,),
    )
    # A genuine cursor (signed with the servers' key), from a month ago.
    old = LiveCursors(derive_key(CURSOR_SECRET)).encode(
        datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30), 1
    )
    async with live_socket(b, bearer(author.token)) as socket:
        await socket.subscribe("s", POSTED, {"nid": author.neighbourhood_id, "after": old})
        first = await socket.next_message("s")
        await asyncio.sleep(1.0)
        others = [m for _, m in socket.received if m.get("id") == "s" and m is not first]
    assert first["type"] == "next", first
    assert first["payload"]["data"]["postCreated"]["title"] == "Ce matin"
    assert others == []


async def test_near_subscriptions_and_their_catch_ups_are_charged_to_the_proximity_limit(
    database_url: str, tmp_path: Path
) -> None:
    with running_server(
        database_url, tmp_path / "limited.log", PROXIMITY_RATE_LIMIT_PER_MINUTE="4"
    ) as server:
        author = await member(server, database_url, "Famille Comptée", {"lng": 1.96, "lat": 48.86})
        async with live_socket(server, bearer(author.token)) as socket:
            await socket.subscribe("n1", POSTED, near({"lng": 1.96, "lat": 48.86}))  # 1 token
            await asyncio.sleep(0.3)
            title = f"Compté {uuid.uuid4().hex[:6]}"
            await post(server, author.token, title)
            cursor = (await socket.live_post("n1", title))["cursor"]
            started = time.monotonic()
            # A catch-up is a search too: 2 tokens (3 in all), then 1 more (4: the bucket).
            await socket.subscribe("n2", POSTED, {**near(CHAVENAY), "after": cursor})
            await socket.subscribe("n3", POSTED, near(CHAVENAY))
            await asyncio.sleep(0.3)
            await socket.subscribe("n4", POSTED, near(CHAVENAY))
            refused = await socket.next_message("n4")
            # Following one's own neighbourhood is not a search: never charged.
            await socket.subscribe("own", POSTED, {"nid": author.neighbourhood_id})
            await asyncio.sleep(0.5)
            own = [m for _, m in socket.received if m.get("id") == "own"]
        assert time.monotonic() - started < 10  # the bucket refills 1 token per 15 s
    assert error_codes(refused) == ["RATE_LIMITED"]
    assert own == []  # subscribed, waiting for posts: no error

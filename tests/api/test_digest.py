"""The weekly digest: opt-in, what it tells in French, one run a week, one click out."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.cli import run_digest
from api.settings import Settings
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member
from tests.mail import Inbox, link_in, mailing_client, smtp_server, text_of

pytestmark = pytest.mark.usefixtures("clean_db")

CHAVENAY = {"lng": 1.99, "lat": 48.85}
NEXT_DOOR = {"lng": 1.991, "lat": 48.851}
VERSAILLES = {"lng": 2.13, "lat": 48.80}
SUBSCRIBE = """mutation ($on: Boolean!) { setDigestSubscription(enabled: $on) {
  __typename ... on DigestSubscription { enabled } } }"""
CREATE_POST = """mutation ($input: CreatePostInput!) { createPost(input: $input) {
  __typename ... on CreatePostSuccess { post { id } } ... on MutationError { code message } } }"""
CREATE_ITEM = """mutation { createItem(input: {title: "Perceuse à percussion", category: TOOLS,
  condition: GOOD, terms: FREE}) { __typename } }"""
UNSUBSCRIBE = """mutation ($token: String!) { unsubscribeDigest(token: $token) {
  __typename ... on DigestSubscription { enabled } ... on ValidationError { code field } } }"""


@pytest.fixture
async def mail(settings: Settings) -> AsyncIterator[tuple[GraphQLClient, Inbox, Settings]]:
    with smtp_server() as (inbox, port):
        mailing = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{port}")
        async with mailing_client(mailing) as (gql, _unused):
            yield gql, inbox, mailing


async def subscribe(client: GraphQLClient, on: bool = True) -> None:
    answer = (await client.data(SUBSCRIBE, {"on": on}))["setDigestSubscription"]
    assert answer == {"__typename": "DigestSubscription", "enabled": on}


async def email_of(client: GraphQLClient) -> str:
    address: str = (await client.data("{ me { email } }"))["me"]["email"]
    return address


async def a_busy_week(client: GraphQLClient) -> None:
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    for post in (
        {"kind": "OFFER", "title": "Grande braderie de printemps"},
        {
            "kind": "EVENT",
            "title": "Fête des voisins",
            "startsAt": starts.isoformat(),
            "placeName": "Place de l'église",
        },
    ):
        created = (await client.data(CREATE_POST, {"input": post}))["createPost"]
        assert created["__typename"] == "CreatePostSuccess", created
    assert (await client.data(CREATE_ITEM))["createItem"]["__typename"] == "CreateItemSuccess"


async def test_the_digest_tells_a_subscriber_the_week_of_their_network(
    mail: tuple[GraphQLClient, Inbox, Settings],
) -> None:
    gql, inbox, settings = mail
    reader = await member(gql, "Famille Lectrice", CHAVENAY)
    busy = await member(gql, "Famille Active", NEXT_DOOR)
    quiet = await member(gql, "Famille Lointaine", VERSAILLES)
    silent = await member(gql, "Famille Discrète", NEXT_DOOR)
    await subscribe(reader)
    await subscribe(quiet)  # subscribed, but nothing happened in Versailles
    await a_busy_week(busy)
    assert (await reader.data("{ me { digestEnabled } }"))["me"]["digestEnabled"] is True

    run = await run_digest(settings, send=True)

    address = await email_of(reader)
    assert run.sent == [address] and run.nothing_new == 1 and run.failed == 0
    message = inbox.last_to(address)
    assert message["Subject"] == "Ce qu'il s'est passé cette semaine dans votre voisinage"
    text = text_of(message)
    assert "Bonjour Famille Lectrice" in text
    for expected in (
        "Nouvelles annonces",
        "Grande braderie de printemps",
        "Événements",
        "Fête des voisins, le ",
        "Nouveaux objets à prêter",
        "Perceuse à percussion",
    ):
        assert expected in text, expected
    link, token = link_in(message)
    assert link.endswith("/desabonnement")
    assert message["List-Unsubscribe"] == f"<{link}?token={token}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for other in (quiet, silent, busy):
        assert inbox.to(await email_of(other)) == []


async def test_a_second_run_the_same_week_sends_nothing_twice(
    mail: tuple[GraphQLClient, Inbox, Settings],
) -> None:
    gql, inbox, settings = mail
    reader = await member(gql, "Famille Pressée", CHAVENAY)
    await subscribe(reader)
    await a_busy_week(await member(gql, "Famille Voisine", NEXT_DOOR))
    assert len((await run_digest(settings, send=True)).sent) == 1
    assert (await run_digest(settings, send=True)).sent == []
    assert len(inbox.to(await email_of(reader))) == 1


async def test_without_send_nobody_gets_mail(
    mail: tuple[GraphQLClient, Inbox, Settings],
) -> None:
    gql, inbox, settings = mail
    reader = await member(gql, "Famille Patiente", CHAVENAY)
    await subscribe(reader)
    await a_busy_week(await member(gql, "Famille Voisine", NEXT_DOOR))
    assert (await run_digest(settings, send=False)).sent == [await email_of(reader)]
    assert inbox.messages == []


async def test_the_unsubscribe_link_followed_turns_the_digest_off(
    mail: tuple[GraphQLClient, Inbox, Settings],
) -> None:
    gql, inbox, settings = mail
    reader = await member(gql, "Famille Partante", CHAVENAY)
    await subscribe(reader)
    await a_busy_week(await member(gql, "Famille Voisine", NEXT_DOOR))
    await run_digest(settings, send=True)
    link, token = link_in(inbox.last_to(await email_of(reader)))
    path = urlsplit(link).path

    shown = await gql.http.get(path, params={"token": token})
    assert shown.status_code == 200 and "Me désabonner" in shown.text
    assert (await reader.data("{ me { digestEnabled } }"))["me"]["digestEnabled"] is True
    done = await gql.http.post(path, data={"token": token})
    assert done.status_code == 200 and "C'est fait" in done.text
    assert (await reader.data("{ me { digestEnabled } }"))["me"]["digestEnabled"] is False


async def test_a_mail_clients_one_click_post_unsubscribes(
    mail: tuple[GraphQLClient, Inbox, Settings],
) -> None:
    gql, inbox, settings = mail
    reader = await member(gql, "Famille Pratique", CHAVENAY)
    await subscribe(reader)
    await a_busy_week(await member(gql, "Famille Voisine", NEXT_DOOR))
    await run_digest(settings, send=True)
    header = inbox.last_to(await email_of(reader))["List-Unsubscribe"]
    url = urlsplit(header.strip("<>"))
    response = await gql.http.post(
        f"{url.path}?{url.query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert (await reader.data("{ me { digestEnabled } }"))["me"]["digestEnabled"] is False


async def test_the_web_client_unsubscribes_with_the_token(
    mail: tuple[GraphQLClient, Inbox, Settings],
) -> None:
    gql, inbox, settings = mail
    reader = await member(gql, "Famille Connectée", CHAVENAY)
    await subscribe(reader)
    await a_busy_week(await member(gql, "Famille Voisine", NEXT_DOOR))
    await run_digest(settings, send=True)
    _link, token = link_in(inbox.last_to(await email_of(reader)))
    answer = (await gql.data(UNSUBSCRIBE, {"token": token}))["unsubscribeDigest"]
    assert answer == {"__typename": "DigestSubscription", "enabled": False}
    assert (await reader.data("{ me { digestEnabled } }"))["me"]["digestEnabled"] is False


async def test_a_forged_token_unsubscribes_nobody(
    gql: GraphQLClient, http: httpx.AsyncClient, clean_db: AsyncEngine
) -> None:
    reader = await member(gql, "Famille Visée", CHAVENAY)
    await subscribe(reader)
    for token in ("1-00000000000000000000000000000000", "zz", "", "1-" + "a" * 200):
        answer = (await gql.data(UNSUBSCRIBE, {"token": token}))["unsubscribeDigest"]
        assert answer == {
            "__typename": "ValidationError",
            "code": "INVALID_TOKEN",
            "field": "token",
        }
        assert (await http.post("/desabonnement", data={"token": token})).status_code == 400
    assert (await reader.data("{ me { digestEnabled } }"))["me"]["digestEnabled"] is True


async def test_signed_out_cannot_subscribe(gql: GraphQLClient) -> None:
    answer = (await gql.data(SUBSCRIBE, {"on": True}))["setDigestSubscription"]
    assert answer == {"__typename": "UnauthenticatedError"}

"""The inbox: every household notification is stored (iff its change commits) and sent live with
the stored ID; a household reads and marks its own notifications only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from db.queries.events import notify_household
from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.api.helpers import counting_client, member
from tests.security.live_sockets import bearer, data, live_socket
from tests.security.live_sockets import member as live_member
from tests.security.live_sockets import post as live_post
from tests.servers import Server, running_server

CHAVENAY = {"lng": 1.99, "lat": 48.85}
NEXT_DOOR = {"lng": 1.991, "lat": 48.851}
CREATE_POST = """mutation ($title: String!) {
  createPost(input: {kind: DISCUSSION, title: $title, body: "Qui vient ?"}) {
    __typename ... on CreatePostSuccess { post { id } } } }"""
ADD_COMMENT = """mutation ($post: ID!, $body: String!) { addComment(postId: $post, body: $body) {
  __typename ... on AddCommentSuccess { comment { id } } } }"""
INBOX = """query ($first: Int, $after: String, $unreadOnly: Boolean) {
  unreadNotificationCount
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    edges { cursor node { id kind subject message read readAt receivedAt } }
    pageInfo { hasNextPage endCursor } } }"""
MARK = """mutation ($ids: [ID!]!) { markNotificationsRead(ids: $ids) {
  __typename ... on MarkNotificationsReadSuccess { marked unreadCount }
  ... on MutationError { code } } }"""
MARK_ALL = """mutation { markAllNotificationsRead {
  __typename ... on MarkNotificationsReadSuccess { marked unreadCount } } }"""
LIVE = "subscription { notificationReceived { id kind subject message read } }"


async def write_post(client: GraphQLClient, title: str) -> str:
    created = (await client.data(CREATE_POST, {"title": title}))["createPost"]
    assert created["__typename"] == "CreatePostSuccess", created
    post_id: str = created["post"]["id"]
    return post_id


async def comment(client: GraphQLClient, post_id: str, body: str = "J'en suis !") -> str:
    added = (await client.data(ADD_COMMENT, {"post": post_id, "body": body}))["addComment"]
    assert added["__typename"] == "AddCommentSuccess", added
    comment_id: str = added["comment"]["id"]
    return comment_id


async def inbox(client: GraphQLClient, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = await client.data(INBOX, variables)
    return result


async def test_a_comment_on_my_post_is_stored_in_my_inbox(gql: GraphQLClient) -> None:
    author = await member(gql, "Famille Auteur", CHAVENAY)
    neighbour = await member(gql, "Famille Voisine", NEXT_DOOR)
    post_id = await write_post(author, "Apéro de rue samedi")
    comment_id = await comment(neighbour, post_id)

    mine = await inbox(author)
    assert mine["unreadNotificationCount"] == 1
    [edge] = mine["notifications"]["edges"]
    assert edge["node"]["kind"] == "COMMENT_ADDED"
    assert edge["node"]["subject"] == comment_id
    assert "Famille Voisine" in edge["node"]["message"]
    assert "Apéro de rue samedi" in edge["node"]["message"]
    assert edge["node"]["read"] is False and edge["node"]["readAt"] is None
    assert (await inbox(neighbour))["notifications"]["edges"] == []


async def test_commenting_on_my_own_post_tells_me_nothing(gql: GraphQLClient) -> None:
    author = await member(gql, "Famille Bavarde", CHAVENAY)
    post_id = await write_post(author, "Vide-grenier")
    await comment(author, post_id, "Précision : dès 8 h")
    assert (await inbox(author))["unreadNotificationCount"] == 0


async def test_marking_read_touches_my_household_only(gql: GraphQLClient) -> None:
    author = await member(gql, "Famille Lue", CHAVENAY)
    other = await member(gql, "Famille Curieuse", NEXT_DOOR)
    post_id = await write_post(author, "Perdu : un chat roux")
    await comment(other, post_id)
    [edge] = (await inbox(author))["notifications"]["edges"]
    notification_id = edge["node"]["id"]

    # Another household naming my notification changes nothing.
    theirs = (await other.data(MARK, {"ids": [notification_id]}))["markNotificationsRead"]
    assert theirs == {
        "__typename": "MarkNotificationsReadSuccess",
        "marked": [],
        "unreadCount": 0,
    }
    assert (await inbox(author))["unreadNotificationCount"] == 1
    assert (await other.data("query ($id: ID!) { node(id: $id) { id } }", {"id": notification_id}))[
        "node"
    ] is None

    mine = (await author.data(MARK, {"ids": [notification_id]}))["markNotificationsRead"]
    assert mine["marked"] == [notification_id] and mine["unreadCount"] == 0
    again = (await author.data(MARK, {"ids": [notification_id]}))["markNotificationsRead"]
    assert again["marked"] == []
    after = await inbox(author)
    assert after["unreadNotificationCount"] == 0
    assert after["notifications"]["edges"][0]["node"]["read"] is True
    assert (await inbox(author, unreadOnly=True))["notifications"]["edges"] == []


async def test_an_id_of_another_type_is_a_validation_error(gql: GraphQLClient) -> None:
    author = await member(gql, "Famille Prudente", CHAVENAY)
    post_id = await write_post(author, "Tondeuse à prêter")
    refused = (await author.data(MARK, {"ids": [post_id]}))["markNotificationsRead"]
    assert refused == {"__typename": "ValidationError", "code": "INVALID_ID"}


async def test_the_inbox_is_newest_first_and_paged(gql: GraphQLClient) -> None:
    author = await member(gql, "Famille Populaire", CHAVENAY)
    fans = [await member(gql, f"Fan {n}", NEXT_DOOR) for n in range(3)]
    post_id = await write_post(author, "Concert dans le jardin")
    comments = [await comment(fan, post_id, f"Bravo {n}") for n, fan in enumerate(fans)]

    first = await inbox(author, first=2)
    assert [e["node"]["subject"] for e in first["notifications"]["edges"]] == comments[:0:-1]
    assert first["notifications"]["pageInfo"]["hasNextPage"] is True
    cursor = first["notifications"]["pageInfo"]["endCursor"]
    rest = await inbox(author, first=2, after=cursor)
    assert [e["node"]["subject"] for e in rest["notifications"]["edges"]] == comments[:1]
    assert rest["notifications"]["pageInfo"]["hasNextPage"] is False

    marked = (await author.data(MARK_ALL))["markAllNotificationsRead"]
    assert len(marked["marked"]) == 3 and marked["unreadCount"] == 0


async def test_accounts_of_one_household_share_its_inbox(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    author = await member(gql, "Famille Partagée", CHAVENAY)
    partner = await gql.sign_up(name="Conjoint")
    async with clean_db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE accounts SET household_id = (SELECT household_id FROM accounts a "
                "JOIN access_tokens t ON t.account_id = a.id WHERE t.token_hash = "
                "sha256(convert_to(:token, 'UTF8'))) WHERE display_name = 'Conjoint'"
            ),
            {"token": author.headers["authorization"].removeprefix("Bearer ")},
        )
    neighbour = await member(gql, "Famille Commentatrice", NEXT_DOOR)
    await comment(neighbour, await write_post(author, "Covoiturage au marché"))
    [edge] = (await inbox(partner))["notifications"]["edges"]
    await partner.data(MARK, {"ids": [edge["node"]["id"]]})
    assert (await inbox(author))["unreadNotificationCount"] == 0


async def test_a_notification_is_stored_only_if_its_change_commits(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    await member(gql, "Famille Témoin", CHAVENAY)
    async with clean_db.connect() as conn:
        household_id = (await conn.execute(text("SELECT max(id) FROM households"))).scalar_one()
    async with clean_db.connect() as conn:
        transaction = await conn.begin()
        await notify_household(
            conn,
            household_id,
            kind="LOAN_REQUESTED",
            subject_type="Loan",
            subject_id=1,
            message="Annulé",
        )
        await transaction.rollback()
    async with clean_db.begin() as conn:
        await notify_household(
            conn,
            household_id,
            kind="LOAN_REQUESTED",
            subject_type="Loan",
            subject_id=2,
            message="Gardé",
        )
    async with clean_db.connect() as conn:
        stored = (await conn.execute(text("SELECT message FROM notifications"))).scalars().all()
    assert stored == ["Gardé"]


async def test_an_answer_to_my_feedback_lands_in_my_inbox(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    sender = await member(gql, "Famille Suggestion", CHAVENAY)
    sent = await sender.data(
        """mutation { sendFeedback(kind: IDEA, message: "Un agenda des fêtes de quartier ?") {
        __typename ... on SendFeedbackSuccess { id } } }"""
    )
    feedback_id = sent["sendFeedback"]["id"]
    admin = await gql.sign_up(name="Équipe")
    await promote_to_admin(clean_db, admin)
    answered = await admin.data(
        """mutation ($id: ID!) { answerFeedback(id: $id, answer: "Bonne idée, c'est prévu !") {
        __typename } }""",
        {"id": feedback_id},
    )
    assert answered["answerFeedback"]["__typename"] == "FeedbackChanged"
    [edge] = (await inbox(sender))["notifications"]["edges"]
    assert edge["node"]["kind"] == "FEEDBACK_ANSWERED"
    assert edge["node"]["subject"] == feedback_id
    assert "Bonne idée, c'est prévu !" in edge["node"]["message"]


async def test_signed_out_has_no_inbox(gql: GraphQLClient) -> None:
    body = await gql.execute("{ notifications { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await gql.data("{ unreadNotificationCount }"))["unreadNotificationCount"] == 0


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs: Path = tmp_path_factory.mktemp("inbox")
    with running_server(database_url, logs / "server.log") as server:
        yield server


async def test_the_live_notification_carries_the_stored_id(
    server: Server, database_url: str
) -> None:
    place = {"lng": 2.05, "lat": 48.62}
    author = await live_member(server, database_url, "Famille En Ligne", place)
    fan = await live_member(server, database_url, "Famille Fan", {**place, "lng": 2.0505})
    post_id = await live_post(server, author.token, "Atelier vélo")
    async with live_socket(server, bearer(author.token)) as socket:
        await socket.subscribe("mine", LIVE)
        await asyncio.sleep(0.3)
        await data(server, ADD_COMMENT, {"post": post_id, "body": "Super !"}, token=fan.token)
        message = await socket.next_message("mine")
    live = message["payload"]["data"]["notificationReceived"]
    assert live["kind"] == "COMMENT_ADDED" and live["read"] is False
    stored = await data(server, INBOX, {}, token=author.token)
    assert stored["notifications"]["edges"][0]["node"]["id"] == live["id"]
    marked = await data(server, MARK, {"ids": [live["id"]]}, token=author.token)
    assert marked["markNotificationsRead"]["marked"] == [live["id"]]


def live_doc_operations() -> dict[str, str]:
    """The named operations of docs/live.md, each as a document of its own."""
    import re

    from graphql import OperationDefinitionNode, parse

    from api.settings import PROJECT_ROOT

    found: dict[str, str] = {}
    doc = (PROJECT_ROOT / "docs" / "live.md").read_text(encoding="utf-8")
    for block in re.findall(r"```graphql\n(.*?)```", doc, re.S):
        for definition in parse(block).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                assert definition.loc is not None
                found[definition.name.value] = block[definition.loc.start : definition.loc.end]
    return found


async def test_the_inbox_and_digest_examples_of_the_docs_run(gql: GraphQLClient) -> None:
    ops = live_doc_operations()
    author = await member(gql, "Famille Documentée", CHAVENAY)
    neighbour = await member(gql, "Famille Lectrice", NEXT_DOOR)
    await comment(neighbour, await write_post(author, "Exemple de la doc"))

    inbox = await author.data(ops["Inbox"])
    assert inbox["unreadNotificationCount"] == 1
    [edge] = inbox["notifications"]["edges"]
    unread = await author.data(ops["Unread"])
    assert unread["notifications"]["edges"][0]["node"]["id"] == edge["node"]["id"]
    marked = (await author.data(ops["MarkRead"], {"ids": [edge["node"]["id"]]}))[
        "markNotificationsRead"
    ]
    assert marked["marked"] == [edge["node"]["id"]]
    assert (await author.data(ops["MarkAllRead"]))["markAllNotificationsRead"]["marked"] == []

    assert (await author.data(ops["Digest"]))["setDigestSubscription"]["enabled"] is True
    assert (await author.data(ops["DigestSetting"]))["me"]["digestEnabled"] is True
    refused = (await gql.data(ops["Unsubscribe"], {"token": "1-0"}))["unsubscribeDigest"]
    assert refused["code"] == "INVALID_TOKEN"


async def test_the_inbox_is_exported_and_erased_with_the_household(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    author = await member(gql, "Famille Partante", CHAVENAY)
    neighbour = await member(gql, "Famille Restante", NEXT_DOOR)
    await comment(neighbour, await write_post(author, "Dernière annonce"))
    exported = (await author.data("{ exportMyData { data } }"))["exportMyData"]["data"]
    [stored] = exported["notifications"]
    assert stored["kind"] == "COMMENT_ADDED" and "Famille Restante" in stored["message"]

    deleted = await author.data(
        """mutation { deleteAccount(password: "correct horse battery") { __typename } }"""
    )
    assert deleted["deleteAccount"]["__typename"] == "DeleteAccountSuccess", deleted
    async with clean_db.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM notifications"))).scalar_one()
    assert left == 0


async def test_a_page_of_the_inbox_costs_a_constant_number_of_statements(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        author = await member(client, "Famille Très Lue", CHAVENAY)
        fan = await member(client, "Famille Fan", NEXT_DOOR)
        post_id = await write_post(author, "Fil très commenté")
        for n in range(12):
            await comment(fan, post_id, f"Message {n}")
        counts = {}
        for first in (2, 12):
            statements.clear()
            page = await inbox(author, first=first)
            assert len(page["notifications"]["edges"]) == first
            counts[first] = len(statements)
    assert counts[12] == counts[2] <= 4, statements

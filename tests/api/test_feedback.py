"""Feedback to the team: anyone sends it; admins page through the queue, move and answer it, and
the answer reaches the sender through a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.mail import Inbox, mailing_client, text_of

pytestmark = pytest.mark.usefixtures("clean_db")

SEND = """
mutation ($kind: FeedbackKind!, $message: String!, $screen: String, $email: String) {
  sendFeedback(kind: $kind, message: $message, screen: $screen, email: $email) {
    __typename ... on SendFeedbackSuccess { id } ... on ValidationError { code field }
  }
}
"""
QUEUE = """
query ($state: FeedbackState!, $first: Int, $after: String) {
  feedbackQueue(state: $state, first: $first, after: $after) {
    edges { cursor node { id kind message screen state signedIn replyTo answer } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CHANGE_RESULT = """
    __typename
    ... on FeedbackChanged { feedback { state answer answeredAt } }
    ... on MutationError { code }
"""
ANSWER = f"""
mutation ($id: ID!, $answer: String!) {{ answerFeedback(id: $id, answer: $answer) {{
  {CHANGE_RESULT} }} }}
"""
SET_STATE = f"""
mutation ($id: ID!, $state: FeedbackState!) {{ setFeedbackState(id: $id, state: $state) {{
  {CHANGE_RESULT} }} }}
"""


@pytest.fixture
async def mail(settings: Settings) -> AsyncIterator[tuple[GraphQLClient, Inbox]]:
    async with mailing_client(settings) as client_and_inbox:
        yield client_and_inbox


async def send(client: GraphQLClient, message: str, **extra: str) -> str:
    data = await client.data(SEND, {"kind": "BUG", "message": message, **extra})
    assert data["sendFeedback"]["__typename"] == "SendFeedbackSuccess", data
    feedback_id: str = data["sendFeedback"]["id"]
    return feedback_id


async def admin_of(gql: GraphQLClient, engine: AsyncEngine) -> GraphQLClient:
    admin = await gql.sign_up(name="Équipe")
    await promote_to_admin(engine, admin)
    # Admin rights are read from the token's account at each request: the same token works.
    return admin


async def test_anonymous_feedback_is_answered_by_email_and_kept(
    mail: tuple[GraphQLClient, Inbox], clean_db: AsyncEngine
) -> None:
    gql, inbox = mail
    sent = await send(gql, "La carte ne s'affiche pas", screen="/carte", email="Anne@Example.org")
    admin = await admin_of(gql, clean_db)
    queue = (await admin.data(QUEUE, {"state": "NEW"}))["feedbackQueue"]
    [edge] = queue["edges"]
    assert edge["node"] == {
        "id": sent,
        "kind": "BUG",
        "message": "La carte ne s'affiche pas",
        "screen": "/carte",
        "state": "NEW",
        "signedIn": False,
        "replyTo": "anne@example.org",
        "answer": None,
    }
    moved = await admin.data(SET_STATE, {"id": sent, "state": "IN_PROGRESS"})
    assert moved["setFeedbackState"]["feedback"]["state"] == "IN_PROGRESS"
    assert (await admin.data(QUEUE, {"state": "NEW"}))["feedbackQueue"]["edges"] == []

    answered = await admin.data(ANSWER, {"id": sent, "answer": "Corrigé, merci !"})
    assert answered["answerFeedback"]["feedback"]["state"] == "ANSWERED"
    assert answered["answerFeedback"]["feedback"]["answeredAt"] is not None
    message = inbox.last_to("anne@example.org")
    assert message["Subject"] == "Réponse à votre message"
    assert "Corrigé, merci !" in text_of(message)
    assert "La carte ne s'affiche pas" in text_of(message)
    stored = (await admin.data(QUEUE, {"state": "ANSWERED"}))["feedbackQueue"]["edges"]
    assert stored[0]["node"]["answer"] == "Corrigé, merci !"


async def test_a_signed_in_sender_is_answered_at_the_account_address(
    mail: tuple[GraphQLClient, Inbox], clean_db: AsyncEngine
) -> None:
    gql, inbox = mail
    claire = await gql.sign_up(email="claire@example.org")
    sent = await send(claire, "Bravo pour l'appli", email="autre@example.org")
    admin = await admin_of(gql, clean_db)
    [edge] = (await admin.data(QUEUE, {"state": "NEW"}))["feedbackQueue"]["edges"]
    assert (edge["node"]["signedIn"], edge["node"]["replyTo"]) == (True, "claire@example.org")
    await admin.data(ANSWER, {"id": sent, "answer": "Merci Claire"})
    assert "Merci Claire" in text_of(inbox.last_to("claire@example.org"))
    assert inbox.to("autre@example.org") == []


async def test_the_queue_is_paged_oldest_first(gql: GraphQLClient, clean_db: AsyncEngine) -> None:
    for n in range(5):
        await send(gql, f"Message {n}")
    admin = await admin_of(gql, clean_db)
    seen: list[str] = []
    after = None
    while True:
        page = (await admin.data(QUEUE, {"state": "NEW", "first": 2, "after": after}))[
            "feedbackQueue"
        ]
        seen += [edge["node"]["message"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Message {n}" for n in range(5)]


async def test_only_admins_read_and_answer_feedback(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    sent = await send(gql, "Une idée")
    member = await gql.sign_up()
    refused = await member.execute(QUEUE, {"state": "NEW"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await gql.execute(QUEUE, {"state": "NEW"})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    answer = await member.data(ANSWER, {"id": sent, "answer": "Non"})
    assert answer["answerFeedback"]["__typename"] == "ForbiddenError"
    state = await gql.data(SET_STATE, {"id": sent, "state": "ANSWERED"})
    assert state["setFeedbackState"]["__typename"] == "UnauthenticatedError"
    async with clean_db.connect() as conn:
        row = (await conn.execute(text("SELECT state, answer FROM feedback"))).one()
    assert tuple(row) == ("NEW", None)


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"message": "   "}, "BAD_USER_INPUT", "message"),
        ({"message": "x" * 5001}, "BAD_USER_INPUT", "message"),
        ({"message": "Bonjour", "email": "pas une adresse"}, "BAD_USER_INPUT", "email"),
        ({"message": "Bonjour", "screen": "s" * 201}, "BAD_USER_INPUT", "screen"),
        ({"message": "nul\x00"}, "BAD_USER_INPUT", "message"),
    ],
)
async def test_bad_feedback_is_refused_and_nothing_is_written(
    gql: GraphQLClient, clean_db: AsyncEngine, variables: dict[str, str], code: str, field: str
) -> None:
    answer = await gql.data(SEND, {"kind": "IDEA", **variables})
    assert answer["sendFeedback"] == {"__typename": "ValidationError", "code": code, "field": field}
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM feedback"))).scalar() == 0


async def test_an_unknown_kind_or_id_is_a_graphql_error_with_a_code(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    bad_kind = await gql.execute(SEND, {"kind": "SPAM", "message": "x"})
    assert bad_kind["errors"][0]["extensions"]["code"] in {
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
    }
    admin = await admin_of(gql, clean_db)
    missing = await admin.data(ANSWER, {"id": "RmVlZGJhY2s6OTk5OTk=", "answer": "?"})
    assert missing["answerFeedback"]["code"] == "NOT_FOUND"
    wrong_type = await admin.data(ANSWER, {"id": "UG9zdDox", "answer": "?"})
    assert wrong_type["answerFeedback"]["code"] == "INVALID_ID"


async def test_senders_are_limited_per_hour(gql: GraphQLClient) -> None:
    member = await gql.sign_up()
    for n in range(10):
        await send(member, f"Message {n}")
    refused = await member.data(SEND, {"kind": "BUG", "message": "Encore"})
    assert refused["sendFeedback"]["code"] == "RATE_LIMITED"

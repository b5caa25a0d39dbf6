"""The account lifecycle over the real endpoint, with e-mail through a real SMTP server: the
tests read the links from the messages and follow them, as a person would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member
from tests.api.test_loans import CREATE_ITEM, REQUEST
from tests.api.test_posts import CREATE_POST
from tests.mail import Inbox, link_in, mailing_client, text_of

pytestmark = pytest.mark.usefixtures("clean_db")

PASSWORD = "correct horse battery"
NEW_PASSWORD = "violet lantern orchard"
SIGN_UP = """
mutation ($email: String!, $password: String!) {
  signUp(input: {email: $email, password: $password, displayName: "Claire"}) {
    __typename
    ... on SignUpSuccess { email }
    ... on ValidationError { code field }
  }
}
"""
LOG_IN = """
mutation ($email: String!, $password: String!) {
  logIn(email: $email, password: $password) {
    __typename ... on AuthSuccess { token } ... on InvalidCredentialsError { code }
  }
}
"""
VERIFY = """
mutation ($token: String!) {
  verifyEmail(token: $token) {
    __typename ... on VerifyEmailSuccess { email } ... on ValidationError { code field }
  }
}
"""
REQUEST_RESET = """
mutation ($email: String!) {
  requestPasswordReset(email: $email) {
    __typename ... on RequestPasswordResetSuccess { email } ... on ValidationError { code field }
  }
}
"""
RESET = """
mutation ($token: String!, $password: String!) {
  resetPassword(token: $token, newPassword: $password) {
    __typename
    ... on PasswordChangedSuccess { revokedTokens }
    ... on ValidationError { code field }
  }
}
"""
CHANGE = """
mutation ($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    __typename
    ... on PasswordChangedSuccess { revokedTokens }
    ... on InvalidCredentialsError { code }
    ... on ValidationError { code field }
  }
}
"""
DELETE = """
mutation ($password: String!) {
  deleteAccount(password: $password) {
    __typename ... on InvalidCredentialsError { code } ... on UnauthenticatedError { code }
  }
}
"""
EXPORT = "{ exportMyData { generatedAt data } }"
ME = "{ me { email } }"
LOG_OUT_EVERYWHERE = "mutation { logOutEverywhere { ... on LogOutSuccess { revokedTokens } } }"


@pytest.fixture
async def mail(settings: Settings) -> AsyncIterator[tuple[GraphQLClient, Inbox]]:
    async with mailing_client(settings) as client_and_inbox:
        yield client_and_inbox


async def log_in(gql: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    answer: dict[str, str] = (await gql.data(LOG_IN, {"email": email, "password": password}))[
        "logIn"
    ]
    return answer


async def verified_account(gql: GraphQLClient, inbox: Inbox, email: str) -> GraphQLClient:
    """Sign up, follow the e-mailed link, log in: the documented path."""
    await gql.data(SIGN_UP, {"email": email, "password": PASSWORD})
    _, token = link_in(inbox.last_to(email))
    assert (await gql.data(VERIFY, {"token": token}))["verifyEmail"]["email"] == email
    return gql.signed_in((await log_in(gql, email))["token"])


async def count(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def test_sign_up_mails_a_link_that_confirms_the_address_before_log_in(
    mail: tuple[GraphQLClient, Inbox], clean_db: AsyncEngine
) -> None:
    gql, inbox = mail
    signed = await gql.data(SIGN_UP, {"email": "Claire@Example.org", "password": PASSWORD})
    assert signed["signUp"] == {"__typename": "SignUpSuccess", "email": "claire@example.org"}
    assert (await log_in(gql, "claire@example.org"))["code"] == "INVALID_CREDENTIALS"

    message = inbox.last_to("claire@example.org")
    assert message["Subject"] == "Confirmez votre adresse e-mail"
    assert "Bonjour Claire" in text_of(message)
    assert message.get_body(("html",)) is not None
    address, token = link_in(message)
    assert address == "http://127.0.0.1:8000/verifier"
    async with clean_db.connect() as conn:
        stored = (await conn.execute(text("SELECT token_hash FROM account_tokens"))).scalar_one()
    assert token.encode() not in bytes(stored) and len(bytes(stored)) == 32

    verified = await gql.data(VERIFY, {"token": token})
    assert verified["verifyEmail"] == {
        "__typename": "VerifyEmailSuccess",
        "email": "claire@example.org",
    }
    again = await gql.data(VERIFY, {"token": token})
    assert again["verifyEmail"] == {
        "__typename": "ValidationError",
        "code": "INVALID_TOKEN",
        "field": "token",
    }
    assert (await log_in(gql, "claire@example.org"))["__typename"] == "AuthSuccess"


async def test_sign_up_with_a_taken_address_answers_the_same_and_mails_the_owner(
    mail: tuple[GraphQLClient, Inbox], clean_db: AsyncEngine
) -> None:
    gql, inbox = mail
    await verified_account(gql, inbox, "claire@example.org")
    fresh = await gql.data(SIGN_UP, {"email": "nouveau@example.org", "password": PASSWORD})
    taken = await gql.data(
        SIGN_UP, {"email": "CLAIRE@example.org", "password": "tangerine bicycle meadow"}
    )

    assert fresh["signUp"]["__typename"] == taken["signUp"]["__typename"] == "SignUpSuccess"
    assert fresh["signUp"].keys() == taken["signUp"].keys()
    warning = inbox.last_to("claire@example.org")
    assert warning["Subject"] == "Tentative d'inscription avec votre adresse"
    address, _ = link_in(warning)
    assert address == "http://127.0.0.1:8000/reinitialiser"
    assert (
        await count(clean_db, "SELECT count(*) FROM accounts WHERE email = 'claire@example.org'")
        == 1
    )
    assert (await log_in(gql, "claire@example.org"))["__typename"] == "AuthSuccess"
    assert (await log_in(gql, "claire@example.org", "tangerine bicycle meadow"))[
        "__typename"
    ] != "AuthSuccess"


async def test_a_reset_link_works_once_and_signs_out_every_session(
    mail: tuple[GraphQLClient, Inbox],
) -> None:
    gql, inbox = mail
    first = await verified_account(gql, inbox, "claire@example.org")
    second = gql.signed_in((await log_in(gql, "claire@example.org"))["token"])
    known = await gql.data(REQUEST_RESET, {"email": "claire@example.org"})
    unknown = await gql.data(REQUEST_RESET, {"email": "personne@example.org"})
    assert known["requestPasswordReset"]["__typename"] == "RequestPasswordResetSuccess"
    assert unknown["requestPasswordReset"]["__typename"] == "RequestPasswordResetSuccess"
    assert inbox.to("personne@example.org") == []

    message = inbox.last_to("claire@example.org")
    assert message["Subject"] == "Choisissez un nouveau mot de passe"
    address, token = link_in(message)
    assert address == "http://127.0.0.1:8000/reinitialiser"
    reset = await gql.data(RESET, {"token": token, "password": NEW_PASSWORD})
    assert reset["resetPassword"] == {"__typename": "PasswordChangedSuccess", "revokedTokens": 2}
    for client in (first, second):
        assert (await client.data(ME))["me"] is None
    reused = await gql.data(RESET, {"token": token, "password": "yet another password"})
    assert reused["resetPassword"]["code"] == "INVALID_TOKEN"
    assert (await log_in(gql, "claire@example.org"))["code"] == "INVALID_CREDENTIALS"
    assert (await log_in(gql, "claire@example.org", NEW_PASSWORD))["__typename"] == "AuthSuccess"
    assert inbox.last_to("claire@example.org")["Subject"] == "Votre mot de passe a été changé"


async def test_an_expired_reset_link_is_refused_and_changes_nothing(
    mail: tuple[GraphQLClient, Inbox], clean_db: AsyncEngine
) -> None:
    gql, inbox = mail
    await verified_account(gql, inbox, "claire@example.org")
    await gql.data(REQUEST_RESET, {"email": "claire@example.org"})
    _, token = link_in(inbox.last_to("claire@example.org"))
    async with clean_db.begin() as conn:
        await conn.execute(text("UPDATE account_tokens SET expires_at = now() - interval '1 s'"))
    refused = await gql.data(RESET, {"token": token, "password": NEW_PASSWORD})
    assert refused["resetPassword"]["code"] == "INVALID_TOKEN"
    assert (await log_in(gql, "claire@example.org"))["__typename"] == "AuthSuccess"


async def test_reset_links_are_limited_per_address_without_a_different_answer(
    mail: tuple[GraphQLClient, Inbox],
) -> None:
    gql, inbox = mail
    await verified_account(gql, inbox, "claire@example.org")
    before = len(inbox.to("claire@example.org"))
    answers = [await gql.data(REQUEST_RESET, {"email": "claire@example.org"}) for _ in range(5)]
    assert {a["requestPasswordReset"]["__typename"] for a in answers} == {
        "RequestPasswordResetSuccess"
    }
    assert len(inbox.to("claire@example.org")) - before == 3


async def test_bad_input_gets_a_code_and_writes_nothing(
    mail: tuple[GraphQLClient, Inbox], clean_db: AsyncEngine
) -> None:
    gql, inbox = mail
    await verified_account(gql, inbox, "claire@example.org")
    await gql.data(REQUEST_RESET, {"email": "claire@example.org"})
    _, token = link_in(inbox.last_to("claire@example.org"))
    tokens_before = await count(clean_db, "SELECT count(*) FROM account_tokens")

    weak = await gql.data(RESET, {"token": token, "password": "short"})
    assert weak["resetPassword"] == {
        "__typename": "ValidationError",
        "code": "WEAK_PASSWORD",
        "field": "newPassword",
    }
    assert await count(clean_db, "SELECT count(*) FROM account_tokens WHERE used_at IS NULL") == 1
    for bad in ("", "x" * 500, "pas-un-jeton"):
        answer = await gql.data(VERIFY, {"token": bad})
        assert answer["verifyEmail"]["code"] == "INVALID_TOKEN"
    not_email = await gql.data(REQUEST_RESET, {"email": "pas une adresse"})
    assert not_email["requestPasswordReset"] == {
        "__typename": "ValidationError",
        "code": "BAD_USER_INPUT",
        "field": "email",
    }
    bad_sign_up = await gql.data(SIGN_UP, {"email": "nouveau@example.org", "password": "short"})
    assert bad_sign_up["signUp"]["code"] == "WEAK_PASSWORD"
    assert await count(clean_db, "SELECT count(*) FROM account_tokens") == tokens_before
    assert await count(clean_db, "SELECT count(*) FROM accounts") == 1
    anonymous = await gql.execute(EXPORT)
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await gql.data(DELETE, {"password": PASSWORD}))["deleteAccount"][
        "code"
    ] == "UNAUTHENTICATED"


async def test_change_password_keeps_this_session_and_ends_the_others(
    mail: tuple[GraphQLClient, Inbox],
) -> None:
    gql, inbox = mail
    here = await verified_account(gql, inbox, "claire@example.org")
    elsewhere = gql.signed_in((await log_in(gql, "claire@example.org"))["token"])

    wrong = await here.data(CHANGE, {"current": "not my password", "new": NEW_PASSWORD})
    assert wrong["changePassword"]["code"] == "INVALID_CREDENTIALS"
    weak = await here.data(CHANGE, {"current": PASSWORD, "new": "short"})
    assert weak["changePassword"]["code"] == "WEAK_PASSWORD"
    assert weak["changePassword"]["field"] == "newPassword"
    assert (await log_in(gql, "claire@example.org"))["__typename"] == "AuthSuccess"

    changed = await here.data(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD})
    assert changed["changePassword"]["__typename"] == "PasswordChangedSuccess"
    assert changed["changePassword"]["revokedTokens"] == 2  # elsewhere, and the log-in above
    assert (await here.data(ME))["me"] == {"email": "claire@example.org"}
    assert (await elsewhere.data(ME))["me"] is None
    assert (await log_in(gql, "claire@example.org", NEW_PASSWORD))["__typename"] == "AuthSuccess"
    assert inbox.last_to("claire@example.org")["Subject"] == "Votre mot de passe a été changé"


async def test_log_out_everywhere_rejects_the_old_tokens(
    mail: tuple[GraphQLClient, Inbox],
) -> None:
    gql, inbox = mail
    first = await verified_account(gql, inbox, "claire@example.org")
    second = gql.signed_in((await log_in(gql, "claire@example.org"))["token"])
    out = await second.data(LOG_OUT_EVERYWHERE)
    assert out["logOutEverywhere"]["revokedTokens"] == 2
    for client in (first, second):
        assert (await client.data(ME))["me"] is None


CHAVENAY = {"lng": 1.99, "lat": 48.85}
NEAR_CHAVENAY = {"lng": 1.992, "lat": 48.851}


async def household_with_content(gql: GraphQLClient, name: str) -> tuple[GraphQLClient, str]:
    """A member of Chavenay with an item and a post; the item's global ID."""
    client = await member(gql, name, CHAVENAY if name == "Martin" else NEAR_CHAVENAY)
    item = (await client.data(CREATE_ITEM, {"title": f"Perceuse de {name}"}))["createItem"]
    post = {"kind": "OFFER", "title": f"Annonce de {name}", "body": "Bonjour"}
    created = (await client.data(CREATE_POST, {"input": post}))["createPost"]
    assert created["__typename"] == "CreatePostSuccess", created
    return client, item["item"]["id"]


async def test_export_holds_my_data_and_nothing_of_other_households(
    gql: GraphQLClient,
) -> None:
    martin, _ = await household_with_content(gql, "Martin")
    durand, _ = await household_with_content(gql, "Durand")
    exported = (await martin.data(EXPORT))["exportMyData"]
    data = exported["data"]
    raw = json.dumps(data)
    assert data["format"] == "voisinage-export/1"
    assert [item["title"] for item in data["items"]] == ["Perceuse de Martin"]
    assert [post["title"] for post in data["posts"]] == ["Annonce de Martin"]
    assert data["household"]["name"] == "Martin"
    assert data["household"]["home_location"]["type"] == "Point"
    assert "password" not in raw and "token_hash" not in raw
    assert "Durand" not in raw
    assert "Martin" not in json.dumps((await durand.data(EXPORT))["exportMyData"]["data"])


async def test_delete_account_erases_the_person_and_keeps_what_neighbours_rely_on(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    martin, item_id = await household_with_content(gql, "Martin")
    durand, _ = await household_with_content(gql, "Durand")
    soon = date.today() + timedelta(days=10)
    requested = await durand.data(
        REQUEST, {"item": item_id, "startsOn": str(soon), "endsOn": str(soon + timedelta(days=2))}
    )
    assert requested["requestLoan"]["__typename"] == "LoanChanged", requested
    email = (await martin.data("{ me { email } }"))["me"]["email"]

    refused = await martin.data(DELETE, {"password": "not my password"})
    assert refused["deleteAccount"]["code"] == "INVALID_CREDENTIALS"
    assert await count(clean_db, "SELECT count(*) FROM accounts WHERE email = :e", e=email) == 1

    deleted = await martin.data(DELETE, {"password": PASSWORD})
    assert deleted["deleteAccount"]["__typename"] == "DeleteAccountSuccess"
    assert await count(clean_db, "SELECT count(*) FROM accounts WHERE email = :e", e=email) == 0
    async with clean_db.connect() as conn:
        household = (
            await conn.execute(
                text(
                    "SELECT name, erased_at IS NOT NULL AS erased,"
                    " ST_Equals(home_location, public_location) AS exact_gone"
                    " FROM households WHERE name <> 'Durand'"
                )
            )
        ).one()
        post = (
            await conn.execute(
                text("SELECT account_id FROM posts WHERE title = 'Annonce de Martin'")
            )
        ).one()
        loan = (await conn.execute(text("SELECT state, cancelled_by FROM loans"))).one()
        item = (
            await conn.execute(
                text("SELECT available, description FROM items WHERE title = 'Perceuse de Martin'")
            )
        ).one()
    assert tuple(household) == ("Ancien voisin", True, True)
    assert post.account_id is None  # the post stays, signed by the anonymous household
    assert tuple(loan) == ("CANCELLED", "LENDER")  # kept for Durand's history
    assert tuple(item) == (False, "")
    assert (await martin.data(ME))["me"] is None
    assert (await log_in(gql, email))["code"] == "INVALID_CREDENTIALS"
    raw = json.dumps(
        await durand.data("{ myLoans(first: 5) { edges { node { lender { name } } } } }")
    )
    assert "Martin" not in raw.replace("Perceuse de Martin", "")

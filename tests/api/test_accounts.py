"""Accounts, tokens and the authorization of neighbourhood mutations, over the real endpoint."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import GraphQLClient, confirm_email
from tests.api.test_neighbourhoods import CREATE, REGISTER, UPDATE, square

pytestmark = pytest.mark.usefixtures("clean_db")

SIGN_UP = """
mutation ($email: String!, $password: String!, $name: String!) {
  signUp(input: {email: $email, password: $password, displayName: $name}) {
    __typename
    ... on SignUpSuccess { email }
    ... on ValidationError { code field message }
  }
}
"""
LOG_IN = """
mutation ($email: String!, $password: String!) {
  logIn(email: $email, password: $password) {
    __typename
    ... on AuthSuccess { token }
    ... on InvalidCredentialsError { code message }
  }
}
"""
LOG_OUT = "mutation { logOut { __typename ... on LogOutSuccess { revokedTokens } } }"
LOG_OUT_EVERYWHERE = (
    "mutation { logOutEverywhere { __typename ... on LogOutSuccess { revokedTokens } } }"
)
ME = "{ me { email displayName } }"


async def sign_up(gql: GraphQLClient, email: str, password: str = "correct horse battery") -> str:
    """Sign up, confirm the address (tests/api/test_account_lifecycle.py follows the real
    e-mailed link), log in: the new session's token."""
    data = await gql.data(SIGN_UP, {"email": email, "password": password, "name": "Claire"})
    assert data["signUp"]["__typename"] == "SignUpSuccess", data
    await confirm_email(gql.http, email.lower())
    logged_in = await gql.data(LOG_IN, {"email": email, "password": password})
    token: str = logged_in["logIn"]["token"]
    return token


async def test_sign_up_lowercases_the_email_and_signs_in(gql: GraphQLClient) -> None:
    token = await sign_up(gql, "Claire.Martin@Example.org")
    me = await gql.signed_in(token).data(ME)
    assert me == {"me": {"email": "claire.martin@example.org", "displayName": "Claire"}}


async def test_passwords_are_stored_as_argon2_and_tokens_as_digests(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    token = await sign_up(gql, "claire@example.org")
    async with clean_db.connect() as conn:
        password_hash = (
            await conn.execute(text("SELECT password_hash FROM accounts"))
        ).scalar_one()
        stored = (await conn.execute(text("SELECT token_hash FROM access_tokens"))).scalar()
    assert password_hash.startswith("$argon2id$")
    assert "correct horse" not in password_hash
    assert stored is not None and token.encode() not in bytes(stored)
    assert len(bytes(stored)) == 32


async def test_a_taken_email_gets_the_answer_of_a_new_one(gql: GraphQLClient) -> None:
    await sign_up(gql, "claire@example.org")
    taken = await gql.data(
        SIGN_UP, {"email": "CLAIRE@example.org", "password": "another long one", "name": "C"}
    )
    fresh = await gql.data(
        SIGN_UP, {"email": "camille@example.org", "password": "another long one", "name": "C"}
    )
    assert taken["signUp"] == {"__typename": "SignUpSuccess", "email": "claire@example.org"}
    assert fresh["signUp"] == {"__typename": "SignUpSuccess", "email": "camille@example.org"}


@pytest.mark.parametrize(
    ("email", "password", "code"),
    [
        ("not-an-email", "correct horse battery", "BAD_USER_INPUT"),
        ("a@example.org", "short", "WEAK_PASSWORD"),
        ("a@example.org", "x" * 300, "WEAK_PASSWORD"),
    ],
)
async def test_bad_sign_up_input_writes_nothing(
    gql: GraphQLClient, clean_db: AsyncEngine, email: str, password: str, code: str
) -> None:
    data = await gql.data(SIGN_UP, {"email": email, "password": password, "name": "Claire"})
    assert data["signUp"]["code"] == code
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM accounts"))).scalar() == 0


async def test_log_in_with_a_wrong_password_does_not_say_which_part_was_wrong(
    gql: GraphQLClient,
) -> None:
    await sign_up(gql, "claire@example.org")
    wrong_password = await gql.data(LOG_IN, {"email": "claire@example.org", "password": "nope"})
    unknown_email = await gql.data(
        LOG_IN, {"email": "nobody@example.org", "password": "correct horse battery"}
    )
    assert wrong_password["logIn"] == unknown_email["logIn"]
    assert wrong_password["logIn"]["code"] == "INVALID_CREDENTIALS"


async def test_log_out_revokes_only_that_token(gql: GraphQLClient) -> None:
    first = await sign_up(gql, "claire@example.org")
    second = (
        await gql.data(LOG_IN, {"email": "claire@example.org", "password": "correct horse battery"})
    )["logIn"]["token"]
    out = await gql.signed_in(first).data(LOG_OUT)
    assert out["logOut"] == {"__typename": "LogOutSuccess", "revokedTokens": 1}
    assert (await gql.signed_in(first).data(ME))["me"] is None
    assert (await gql.signed_in(second).data(ME))["me"]["email"] == "claire@example.org"


async def test_log_out_everywhere_revokes_every_token(gql: GraphQLClient) -> None:
    first = await sign_up(gql, "claire@example.org")
    second = (
        await gql.data(LOG_IN, {"email": "claire@example.org", "password": "correct horse battery"})
    )["logIn"]["token"]
    out = await gql.signed_in(second).data(LOG_OUT_EVERYWHERE)
    assert out["logOutEverywhere"]["revokedTokens"] == 2
    for token in (first, second):
        assert (await gql.signed_in(token).data(ME))["me"] is None


async def test_expired_and_forged_tokens_are_anonymous(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    token = await sign_up(gql, "claire@example.org")
    async with clean_db.begin() as conn:
        await conn.execute(text("UPDATE access_tokens SET expires_at = now() - interval '1 s'"))
    assert (await gql.signed_in(token).data(ME))["me"] is None
    assert (await gql.signed_in("forged" + token[6:]).data(ME))["me"] is None
    assert (await gql.signed_in("x" * 5000).data(ME))["me"] is None


async def test_anonymous_callers_cannot_register_or_draw(gql: GraphQLClient) -> None:
    register = await gql.data(REGISTER, {"name": "Anonyme", "lng": 1.99, "lat": 48.85})
    create = await gql.data(CREATE, {"name": "X", "boundary": square(1.99, 48.85, 0.01)})
    assert register["registerHousehold"]["__typename"] == "UnauthenticatedError"
    assert create["createNeighbourhood"]["__typename"] == "UnauthenticatedError"


async def test_an_account_registers_only_one_household(gql: GraphQLClient) -> None:
    member = await gql.sign_up()
    first = await member.data(REGISTER, {"name": "Famille Martin", "lng": 1.99, "lat": 48.85})
    again = await member.data(REGISTER, {"name": "Bis", "lng": 1.99, "lat": 48.85})
    assert first["registerHousehold"]["__typename"] == "RegisterHouseholdSuccess"
    assert again["registerHousehold"]["code"] == "ALREADY_IN_HOUSEHOLD"


async def test_only_ambassadors_change_a_boundary(gql: GraphQLClient) -> None:
    ambassador = await gql.sign_up()
    created = (
        await ambassador.data(CREATE, {"name": "Chavenay", "boundary": square(1.99, 48.85, 0.01)})
    )["createNeighbourhood"]
    member = await gql.sign_up()
    await member.data(REGISTER, {"name": "Famille Martin", "lng": 1.99, "lat": 48.85})
    variables = {"id": created["neighbourhood"]["id"], "boundary": square(1.99, 48.85, 0.02)}
    refused = await member.data(UPDATE, variables)
    assert refused["updateNeighbourhoodBoundary"]["__typename"] == "ForbiddenError"
    accepted = await ambassador.data(UPDATE, variables)
    assert accepted["updateNeighbourhoodBoundary"]["__typename"] == "NeighbourhoodChanged"


HOUSEHOLD_NODE = """
query ($id: ID!) {
  node(id: $id) { ... on Household { name exactLocation { lng lat } neighbourhood { name } } }
}
"""


async def test_exact_location_never_reaches_another_household(gql: GraphQLClient) -> None:
    exact = {"lng": 1.987654, "lat": 48.851234}
    alice = await gql.sign_up()
    registered = (await alice.data(REGISTER, {"name": "Alice", **exact}))["registerHousehold"]
    household_id = registered["household"]["id"]
    neighbour = await gql.sign_up()
    await neighbour.data(REGISTER, {"name": "Bob", "lng": 1.9901, "lat": 48.8501})
    stranger = await gql.sign_up()
    await stranger.data(REGISTER, {"name": "Carol", "lng": 2.3, "lat": 48.86})

    own = await alice.execute(HOUSEHOLD_NODE, {"id": household_id})
    assert own["data"]["node"]["exactLocation"] == exact

    seen_by_neighbour = await neighbour.execute(HOUSEHOLD_NODE, {"id": household_id})
    assert seen_by_neighbour["data"]["node"]["name"] == "Alice"
    assert seen_by_neighbour["data"]["node"]["exactLocation"] is None
    for body in (
        seen_by_neighbour,
        await stranger.execute(HOUSEHOLD_NODE, {"id": household_id}),
        await gql.execute(HOUSEHOLD_NODE, {"id": household_id}),
        await neighbour.execute(
            "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 5) "
            "{ edges { distanceMeters node { name boundary } } } }"
        ),
    ):
        raw = json.dumps(body)
        assert "1.987654" not in raw and "48.851234" not in raw


async def test_households_are_hidden_from_other_neighbourhoods(gql: GraphQLClient) -> None:
    alice = await gql.sign_up()
    registered = await alice.data(REGISTER, {"name": "Alice", "lng": 1.99, "lat": 48.85})
    household_id = registered["registerHousehold"]["household"]["id"]
    stranger = await gql.sign_up()
    await stranger.data(REGISTER, {"name": "Carol", "lng": 2.3, "lat": 48.86})
    assert (await stranger.data(HOUSEHOLD_NODE, {"id": household_id}))["node"] is None
    assert (await gql.data(HOUSEHOLD_NODE, {"id": household_id}))["node"] is None

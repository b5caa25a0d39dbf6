"""Sign-in resists guessing: failures slow down per account and per address, hashing never blocks
the event loop, and passwords anyone would guess first are refused at sign-up."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import Settings
from db.passwords import PasswordHashing, hash_password
from tests.servers import running_server

SIGN_UP = """
mutation ($email: String!, $password: String!) {
  signUp(input: {email: $email, password: $password, displayName: "Claire"}) {
    __typename
    ... on ValidationError { code message field }
  }
}
"""
LOG_IN = """
mutation ($email: String!, $password: String!) {
  logIn(email: $email, password: $password) {
    __typename
    ... on InvalidCredentialsError { code message }
    ... on TooManyAttemptsError { code message retryAfterSeconds }
  }
}
"""
SIGN_IN_ONLY = """
mutation ($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { __typename }
}
"""
PASSWORD = "correct horse battery"
WRONG = [f"wrong guess number {n}" for n in range(10)]


class Client:
    """GraphQL to one in-process app from one client address."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def field(self, query: str, **variables: str) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        [value] = body["data"].values()
        assert isinstance(value, dict)
        return value

    async def sign_up(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        return await self.field(SIGN_UP, email=email, password=password)

    async def log_in(self, email: str, password: str) -> dict[str, Any]:
        return await self.field(LOG_IN, email=email, password=password)


@asynccontextmanager
async def app_clients(settings: Settings, *addresses: str) -> AsyncIterator[list[Client]]:
    """One app (its own sign-in counters), and a client for each address."""
    app = create_app(settings)
    https = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 40000)),
            base_url="http://test",
        )
        for address in addresses
    ]
    try:
        yield [Client(http) for http in https]
    finally:
        for http in https:
            await http.aclose()
        await app.state.reads.close()
        await app.state.engine.dispose()


async def create_accounts(engine: AsyncEngine, emails: list[str], password_hash: str) -> None:
    """Accounts signed up and confirmed, as the demo seed makes them: the tests of signing in
    do not depend on how signing up goes."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO accounts (email, password_hash, display_name) "
                "VALUES (:email, :password_hash, 'Claire')"
            ),
            [{"email": email, "password_hash": password_hash} for email in emails],
        )
        confirmed = await conn.scalar(
            text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'accounts' AND column_name = 'email_verified_at'"
            )
        )
        if confirmed:  # where addresses are confirmed before signing in
            await conn.execute(text("UPDATE accounts SET email_verified_at = now()"))


FAST_HASH = PasswordHashing("fast").hash(PASSWORD)


def codes(answers: list[dict[str, Any]]) -> list[str]:
    return [answer.get("code", answer["__typename"]) for answer in answers]


async def test_wrong_passwords_for_one_account_are_refused_after_five_in_a_window(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with app_clients(settings, "198.51.100.1", "198.51.100.2") as (first, second):
        await create_accounts(clean_db, ["claire@example.org"], FAST_HASH)
        answers = [await first.log_in("claire@example.org", guess) for guess in WRONG[:6]]
        # Another address does not start afresh: the account's counter is the account's.
        elsewhere = await second.log_in("claire@example.org", WRONG[6])
        right_password = await first.log_in("claire@example.org", PASSWORD)

    assert codes(answers) == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]
    refusal = answers[5]
    assert refusal["__typename"] == "TooManyAttemptsError"
    assert 1 <= refusal["retryAfterSeconds"] <= 15 * 60
    assert f"{refusal['retryAfterSeconds']} s" in refusal["message"]
    assert codes([elsewhere, right_password]) == ["TOO_MANY_ATTEMPTS"] * 2


async def test_an_unknown_email_gets_the_same_answers_as_an_account(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    await create_accounts(clean_db, ["claire@example.org"], FAST_HASH)
    async with app_clients(settings, "198.51.100.1") as (client,):
        known = [await client.log_in("claire@example.org", guess) for guess in WRONG[:7]]
        unknown = [await client.log_in("nobody@example.org", guess) for guess in WRONG[:7]]

    def shown(answers: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(answer["__typename"], answer["code"]) for answer in answers]

    assert shown(known) == shown(unknown)
    assert codes(unknown) == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"] * 2


async def test_an_address_guessing_many_accounts_is_refused_past_its_limit(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    limited = replace(settings, sign_in_failures_per_address=3)
    await create_accounts(clean_db, ["claire@example.org"], FAST_HASH)
    async with app_clients(limited, "198.51.100.1", "198.51.100.2") as (guesser, other):
        sprayed = [
            await guesser.log_in(f"user{n}@example.org", "a common password") for n in range(4)
        ]
        own_account = await guesser.log_in("claire@example.org", PASSWORD)
        from_elsewhere = await other.log_in("claire@example.org", PASSWORD)

    assert codes(sprayed) == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_ATTEMPTS"]
    assert codes([own_account]) == ["TOO_MANY_ATTEMPTS"]
    assert from_elsewhere["__typename"] == "AuthSuccess"


async def test_a_successful_sign_in_forgets_the_account_s_failures(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    await create_accounts(clean_db, ["claire@example.org"], FAST_HASH)
    async with app_clients(settings, "198.51.100.1") as (client,):
        before = [await client.log_in("claire@example.org", guess) for guess in WRONG[:4]]
        signed_in = await client.log_in("claire@example.org", PASSWORD)
        after = [await client.log_in("claire@example.org", guess) for guess in WRONG[4:8]]

    assert signed_in["__typename"] == "AuthSuccess"
    assert codes(before + after) == ["INVALID_CREDENTIALS"] * 8


async def test_passwords_everyone_tries_first_are_refused_at_sign_up(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with app_clients(settings, "198.51.100.1") as (client,):
        refused = {
            password: await client.sign_up(f"{n}@example.org", password)
            for n, password in enumerate(["aaaaaaaaaa", "password12", "azertyuiop", "1234567890"])
        }
        demo = await client.sign_up("demo@example.org", "voisinage-demo")

    for password, answer in refused.items():
        assert answer["__typename"] == "ValidationError", password
        assert answer["code"] == "WEAK_PASSWORD"
        assert answer["field"] == "password"
        assert answer["message"].startswith("This password is too easy to guess")
    assert "common" in refused["password12"]["message"]
    assert demo["__typename"] != "ValidationError"  # the README's demo password is accepted


BURST = 20


async def sign_in_burst(url: str) -> tuple[list[float], float]:
    """Latencies (s) of `{ __typename }` asked one after the other while BURST accounts sign in
    at once, and how long the burst took."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def probe(client: httpx.AsyncClient) -> None:
        while not done.is_set():
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": "{ __typename }"})
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200

    async def sign_in(client: httpx.AsyncClient, n: int) -> None:
        response = await client.post(
            "/graphql",
            json={
                "query": SIGN_IN_ONLY,
                "variables": {"email": f"b{n}@example.org", "password": PASSWORD},
            },
        )
        body = response.json()
        assert (body.get("data") or {}).get("logIn", {}).get("__typename") == "AuthSuccess", body

    limits = httpx.Limits(max_connections=BURST)
    async with (
        httpx.AsyncClient(base_url=url, timeout=60) as prober,
        httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as burst,
    ):
        await prober.post("/graphql", json={"query": "{ __typename }"})  # connected
        probing = asyncio.create_task(probe(prober))
        try:
            started = time.perf_counter()
            await asyncio.gather(*(sign_in(burst, n) for n in range(BURST)))
            took = time.perf_counter() - started
        finally:
            done.set()
            await probing
    return latencies, took


async def quiet_latencies(url: str, seconds: float) -> list[float]:
    """Latencies (s) of `{ __typename }` asked one after the other for `seconds`, no burst."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await client.post("/graphql", json={"query": "{ __typename }"})  # connected
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await client.post("/graphql", json={"query": "{ __typename }"})
            latencies.append(time.perf_counter() - started)
    return latencies


def p99_ms(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000


async def test_twenty_sign_ins_at_once_leave_other_requests_p99_under_50_ms(
    database_url: str, clean_db: AsyncEngine, tmp_path: Path
) -> None:
    with running_server(
        database_url,
        tmp_path / "burst.log",
        PASSWORD_HASHING="standard",  # production's Argon2 parameters: ~0.15 s a hash, 4 lanes
        RATE_LIMIT_PER_MINUTE="0",
        OPERATION_TIMEOUT_SECONDS="120",  # a busy test machine hashes slowly: not what is measured
    ) as server:
        emails = [f"b{n}@example.org" for n in range(BURST)]
        await create_accounts(clean_db, emails, hash_password(PASSWORD))  # standard parameters
        quiet = await quiet_latencies(server.http_url, 3.0)
        # Other processes holding the cores (parallel test runs) would decide the figure.
        if p99_ms(quiet) > 25:
            pytest.skip(f"machine too busy to measure: p99 {p99_ms(quiet):.0f} ms with no burst")
        latencies, took = await sign_in_burst(server.http_url)

    print(
        f"\n{{ __typename }} p99: {p99_ms(quiet):.1f} ms alone, {p99_ms(latencies):.1f} ms "
        f"({len(latencies)} requests, p50 {statistics.median(latencies) * 1000:.1f} ms) while "
        f"{BURST} sign-ins ran ({took:.2f} s)"
    )
    assert p99_ms(latencies) < 50
    assert len(latencies) >= 50, "too few requests during the burst for a p99"

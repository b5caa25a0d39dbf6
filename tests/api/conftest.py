"""An in-process client for the real Starlette app on the test database."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import Settings

SIGN_UP = """
mutation SignUp($email: String!, $name: String!) {
  signUp(input: {email: $email, password: "correct horse battery", displayName: $name}) {
    __typename
  }
}
"""
LOG_IN = """
mutation LogIn($email: String!) {
  logIn(email: $email, password: "correct horse battery") { ... on AuthSuccess { token } }
}
"""
CONFIRM = text("UPDATE accounts SET email_verified_at = now() WHERE email = :email")


async def confirm_email(http: httpx.AsyncClient, email: str) -> None:
    """What following the e-mailed link does (tests/api/test_account_lifecycle.py follows real
    links), straight in the database of the app behind `http`."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    app: Any = transport.app
    async with app.state.engine.begin() as conn:
        await conn.execute(CONFIRM, {"email": email})


class GraphQLClient:
    """POSTs GraphQL to the app; `execute` returns the whole JSON body."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.headers: dict[str, str] = {"authorization": f"Bearer {token}"} if token else {}

    def signed_in(self, token: str) -> GraphQLClient:
        """Another client on the same app, sending `token` as its bearer token."""
        return GraphQLClient(self.http, token)

    async def sign_up(self, email: str | None = None, name: str = "Voisin") -> GraphQLClient:
        """A new account with a confirmed address, and a client signed in as it."""
        email = email or f"{uuid.uuid4().hex[:12]}@example.org"
        data = await self.data(SIGN_UP, {"email": email, "name": name})
        assert data["signUp"]["__typename"] == "SignUpSuccess", data
        await confirm_email(self.http, email.strip().lower())
        signed_in = await self.data(LOG_IN, {"email": email})
        return self.signed_in(signed_in["logIn"]["token"])

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.execute(query, variables)
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture
async def http(settings: Settings, clean_db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.reads.close()
    await app.state.engine.dispose()


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


async def promote_to_admin(engine: AsyncEngine, client: GraphQLClient) -> None:
    """Admins are appointed in the database, never through the API."""
    me = (await client.data("{ me { id } }"))["me"]
    account_id = int(base64.b64decode(me["id"]).decode().split(":")[1])
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE accounts SET is_admin = true WHERE id = :id"), {"id": account_id}
        )

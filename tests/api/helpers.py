"""Helpers for API tests: households at real places, and a client whose SQL is counted."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import event

from api.app import create_app
from api.settings import Settings
from db.fastpaths.reads import OBSERVERS
from tests.api.conftest import GraphQLClient
from tests.api.test_neighbourhoods import REGISTER


async def member(gql: GraphQLClient, name: str, place: dict[str, float]) -> GraphQLClient:
    """A client signed in as a new account whose household lives at `place` ({lng, lat})."""
    client = await gql.sign_up(name=name)
    result = (await client.data(REGISTER, {"name": name, **place}))["registerHousehold"]
    assert result["__typename"] == "RegisterHouseholdSuccess", result
    return client


def node_id(global_id: str) -> int:
    """The database id inside a Relay global ID."""
    return int(base64.b64decode(global_id).decode().split(":")[1])


@asynccontextmanager
async def counting_client(settings: Settings) -> AsyncIterator[tuple[GraphQLClient, list[str]]]:
    """An anonymous client on an app of its own, and the SQL statements that app runs.

    For the statement-count guards of list resolvers: clear the list, query, count.
    """
    app = create_app(settings)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    def record_read(sql: str, _parameters: object) -> None:
        statements.append(sql)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
    OBSERVERS.statements.append(record_read)  # the searches' statements (db.fastpaths.reads)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http), statements
    finally:
        OBSERVERS.statements.remove(record_read)
        await app.state.reads.close()
        await app.state.engine.dispose()

"""Bad input to the neighbourhood mutations: a clear error with a code, and nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import GraphQLClient
from tests.api.test_neighbourhoods import CREATE, REGISTER, square

pytestmark = pytest.mark.usefixtures("clean_db")

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[1.98, 48.84], [2.0, 48.86], [2.0, 48.84], [1.98, 48.86], [1.98, 48.84]]],
}
UNCLOSED = {
    "type": "Polygon",
    "coordinates": [[[1.98, 48.84], [2.0, 48.84], [2.0, 48.86], [1.98, 48.86]]],
}


async def row_counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        neighbourhoods = (await conn.execute(text("SELECT count(*) FROM neighbourhoods"))).scalar()
        households = (await conn.execute(text("SELECT count(*) FROM households"))).scalar()
    return int(neighbourhoods or 0), int(households or 0)


@pytest.mark.parametrize(
    ("lng", "lat", "code"),
    [
        (1.99, 91.0, "INVALID_COORDINATES"),
        (181.0, 48.85, "INVALID_COORDINATES"),
        (-180.5, 0.0, "INVALID_COORDINATES"),
    ],
)
async def test_registration_outside_the_globe_is_refused(
    gql: GraphQLClient, clean_db: AsyncEngine, lng: float, lat: float, code: str
) -> None:
    member = await gql.sign_up()
    data = await member.data(REGISTER, {"name": "Famille Martin", "lng": lng, "lat": lat})
    result = data["registerHousehold"]
    assert result["__typename"] == "ValidationError"
    assert result["code"] == code
    assert "outside" in result["message"]
    assert await row_counts(clean_db) == (0, 0)


async def test_nan_and_infinity_in_json_are_refused(
    http: httpx.AsyncClient, gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    member = await gql.sign_up()
    for bad in ("NaN", "Infinity", "-Infinity"):
        body = (
            '{"query": ' + '"' + REGISTER.replace("\n", " ").replace('"', '\\"') + '", '
            '"variables": {"name": "X", "lng": ' + bad + ', "lat": 48.85}}'
        )
        response = await http.post(
            "/graphql",
            content=body,
            headers={**member.headers, "content-type": "application/json"},
        )
        assert response.status_code in {200, 400}
        payload = response.json()
        result = (payload.get("data") or {}).get("registerHousehold")
        if result is not None:
            assert result["code"] == "INVALID_COORDINATES"
        else:
            assert payload["errors"]
    assert await row_counts(clean_db) == (0, 0)


@pytest.mark.parametrize(
    ("boundary", "code", "needle"),
    [
        (BOWTIE, "INVALID_GEOMETRY", "Self-intersection at (1.99"),
        (UNCLOSED, "INVALID_GEOMETRY", "not closed"),
        ({"type": "Polygon", "coordinates": []}, "EMPTY_GEOMETRY", ""),
        ({"type": "Point", "coordinates": [1.99, 48.85]}, "INVALID_GEOMETRY", "Polygon"),
        (square(1.99, 48.85, 2.0), "GEOMETRY_TOO_LARGE", "km²"),
        (square(48.85, 1.99, 0.01), None, None),  # swapped axes: valid, lands off Africa
        ("not geojson", "INVALID_GEOMETRY", ""),
    ],
)
async def test_bad_boundaries_are_refused_and_name_the_problem(
    gql: GraphQLClient,
    clean_db: AsyncEngine,
    boundary: Any,
    code: str | None,
    needle: str | None,
) -> None:
    creator = await gql.sign_up()
    data = await creator.data(CREATE, {"name": "Chavenay", "boundary": boundary})
    result = data["createNeighbourhood"]
    if code is None:
        assert result["__typename"] == "NeighbourhoodChanged"
        return
    assert result["__typename"] == "ValidationError"
    assert result["code"] == code
    assert result["field"] == "boundary"
    assert needle in result["message"]
    assert await row_counts(clean_db) == (0, 0)


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "BAD_USER_INPUT"), ("x" * 500, "BAD_USER_INPUT"), ("Fa\x00mille", "BAD_USER_INPUT")],
)
async def test_bad_names_are_refused(
    gql: GraphQLClient, clean_db: AsyncEngine, name: str, code: str
) -> None:
    member = await gql.sign_up()
    data = await member.data(REGISTER, {"name": name, "lng": 1.99, "lat": 48.85})
    assert data["registerHousehold"]["code"] == code
    assert data["registerHousehold"]["field"] == "name"
    assert await row_counts(clean_db) == (0, 0)


async def test_bad_commune_code_is_refused(gql: GraphQLClient, clean_db: AsyncEngine) -> None:
    creator = await gql.sign_up()
    data = await creator.data(
        CREATE, {"name": "X", "boundary": square(1.99, 48.85, 0.01), "code": "'; DROP TABLE x"}
    )
    assert data["createNeighbourhood"]["field"] == "communeCode"
    assert await row_counts(clean_db) == (0, 0)


async def test_bad_page_size_and_cursor_are_graphql_errors(gql: GraphQLClient) -> None:
    for args, code in (
        ("first: 0", "BAD_USER_INPUT"),
        ("first: 101", "BAD_USER_INPUT"),
        ('after: "bm9wZQ"', "INVALID_CURSOR"),
        ('after: "%%%"', "INVALID_CURSOR"),
    ):
        body = await gql.execute(
            "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, " + args + ") { edges { cursor } } }"
        )
        assert body["errors"][0]["extensions"]["code"] == code, (args, body)

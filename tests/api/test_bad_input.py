"""Bad input through the real HTTP endpoint: a GraphQL error or a 4xx, never a 500, no leak, and
nothing written. One table, one row per kind of bad input (docs/limits.md lists the limits)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Base
from tests.api.conftest import GraphQLClient
from tests.api.test_neighbourhood_validation import BOWTIE, UNCLOSED
from tests.api.test_neighbourhoods import CREATE, REGISTER, square

pytestmark = pytest.mark.usefixtures("clean_db")

LEAKS = ("Traceback", "psycopg", "sqlalchemy", "/work/", 'File "', "Exception")
SQL = "'; DROP TABLE households; --"
GRAPHQL_RESPONSE = "application/graphql-response+json"
NEAR = "query Near($lng: Float!, $lat: Float!) { neighbourhoods(near: {lng: $lng, lat: $lat}) { edges { cursor } } }"
LOG_IN = "mutation ($email: String!, $password: String!) { logIn(email: $email, password: $password) { __typename ... on InvalidCredentialsError { code } } }"
SIGN_UP = 'mutation ($email: String!, $password: String!) { signUp(input: {email: $email, password: $password, displayName: "X"}) { __typename ... on ValidationError { code } } }'
REGISTER_INLINE = 'mutation { registerHousehold(input: {name: "Famille", location: {lng: 1.99, lat: 48.85}}) { __typename ... on ValidationError { code } ... on UnauthenticatedError { code } } }'
LENDERS = "query ($d: Int) { nearestLenders(near: {lng: 1.99, lat: 48.85}, maxDistanceMeters: $d) { edges { cursor } } }"
AT = "query ($lng: Float!, $lat: Float!) { neighbourhoodAt(location: {lng: $lng, lat: $lat}) { kind } }"
INVITED = 'mutation ($code: String!) { registerHousehold(input: {name: "Famille", location: {lng: 1.99, lat: 48.85}, invitationCode: $code}) { __typename ... on ValidationError { code } } }'
ON_BEHALF = 'mutation ($h: ID!) { createPost(input: {kind: DISCUSSION, title: "x"}, onBehalfOf: $h) { __typename ... on MutationError { code } } }'
DEEP = (
    '{ neighbourhood(id: "TmVpZ2hib3VyaG9vZDox") { '
    + "posts { edges { node { neighbourhood { " * 5
    + "id"
    + " } } } }" * 5
    + " } }"
)
JSON_HEADERS: dict[str, str | bytes] = {"content-type": "application/json"}


def nested(depth: int) -> str:
    """A selection `depth` fields deep (unknown fields: the depth limit answers first)."""
    return "{ " + "a { " * (depth - 1) + "b" + " }" * depth


def body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


@dataclass
class Bad:
    """One bad input: what to send, and what GraphQL over HTTP says the answer is."""

    name: str
    content: bytes | None = None
    method: str = "POST"
    params: dict[str, str] | None = None
    headers: dict[str, str | bytes] = field(default_factory=lambda: dict(JSON_HEADERS))
    status: tuple[int, ...] = (200,)
    code: str | None = None
    """A code that must appear in an error's extensions or a result's `code`."""
    signed_in: bool = True
    within_s: float | None = None


BAD_INPUTS = [
    # -- transport ---------------------------------------------------------------------------
    Bad("invalid JSON", b'{"query": ', status=(400,), code="BAD_REQUEST"),
    Bad("empty body", b"", status=(400,), code="BAD_REQUEST"),
    Bad(
        "text/plain content type",
        body("{ __typename }"),
        headers={"content-type": "text/plain"},
        status=(400, 415),
    ),
    Bad("no content type", body("{ __typename }"), headers={}, status=(400, 415)),
    Bad(
        "form-encoded body",
        b"query=%7B__typename%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
        status=(400, 415),
    ),
    Bad(
        "JSON array batch",
        b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
        status=(400,),
        code="BAD_REQUEST",
    ),
    Bad("JSON string body", b'"{ __typename }"', status=(400,)),
    Bad("JSON null body", b"null", status=(400,)),
    Bad("JSON nested 10,000 deep", b"[" * 10_000 + b"]" * 10_000, status=(400,)),
    Bad(
        "variables nested 10,000 deep",
        b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 10_000 + b"]" * 10_000 + b"}}",
        status=(400,),
    ),
    Bad("invalid UTF-8 bytes", b'{"query": "{ __typename \xff\xfe }"}', status=(400,)),
    Bad(
        "NaN coordinate",
        b'{"query": "'
        + REGISTER.replace("\n", " ").replace('"', '\\"').encode()
        + b'", "variables": {"name": "X", "lng": NaN, "lat": 48.85}}',
        status=(400,),
    ),
    Bad(
        "Infinity coordinate",
        body(NEAR).replace(b'"variables": {}', b'"variables": {"lng": Infinity, "lat": 48.85}'),
        status=(400,),
    ),
    Bad(
        "5,000-digit number",
        body(NEAR).replace(
            b'"variables": {}', b'"variables": {"lng": ' + b"9" * 5000 + b', "lat": 48.85}'
        ),
        status=(400,),
    ),
    Bad("query is not a string", b'{"query": 42}', status=(400,)),
    Bad(
        "variables is not an object",
        b'{"query": "{ __typename }", "variables": [1, 2]}',
        status=(400,),
    ),
    Bad("no query at all", b"{}", status=(400,)),
    Bad(
        "unknown operationName",
        json.dumps({"query": "query A { __typename }", "operationName": "B"}).encode(),
        status=(400,),
    ),
    Bad(
        "subscription over HTTP POST",
        body('subscription { postCreated(neighbourhoodId: "x") { id } }'),
        status=(400,),
    ),
    Bad(
        "mutation over GET",
        method="GET",
        params={"query": REGISTER_INLINE},
        headers={"accept": "application/json"},
        status=(405,),
        code="METHOD_NOT_ALLOWED",
    ),
    Bad(
        "GET with invalid variables JSON",
        method="GET",
        params={"query": NEAR, "variables": "{lng: 1"},
        headers={"accept": "application/json"},
        status=(400,),
    ),
    Bad(
        "1 MB query",
        body("{ __typename " + " " * 1_000_000 + "}"),
        status=(413,),
        code="REQUEST_TOO_LARGE",
        within_s=1.0,
    ),
    Bad(
        "60 kB query string by GET",
        method="GET",
        params={"query": "{ " + "a " * 30_000 + "}"},
        headers={"accept": "application/json"},
        code="GRAPHQL_VALIDATION_FAILED",
        within_s=1.0,
    ),
    Bad(
        "1 MB string variable",
        body(REGISTER, {"name": "x" * 1_000_000, "lng": 1.99, "lat": 48.85}),
        status=(413,),
        within_s=1.0,
    ),
    Bad(
        "huge variables object",
        body("{ __typename }", {f"v{i}": i for i in range(30_000)}),
        status=(413,),
    ),
    # -- documents ---------------------------------------------------------------------------
    Bad("NUL byte in the query", body("{ __typen\x00ame }"), code="GRAPHQL_VALIDATION_FAILED"),
    Bad(
        "unclosed selection",
        body("{ neighbourhoods(near: {lng: 1.99"),
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    Bad("unknown field", body("{ households { id } }"), code="GRAPHQL_VALIDATION_FAILED"),
    Bad("document 50 deep", body(nested(50)), code="GRAPHQL_VALIDATION_FAILED"),
    Bad(
        "500 aliases",
        body("{ " + " ".join(f"a{i}: __typename" for i in range(500)) + " }"),
        code="TOO_MANY_ALIASES",
    ),
    Bad("valid document 21 deep", body(DEEP), code="QUERY_TOO_DEEP"),
    Bad("3,000 tokens", body("{ " + "__typename " * 3000 + "}"), code="GRAPHQL_VALIDATION_FAILED"),
    Bad(
        "inline fragments 400 deep",
        body("{ " + "... on Query { " * 400 + "__typename" + " }" * 401),
    ),
    Bad(
        "fragment cycle",
        body("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    Bad(
        "fragments doubling 20 levels deep",
        body(
            "{ ...F0 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20))
            + " fragment F20 on Query { __typename }"
        ),
        code="QUERY_TOO_COSTLY",
        within_s=1.0,
    ),
    Bad(
        "two anonymous operations",
        body("{ __typename } { __typename }"),
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    Bad(
        "too costly: nested pages",
        body(
            '{ neighbourhood(id: "TmVpZ2hib3VyaG9vZDox") { posts(first: 100) { edges { node { id comments(first: 100) { edges { cursor node { id } } } } } } } }'
        ),
        code="QUERY_TOO_COSTLY",
    ),
    # -- values ------------------------------------------------------------------------------
    Bad(
        "wrong variable type",
        body(NEAR, {"lng": "east", "lat": 48.85}),
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    Bad("missing required variable", body(NEAR, {"lat": 48.85})),
    Bad(
        "float overflow (1e400)",
        body(NEAR).replace(b'"variables": {}', b'"variables": {"lng": 1e400, "lat": 48.85}'),
    ),
    Bad(
        "longitude out of range",
        body(NEAR, {"lng": 200.0, "lat": 48.85}),
        code="INVALID_COORDINATES",
    ),
    Bad("latitude out of range", body(AT, {"lng": 1.99, "lat": -91.0}), code="INVALID_COORDINATES"),
    Bad(
        "registration at latitude 91",
        body(REGISTER, {"name": "Martin", "lng": 1.99, "lat": 91.0}),
        code="INVALID_COORDINATES",
    ),
    Bad(
        "first: -1",
        body("{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: -1) { edges { cursor } } }"),
        code="BAD_USER_INPUT",
    ),
    Bad(
        "first: 100000",
        body(
            "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 100000) { edges { cursor } } }"
        ),
    ),
    Bad(
        "first beyond 32 bits",
        body(
            "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 3000000000) { edges { cursor } } }"
        ),
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    Bad(
        "first beyond 32 bits in a variable",
        body(
            "query ($n: Int) { neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: $n) { edges { cursor } } }",
            {"n": 2**40},
        ),
    ),
    Bad("maxDistanceMeters: -5", body(LENDERS, {"d": -5}), code="BAD_USER_INPUT"),
    Bad(
        "unknown enum value",
        body(
            "query ($c: ItemCategory) { nearestLenders(near: {lng: 1.99, lat: 48.85}, category: $c) { edges { cursor } } }",
            {"c": "ROCKETS"},
        ),
    ),
    Bad("unparsable global ID", body('{ node(id: "%%%") { id } }'), code="INVALID_ID"),
    Bad(
        "unclosed ring",
        body(CREATE, {"name": "Chavenay", "boundary": UNCLOSED}),
        code="INVALID_GEOMETRY",
    ),
    Bad(
        "self-intersecting ring",
        body(CREATE, {"name": "Chavenay", "boundary": BOWTIE}),
        code="INVALID_GEOMETRY",
    ),
    Bad(
        "coordinates that are strings",
        body(
            CREATE,
            {
                "name": "X",
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [[["a", "b"], ["c", "d"], ["e", "f"], ["a", "b"]]],
                },
            },
        ),
        code="INVALID_COORDINATES",
    ),
    Bad(
        "boundary of 20 nested lists",
        body(
            CREATE,
            {
                "name": "X",
                "boundary": {"type": "Polygon", "coordinates": json.loads("[" * 20 + "]" * 20)},
            },
        ),
    ),
    Bad(
        "SQL in a commune code",
        body(CREATE, {"name": "X", "boundary": square(1.99, 48.85, 0.01), "code": SQL}),
        code="BAD_USER_INPUT",
    ),
    Bad(
        "SQL in an email", body(LOG_IN, {"email": SQL, "password": SQL}), code="INVALID_CREDENTIALS"
    ),
    Bad(
        "SQL in a cursor",
        body(
            '{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, after: "'
            + SQL.replace("'", "")
            + '") { edges { cursor } } }'
        ),
        code="INVALID_CURSOR",
    ),
    Bad(
        "NUL byte in a name",
        body(REGISTER, {"name": "Fa\x00mille", "lng": 1.99, "lat": 48.85}),
        code="BAD_USER_INPUT",
    ),
    Bad(
        "90 kB name",
        body(REGISTER, {"name": "x" * 90_000, "lng": 1.99, "lat": 48.85}),
        code="BAD_USER_INPUT",
    ),
    Bad(
        "weak password on sign-up",
        body(SIGN_UP, {"email": "new@example.org", "password": "x"}),
        signed_in=False,
    ),
    # -- memberships and partners (docs/memberships.md, docs/partners.md) ---------------------
    Bad("SQL-looking invitation code", body(INVITED, {"code": SQL}), code="INVITATION_INVALID"),
    Bad(
        "long invitation code with NUL bytes",
        body(INVITED, {"code": "A\x00" * 5_000}),
        code="INVITATION_INVALID",
    ),
    Bad(
        "pending queue of a non-neighbourhood ID",
        body('{ pendingMemberships(neighbourhoodId: "eA==") { edges { cursor } } }'),
        code="INVALID_ID",
    ),
    Bad(
        "post on behalf without a partner key",
        body(ON_BEHALF, {"h": "SG91c2Vob2xkOjE="}),
        code="FORBIDDEN",
    ),
    # -- credentials -------------------------------------------------------------------------
    Bad(
        "forged token",
        body(REGISTER_INLINE),
        headers={**JSON_HEADERS, "authorization": "Bearer forged-token-000"},
        signed_in=False,
        code="UNAUTHENTICATED",
    ),
    Bad(
        "expired-looking 5 kB token",
        body(REGISTER_INLINE),
        headers={**JSON_HEADERS, "authorization": "Bearer " + "e" * 5000},
        signed_in=False,
        code="UNAUTHENTICATED",
    ),
    Bad(
        "non-ASCII token",
        body(REGISTER_INLINE),
        headers={**JSON_HEADERS, "authorization": "Bearer jéton".encode()},
        signed_in=False,
        code="UNAUTHENTICATED",
    ),
    Bad(
        "Basic instead of Bearer",
        body(REGISTER_INLINE),
        headers={**JSON_HEADERS, "authorization": "Basic dXNlcjpwYXNz"},
        signed_in=False,
        code="UNAUTHENTICATED",
    ),
    # -- GraphQL over HTTP with application/graphql-response+json -------------------------------
    Bad(
        "validation error, graphql-response+json",
        body("{ households { id } }"),
        headers={**JSON_HEADERS, "accept": GRAPHQL_RESPONSE},
        status=(400,),
        code="GRAPHQL_VALIDATION_FAILED",
    ),
]


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table.name: int(
                (await conn.execute(text(f"SELECT count(*) FROM {table.name}"))).scalar_one()
            )
            for table in Base.metadata.sorted_tables
        }


def codes_in(value: Any) -> set[str]:
    """Every `code` in a response: errors' extensions and result types alike."""
    if isinstance(value, dict):
        found = {value["code"]} if isinstance(value.get("code"), str) else set()
        return found.union(*(codes_in(child) for child in value.values()))
    if isinstance(value, list):
        return set().union(*(codes_in(child) for child in value))
    return set()


async def send(http: httpx.AsyncClient, bad: Bad, token: str | None) -> httpx.Response:
    headers = dict(bad.headers)
    if bad.signed_in and token:
        headers["authorization"] = f"Bearer {token}"
    raw = [
        (name.encode(), value if isinstance(value, bytes) else value.encode())
        for name, value in headers.items()
    ]
    if bad.method == "GET":
        return await http.get("/graphql", params=bad.params, headers=raw)
    return await http.post("/graphql", content=bad.content, headers=raw)


def test_the_table_holds_at_least_40_distinct_bad_inputs() -> None:
    assert len(BAD_INPUTS) >= 40
    assert len({bad.name for bad in BAD_INPUTS}) == len(BAD_INPUTS)


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.name for bad in BAD_INPUTS])
async def test_bad_input_gets_a_clean_error_and_writes_nothing(
    http: httpx.AsyncClient, gql: GraphQLClient, clean_db: AsyncEngine, bad: Bad
) -> None:
    member = await gql.sign_up()
    token = member.headers["authorization"].removeprefix("Bearer ")
    before = await row_counts(clean_db)

    started = time.perf_counter()
    response = await send(http, bad, token)
    elapsed_s = time.perf_counter() - started

    assert response.status_code in bad.status, response.text[:500]
    assert response.headers["content-type"].startswith(("application/json", GRAPHQL_RESPONSE))
    payload = response.json()
    if response.status_code == 200:
        assert payload.get("errors") or codes_in(payload.get("data")), payload
    else:
        assert payload["errors"][0]["message"]
        assert "data" not in payload or payload["data"] is None
    if bad.code is not None:
        assert bad.code in codes_in(payload), payload
    assert "INTERNAL_SERVER_ERROR" not in codes_in(payload), payload
    for leak in LEAKS:
        assert leak not in response.text, (leak, response.text[:500])
    if bad.within_s is not None:
        assert elapsed_s < bad.within_s
    assert await row_counts(clean_db) == before

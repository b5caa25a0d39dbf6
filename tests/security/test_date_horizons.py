"""Dates have horizons (`api.horizons`): a date too far ahead is refused with DATE_TOO_FAR, and
nothing is written. A booking for 9999-12-31 is the attack: it is refused, not kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.horizons import CARPOOL_HORIZON, EVENT_HORIZON, EXPIRY_HORIZON, LOAN_HORIZON
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member
from tests.api.test_carpools import CHAVENAY, VERSAILLES
from tests.api.test_carpools import CREATE as CREATE_CARPOOL
from tests.api.test_loans import BORROWER_HOME, LENDER_HOME, REQUEST, day, household, lend

pytestmark = pytest.mark.usefixtures("clean_db")

CREATE_POST = """
mutation($input: CreatePostInput!) {
  createPost(input: $input) {
    __typename
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
BOOK = """
mutation($id: ID!, $date: Date) {
  bookSeat(carpoolId: $id, date: $date) {
    __typename
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


@pytest.mark.parametrize("starts", ["9999-12-31", None])
async def test_a_loan_beyond_the_horizon_is_refused_and_nothing_written(
    gql: GraphQLClient, clean_db: AsyncEngine, starts: str | None
) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    starts_on = starts or day(LOAN_HORIZON.days + 1)
    variables = {"item": await lend(lender), "startsOn": starts_on, "endsOn": starts_on}
    result = (await borrower.data(REQUEST, variables))["requestLoan"]
    assert (result["code"], result["field"]) == ("DATE_TOO_FAR", "startsOn"), result
    assert await count(clean_db, "loans") == 0
    at_horizon = {**variables, "startsOn": day(LOAN_HORIZON.days), "endsOn": day(LOAN_HORIZON.days)}
    assert (await borrower.data(REQUEST, at_horizon))["requestLoan"]["__typename"] == "LoanChanged"


async def test_a_trip_beyond_the_horizon_is_refused_and_nothing_written(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    for departs in (
        "9999-12-31T07:45:00+01:00",
        (datetime.now(UTC) + CARPOOL_HORIZON + timedelta(hours=1)).isoformat(),
    ):
        trip = {
            "origin": CHAVENAY,
            "destination": VERSAILLES,
            "departsAt": departs,
            "seatsTotal": 2,
        }
        result = (await driver.data(CREATE_CARPOOL, {"input": trip}))["createCarpool"]
        assert (result["code"], result["field"]) == ("DATE_TOO_FAR", "departsAt"), result
    assert await count(clean_db, "carpools") == 0


async def test_a_weekly_seat_beyond_the_horizon_is_refused_and_nothing_written(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    weekly = {
        "origin": CHAVENAY,
        "destination": VERSAILLES,
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "departureTime": "07:45:00",
        "seatsTotal": 2,
    }
    carpool_id = (await driver.data(CREATE_CARPOOL, {"input": weekly}))["createCarpool"]["carpool"][
        "id"
    ]
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    too_far = (datetime.now(UTC) + CARPOOL_HORIZON + timedelta(days=2)).date()
    for date in ("9999-12-31", too_far.isoformat()):
        result = (await passenger.data(BOOK, {"id": carpool_id, "date": date}))["bookSeat"]
        assert (result["code"], result["field"]) == ("DATE_TOO_FAR", "date"), result
    assert await count(clean_db, "carpool_bookings") == 0
    assert await count(clean_db, "carpool_departures") == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "GIVEAWAY", "expiresAt": "9999-12-31T00:00:00+00:00"}, "expiresAt"),
        ({"kind": "OFFER", "expiresAt": EXPIRY_HORIZON + timedelta(hours=1)}, "expiresAt"),
        (
            {
                "kind": "EVENT",
                "placeName": "Salle des fêtes",
                "startsAt": "9999-12-31T20:00:00+01:00",
            },
            "startsAt",
        ),
        (
            {
                "kind": "EVENT",
                "placeName": "Salle des fêtes",
                "startsAt": timedelta(days=10),
                "endsAt": EVENT_HORIZON + timedelta(hours=1),
            },
            "endsAt",
        ),
    ],
)
async def test_a_post_date_beyond_the_horizon_is_refused_and_nothing_written(
    gql: GraphQLClient, clean_db: AsyncEngine, fields: dict[str, object], field: str
) -> None:
    author = await member(gql, "Famille Martin", CHAVENAY)
    now = datetime.now(UTC)
    values = {
        key: (now + value).isoformat() if isinstance(value, timedelta) else value
        for key, value in fields.items()
    }
    post = {"title": "Fête des voisins", "body": "", **values}
    result = (await author.data(CREATE_POST, {"input": post}))["createPost"]
    assert (result["code"], result["field"]) == ("DATE_TOO_FAR", field), result
    assert await count(clean_db, "posts") == 0

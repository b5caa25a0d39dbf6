"""Editing and cancelling (issue #15), end to end through GraphQL on real PostGIS.

Each mutation: the owner can, a stranger cannot, the counterpart hears of it (the NOTIFY of
`notify_household`, LISTENed on the test database's events channel), and bad input writes
nothing (checked in the database).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.runtime import libpq_url
from api.settings import Settings
from db.queries import items as item_queries
from db.queries.events import CHANNEL
from tests.api.conftest import GraphQLClient
from tests.api.helpers import counting_client, member, node_id
from tests.api.test_carpools import (
    CHAVENAY,
    THURSDAY,
    TUESDAY,
    VERSAILLES,
    WEDNESDAY,
    book,
    offer,
    one_off,
)
from tests.api.test_items import item_input, lend
from tests.api.test_loans import act, day, request

pytestmark = pytest.mark.usefixtures("clean_db")

WEEKLY = {
    "origin": CHAVENAY,
    "destination": VERSAILLES,
    "weekdays": [2, 4],
    "departureTime": "07:45:00",
    "seatsTotal": 2,
}

CANCEL_SEAT = """
mutation CancelSeat($id: ID!, $date: Date) {
  cancelSeat(carpoolId: $id, date: $date) {
    __typename
    ... on CancelSeatSuccess { localDate carpool { id seatsLeft(date: $date) myBookedDates } }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
CANCEL_CARPOOL = """
mutation CancelCarpool($id: ID!) {
  cancelCarpool(id: $id) {
    __typename
    ... on CancelCarpoolSuccess { cancelledCarpoolId passengersNotified }
    ... on MutationError { code message }
  }
}
"""


@pytest.fixture
async def events(settings: Settings) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection LISTENing on the live events channel of the test database."""
    assert settings.database_url is not None
    conn = await psycopg.AsyncConnection.connect(libpq_url(settings.database_url), autocommit=True)
    await conn.execute(f"LISTEN {CHANNEL}")
    try:
        yield conn
    finally:
        await conn.close()


async def heard(
    conn: psycopg.AsyncConnection[Any], kind: str, count: int = 1, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The next `count` household notifications of `kind` (fewer when none came in time)."""
    received: list[dict[str, Any]] = []
    async for notice in conn.notifies(timeout=timeout):
        event = json.loads(notice.payload)
        if event["type"] == "household_notification" and event["kind"] == kind:
            received.append(event)
        if len(received) == count:
            break
    return received


async def household_id(engine: AsyncEngine, client: GraphQLClient) -> int:
    me = (await client.data("{ me { household { id } } }"))["me"]
    return node_id(me["household"]["id"])


async def count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def cancel_seat(client: GraphQLClient, carpool_id: str, day: Any = None) -> dict[str, Any]:
    variables = {"id": carpool_id, "date": day.isoformat() if day else None}
    result: dict[str, Any] = (await client.data(CANCEL_SEAT, variables))["cancelSeat"]
    return result


async def test_a_second_booking_of_a_departure_is_an_already_booked_error(
    gql: GraphQLClient,
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, one_off(CHAVENAY, VERSAILLES))
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    assert (await book(passenger, carpool["id"]))["__typename"] == "BookSeatSuccess"
    again = await book(passenger, carpool["id"])
    assert again["__typename"] == "AlreadyBookedError"
    assert again["code"] == "ALREADY_BOOKED"


async def test_a_passenger_cancels_a_seat_and_the_driver_is_notified(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, WEEKLY)
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    assert (await book(passenger, carpool["id"], TUESDAY))["seatsLeft"] == 1
    await heard(events, "SEAT_BOOKED")

    cancelled = await cancel_seat(passenger, carpool["id"], TUESDAY)

    assert cancelled["__typename"] == "CancelSeatSuccess", cancelled
    assert cancelled["localDate"] == TUESDAY.isoformat()
    assert cancelled["carpool"]["seatsLeft"] == 2
    assert cancelled["carpool"]["myBookedDates"] == []
    [event] = await heard(events, "SEAT_CANCELLED")
    assert event["household_id"] == await household_id(clean_db, driver)
    assert event["subject_type"] == "Carpool"
    assert event["subject_id"] == node_id(carpool["id"])
    assert event["message"] == f"Une place de votre covoiturage du {TUESDAY:%d/%m} a été libérée."
    assert await count(clean_db, "SELECT count(*) FROM carpool_bookings") == 0


async def test_cancelling_a_seat_one_has_not_is_not_found_and_writes_nothing(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, WEEKLY)
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    await book(passenger, carpool["id"], TUESDAY)
    stranger = await member(gql, "Famille Roux", CHAVENAY)

    not_mine = await cancel_seat(stranger, carpool["id"], TUESDAY)
    other_day = await cancel_seat(passenger, carpool["id"], WEDNESDAY)
    no_date = await cancel_seat(passenger, carpool["id"])

    assert (not_mine["__typename"], not_mine["code"]) == ("NotFoundError", "NOT_FOUND")
    assert other_day["code"] == "NOT_FOUND"
    assert (no_date["code"], no_date["field"]) == ("BAD_USER_INPUT", "date")
    assert await count(clean_db, "SELECT count(*) FROM carpool_bookings") == 1
    assert await heard(events, "SEAT_CANCELLED", timeout=0.5) == []
    anonymous = (await gql.data(CANCEL_SEAT, {"id": carpool["id"]}))["cancelSeat"]
    assert anonymous["code"] == "UNAUTHENTICATED"


async def test_the_driver_cancels_a_trip_and_each_passenger_is_notified_once(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, WEEKLY)
    petit = await member(gql, "Famille Petit", CHAVENAY)
    roux = await member(gql, "Famille Roux", CHAVENAY)
    await book(petit, carpool["id"], TUESDAY)
    await book(petit, carpool["id"], THURSDAY)
    await book(roux, carpool["id"], TUESDAY)
    await heard(events, "SEAT_BOOKED", 3)

    result = (await driver.data(CANCEL_CARPOOL, {"id": carpool["id"]}))["cancelCarpool"]

    assert result == {
        "__typename": "CancelCarpoolSuccess",
        "cancelledCarpoolId": carpool["id"],
        "passengersNotified": 2,
    }
    told = await heard(events, "SEAT_CANCELLED", 2)
    assert sorted(event["household_id"] for event in told) == sorted(
        [await household_id(clean_db, petit), await household_id(clean_db, roux)]
    )
    assert {event["message"] for event in told} == {
        f"Le covoiturage du {TUESDAY:%d/%m} est annulé par son conducteur."
    }
    assert await count(clean_db, "SELECT count(*) FROM carpools") == 0
    assert await count(clean_db, "SELECT count(*) FROM carpool_bookings") == 0


async def test_only_the_driver_cancels_a_trip(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, one_off(CHAVENAY, VERSAILLES))
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    await book(passenger, carpool["id"])

    refused = (await passenger.data(CANCEL_CARPOOL, {"id": carpool["id"]}))["cancelCarpool"]

    assert (refused["__typename"], refused["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert await count(clean_db, "SELECT count(*) FROM carpools") == 1
    assert await count(clean_db, "SELECT count(*) FROM carpool_bookings") == 1
    assert await heard(events, "SEAT_CANCELLED", timeout=0.5) == []


UPDATE_ITEM = """
mutation Update($id: ID!, $input: UpdateItemInput!) {
  updateItem(id: $id, input: $input) {
    __typename
    ... on UpdateItemSuccess {
      item { id title description category condition terms depositCents pricePerDayCents
             photoUrls available }
    }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
DELETE_ITEM = """
mutation Delete($id: ID!) {
  deleteItem(id: $id) {
    __typename
    ... on DeleteItemSuccess { deletedItemId borrowersNotified }
    ... on MutationError { code message }
  }
}
"""
BOOKED_DAYS = """
query Booked($id: ID!, $from: Date!, $to: Date!) {
  node(id: $id) { ... on Item { bookedDays(from: $from, to: $to) } }
}
"""
MY_ITEMS = """
query Mine($first: Int, $after: String) {
  me { household { items(first: $first, after: $after) {
    edges { cursor node { title available } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  } } }
}
"""
HOUSEHOLD_ITEMS = """
query Theirs($id: ID!) { node(id: $id) { ... on Household { items { edges { node { id } } } } } }
"""
ITEM_ROW = "SELECT title, terms, deposit_cents, updated_at FROM items WHERE id = :id"


async def item_row(engine: AsyncEngine, item_id: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(ITEM_ROW), {"id": node_id(item_id)})).one()
    return tuple(row)


async def test_the_lender_edits_every_detail_of_an_item(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender = await member(gql, "Famille Martin", CHAVENAY)
    item = await lend(lender, "Perceuse")
    changes = item_input(
        "Perceuse à percussion",
        description="Avec coffret et forets.",
        category="DIY",
        condition="FAIR",
        terms="DEPOSIT",
        depositCents=5_000,
        photoUrls=["HTTPS://photos.example.org/perceuse.jpg"],
    )

    result = (await lender.data(UPDATE_ITEM, {"id": item["id"], "input": changes}))["updateItem"]

    assert result == {
        "__typename": "UpdateItemSuccess",
        "item": {
            "id": item["id"],
            "title": "Perceuse à percussion",
            "description": "Avec coffret et forets.",
            "category": "DIY",
            "condition": "FAIR",
            "terms": "DEPOSIT",
            "depositCents": 5_000,
            "pricePerDayCents": None,
            "photoUrls": ["https://photos.example.org/perceuse.jpg"],
            "available": True,
        },
    }
    assert (await item_row(clean_db, item["id"]))[:3] == ("Perceuse à percussion", "DEPOSIT", 5_000)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "  "}, "title"),
        ({"terms": "DEPOSIT"}, "depositCents"),
        ({"terms": "FREE", "pricePerDayCents": 300}, "pricePerDayCents"),
        ({"photoUrls": ["javascript:alert(1)"]}, "photoUrls"),
    ],
)
async def test_an_edit_refused_like_a_creation_writes_nothing(
    gql: GraphQLClient, clean_db: AsyncEngine, overrides: dict[str, Any], field: str
) -> None:
    lender = await member(gql, "Famille Martin", CHAVENAY)
    item = await lend(lender, "Perceuse")
    before = await item_row(clean_db, item["id"])
    variables = {"id": item["id"], "input": {**item_input("Perceuse"), **overrides}}

    result = (await lender.data(UPDATE_ITEM, variables))["updateItem"]

    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "BAD_USER_INPUT",
        field,
    )
    assert await item_row(clean_db, item["id"]) == before


async def test_only_the_lender_edits_an_item(gql: GraphQLClient, clean_db: AsyncEngine) -> None:
    lender = await member(gql, "Famille Martin", CHAVENAY)
    item = await lend(lender, "Perceuse")
    before = await item_row(clean_db, item["id"])
    stranger = await member(gql, "Famille Roux", CHAVENAY)
    variables = {"id": item["id"], "input": item_input("À moi")}

    refused = (await stranger.data(UPDATE_ITEM, variables))["updateItem"]
    anonymous = (await gql.data(UPDATE_ITEM, variables))["updateItem"]
    missing = await lender.data(UPDATE_ITEM, {**variables, "id": "SXRlbTo5OTk5OTk="})

    assert (refused["__typename"], refused["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert anonymous["code"] == "UNAUTHENTICATED"
    assert missing["updateItem"]["code"] == "NOT_FOUND"  # Item:999999
    assert await item_row(clean_db, item["id"]) == before


async def test_withdrawing_an_item_tells_its_borrowers_their_loan_is_cancelled(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    lender = await member(gql, "Famille Martin", CHAVENAY)
    item = await lend(lender, "Perceuse")
    borrower = await member(gql, "Famille Durand", CHAVENAY)
    waiting = await member(gql, "Famille Roux", CHAVENAY)
    accepted = (await request(borrower, item["id"], 1, 3))["loan"]["id"]
    await request(waiting, item["id"], 5, 6)  # only requested: nothing promised
    assert (await act(lender, "acceptLoan", accepted))["__typename"] == "LoanChanged"
    await heard(events, "LOAN_ACCEPTED")
    stranger = await member(gql, "Famille Petit", CHAVENAY)

    refused = (await stranger.data(DELETE_ITEM, {"id": item["id"]}))["deleteItem"]
    assert refused["code"] == "FORBIDDEN"
    result = (await lender.data(DELETE_ITEM, {"id": item["id"]}))["deleteItem"]

    assert result == {
        "__typename": "DeleteItemSuccess",
        "deletedItemId": item["id"],
        "borrowersNotified": 1,
    }
    [event] = await heard(events, "LOAN_CANCELLED")
    assert event["household_id"] == await household_id(clean_db, borrower)
    assert (event["subject_type"], event["subject_id"]) == ("Loan", node_id(accepted))
    assert event["message"].startswith("« Perceuse » n'est plus prêté")
    assert await count(clean_db, "SELECT count(*) FROM items") == 0


async def test_booked_days_show_accepted_loans_only_and_no_borrower(
    gql: GraphQLClient, events: psycopg.AsyncConnection[Any]
) -> None:
    lender = await member(gql, "Famille Martin", CHAVENAY)
    item = await lend(lender, "Perceuse")
    borrower = await member(gql, "Famille Durand", CHAVENAY)
    other = await member(gql, "Famille Roux", CHAVENAY)
    accepted = (await request(borrower, item["id"], 2, 4))["loan"]["id"]
    await request(other, item["id"], 8, 9)  # requested, not booked
    await act(lender, "acceptLoan", accepted)

    async def booked(start: int, end: int) -> Any:
        body = await other.execute(
            BOOKED_DAYS, {"id": item["id"], "from": day(start), "to": day(end)}
        )
        return body

    assert (await booked(0, 10))["data"]["node"] == {"bookedDays": [day(2), day(3), day(4)]}
    assert (await booked(3, 3))["data"]["node"]["bookedDays"] == [day(3)]
    anonymous = await gql.data(BOOKED_DAYS, {"id": item["id"], "from": day(0), "to": day(1)})
    assert anonymous["node"]["bookedDays"] == []
    backwards = await booked(5, 1)
    assert backwards["errors"][0]["extensions"]["code"] == "INVALID_DATES"
    too_long = await booked(0, 400)
    assert too_long["errors"][0]["extensions"]["code"] == "INVALID_DATES"
    clash = await request(other, item["id"], 4, 5)
    assert (clash["__typename"], clash["code"]) == ("AlreadyBookedError", "ALREADY_BOOKED")


async def test_a_household_pages_through_its_own_items_and_nobody_else_sees_them(
    gql: GraphQLClient,
) -> None:
    lender = await member(gql, "Famille Martin", CHAVENAY)
    for title in ("Scie", "Perceuse", "Échelle"):
        await lend(lender, title)
    neighbour = await member(gql, "Famille Roux", CHAVENAY)

    first = (await lender.data(MY_ITEMS, {"first": 2}))["me"]["household"]["items"]
    after = first["pageInfo"]["endCursor"]
    rest = (await lender.data(MY_ITEMS, {"first": 2, "after": after}))["me"]["household"]["items"]

    assert [edge["node"]["title"] for edge in first["edges"]] == ["Échelle", "Perceuse"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["title"] for edge in rest["edges"]] == ["Scie"]
    assert rest["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["edges"][0]["cursor"],
    }
    lender_id = (await lender.data("{ me { household { id } } }"))["me"]["household"]["id"]
    theirs = await neighbour.data(HOUSEHOLD_ITEMS, {"id": lender_id})
    assert theirs["node"] == {"items": None}


async def test_a_households_items_cost_one_statement_per_page(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        lender = await member(client, "Famille Martin", CHAVENAY)
        household = await household_id(clean_db, lender)
        async with clean_db.begin() as conn:
            for n in range(40):
                await item_queries.create_item(
                    conn,
                    household,
                    title=f"Objet {n}",
                    description="",
                    category="TOOLS",
                    condition="GOOD",
                    terms="FREE",
                    deposit_cents=None,
                    price_per_day_cents=None,
                    photo_urls=[],
                )
        counts = {}
        for first in (2, 40):
            statements.clear()
            items = (await lender.data(MY_ITEMS, {"first": first}))["me"]["household"]["items"]
            assert len(items["edges"]) == first
            counts[first] = len(statements)

    assert counts[40] == counts[2], statements

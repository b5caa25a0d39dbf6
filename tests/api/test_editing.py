"""Editing and cancelling (issue #15), end to end through GraphQL on real PostGIS.

Each mutation: the owner can, a stranger cannot, the counterpart hears of it (the NOTIFY of
`notify_household`, LISTENed on the test database's events channel), and bad input writes
nothing (checked in the database).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
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
from tests.api.test_gardens import JOIN, garden
from tests.api.test_items import item_input, lend
from tests.api.test_loans import act, day, request
from tests.api.test_posts import COMMENT, network, post
from tests.api.test_skills import CHAVENAY_CHURCH, MAULE
from tests.api.test_skills import household as skill_household
from tests.api.test_skills import offer as offer_skill

pytestmark = pytest.mark.usefixtures("clean_db")

TOWN_HALL = {"lng": 1.98676, "lat": 48.8533}  # Mairie de Chavenay

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
    conn: psycopg.AsyncConnection[Any], kind: str | None, count: int = 1, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The next `count` household notifications of `kind` (None: any kind), in order; fewer
    when none came in time. Others are skipped."""
    received: list[dict[str, Any]] = []
    async for notice in conn.notifies(timeout=timeout):
        event = json.loads(notice.payload)
        if event["type"] == "household_notification" and kind in (None, event["kind"]):
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


UPDATE_GARDEN = """
mutation Update($id: ID!, $input: UpdateGardenInput!) {
  updateGarden(id: $id, input: $input) {
    __typename
    ... on UpdateGardenSuccess { garden { id name description plotsTotal plotsFree } }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
DELETE_GARDEN = """
mutation Delete($id: ID!) {
  deleteGarden(id: $id) {
    __typename
    ... on DeleteGardenSuccess { deletedGardenId householdsNotified }
    ... on MutationError { code message }
  }
}
"""
OFFER_PLOT = """
mutation Offer($id: ID!) {
  offerPlot(gardenId: $id) {
    __typename
    ... on OfferPlotSuccess { householdName garden { plotsFree waitlistLength } }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
WAITLIST = """
query Waitlist($id: ID!, $first: Int, $after: String) {
  node(id: $id) { ... on Garden { waitlist(first: $first, after: $after) {
    edges { cursor node { position householdName } }
    pageInfo { hasNextPage endCursor }
  } } }
}
"""
MY_GARDENS = """
query { myGardens(first: 10) { edges { node { name } } pageInfo { hasNextPage } } }
"""
MY_PLACES = """
query Places($first: Int, $after: String) {
  myWaitlistPlaces(first: $first, after: $after) {
    edges { cursor node { position garden { name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
GARDEN_ROW = "SELECT name, description, plots_total, plots_free FROM gardens WHERE id = :id"


async def garden_row(engine: AsyncEngine, garden_id: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(GARDEN_ROW), {"id": node_id(garden_id)})).one()
    return tuple(row)


def garden_changes(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Jardin des Sablons",
        "description": "Parcelles de 20 m².",
        "plotsTotal": 14,
        "plotsFree": 2,
        **overrides,
    }


async def queue(gql: GraphQLClient, garden_id: str, *names: str) -> list[GraphQLClient]:
    waiting = []
    for name in names:
        client = await member(gql, name, CHAVENAY)
        joined = (await client.data(JOIN, {"id": garden_id}))["joinGardenWaitlist"]
        assert joined["__typename"] == "JoinGardenWaitlistSuccess", joined
        waiting.append(client)
    return waiting


async def test_the_owner_edits_a_garden_and_others_cannot(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé", location=CHAVENAY)
    stranger = await member(gql, "Famille Roux", CHAVENAY)
    variables = {"id": created["id"], "input": garden_changes()}

    refused = (await stranger.data(UPDATE_GARDEN, variables))["updateGarden"]
    assert (refused["__typename"], refused["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert await garden_row(clean_db, created["id"]) == ("Jardin partagé", "", 12, 12)

    result = (await owner.data(UPDATE_GARDEN, variables))["updateGarden"]
    assert result == {
        "__typename": "UpdateGardenSuccess",
        "garden": {
            "id": created["id"],
            "name": "Jardin des Sablons",
            "description": "Parcelles de 20 m².",
            "plotsTotal": 14,
            "plotsFree": 2,
        },
    }
    assert await garden_row(clean_db, created["id"]) == (
        "Jardin des Sablons",
        "Parcelles de 20 m².",
        14,
        2,
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"plotsTotal": 0}, "plotsTotal"),
        ({"plotsFree": 15}, "plotsFree"),
        ({"description": "x" * 2001}, "description"),
    ],
)
async def test_a_garden_edit_refused_like_a_creation_writes_nothing(
    gql: GraphQLClient, clean_db: AsyncEngine, overrides: dict[str, Any], field: str
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé", location=CHAVENAY)
    variables = {"id": created["id"], "input": garden_changes(**overrides)}

    result = (await owner.data(UPDATE_GARDEN, variables))["updateGarden"]

    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "BAD_USER_INPUT",
        field,
    )
    assert await garden_row(clean_db, created["id"]) == ("Jardin partagé", "", 12, 12)


async def test_the_owner_reads_the_waiting_list_in_order_and_nobody_else_does(
    gql: GraphQLClient,
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé", location=CHAVENAY)
    durand, _, _ = await queue(
        gql, created["id"], "Famille Durand", "Famille Roux", "Famille Petit"
    )

    first = (await owner.data(WAITLIST, {"id": created["id"], "first": 2}))["node"]["waitlist"]
    cursor = first["pageInfo"]["endCursor"]
    rest = await owner.data(WAITLIST, {"id": created["id"], "first": 2, "after": cursor})

    assert [edge["node"] for edge in first["edges"]] == [
        {"position": 1, "householdName": "Famille Durand"},
        {"position": 2, "householdName": "Famille Roux"},
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"] for edge in rest["node"]["waitlist"]["edges"]] == [
        {"position": 3, "householdName": "Famille Petit"}
    ]
    assert (await durand.data(WAITLIST, {"id": created["id"]}))["node"] == {"waitlist": None}
    assert (await gql.data(WAITLIST, {"id": created["id"]}))["node"] == {"waitlist": None}


async def test_offering_a_plot_gives_it_to_the_first_in_line_and_tells_them(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé", location=CHAVENAY, plotsFree=1)
    durand, roux = await queue(gql, created["id"], "Famille Durand", "Famille Roux")

    refused = (await durand.data(OFFER_PLOT, {"id": created["id"]}))["offerPlot"]
    assert refused["code"] == "FORBIDDEN"
    result = (await owner.data(OFFER_PLOT, {"id": created["id"]}))["offerPlot"]

    assert result == {
        "__typename": "OfferPlotSuccess",
        "householdName": "Famille Durand",
        "garden": {"plotsFree": 0, "waitlistLength": 1},
    }
    [event] = await heard(events, "GARDEN_PLOT_OFFERED")
    assert event["household_id"] == await household_id(clean_db, durand)
    assert (event["subject_type"], event["subject_id"]) == ("Garden", node_id(created["id"]))
    assert event["message"] == "Une parcelle du jardin « Jardin partagé » vous est attribuée."
    mine = (await roux.data(MY_PLACES))["myWaitlistPlaces"]["edges"]
    assert [edge["node"]["position"] for edge in mine] == [1]

    no_plot = (await owner.data(OFFER_PLOT, {"id": created["id"]}))["offerPlot"]
    assert (no_plot["code"], no_plot["field"]) == ("BAD_USER_INPUT", "gardenId")
    assert await garden_row(clean_db, created["id"]) == ("Jardin partagé", "", 12, 0)
    assert await count(clean_db, "SELECT count(*) FROM garden_waitlist") == 1


async def test_withdrawing_a_garden_tells_everyone_waiting(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    created = await garden(owner, "Jardin partagé", location=CHAVENAY)
    waiting = await queue(gql, created["id"], "Famille Durand", "Famille Roux")

    refused = (await waiting[0].data(DELETE_GARDEN, {"id": created["id"]}))["deleteGarden"]
    assert refused["code"] == "FORBIDDEN"
    result = (await owner.data(DELETE_GARDEN, {"id": created["id"]}))["deleteGarden"]

    assert result == {
        "__typename": "DeleteGardenSuccess",
        "deletedGardenId": created["id"],
        "householdsNotified": 2,
    }
    told = await heard(events, "GARDEN_WITHDRAWN", 2)
    assert sorted(event["household_id"] for event in told) == sorted(
        [await household_id(clean_db, client) for client in waiting]
    )
    assert await count(clean_db, "SELECT count(*) FROM gardens") == 0
    assert await count(clean_db, "SELECT count(*) FROM garden_waitlist") == 0


async def test_my_gardens_and_my_waiting_places_list_the_households_own(
    gql: GraphQLClient,
) -> None:
    owner = await member(gql, "Association des jardins", CHAVENAY)
    first = await garden(owner, "Jardin du Bourg", location=CHAVENAY)
    second = await garden(owner, "Jardin du Moulin", location=CHAVENAY)
    [durand] = await queue(gql, first["id"], "Famille Durand")
    await durand.data(JOIN, {"id": second["id"]})
    await queue(gql, second["id"], "Famille Roux")

    mine = (await owner.data(MY_GARDENS))["myGardens"]
    places = (await durand.data(MY_PLACES, {"first": 1}))["myWaitlistPlaces"]
    cursor = places["pageInfo"]["endCursor"]
    more = (await durand.data(MY_PLACES, {"first": 1, "after": cursor}))["myWaitlistPlaces"]

    assert [edge["node"]["name"] for edge in mine["edges"]] == [
        "Jardin du Moulin",
        "Jardin du Bourg",
    ]
    assert [edge["node"] for edge in places["edges"] + more["edges"]] == [
        {"position": 1, "garden": {"name": "Jardin du Moulin"}},
        {"position": 1, "garden": {"name": "Jardin du Bourg"}},
    ]
    assert more["pageInfo"]["hasNextPage"] is False
    anonymous = await gql.execute(MY_GARDENS)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_garden_lists_cost_a_constant_number_of_statements(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        owner = await member(client, "Association des jardins", CHAVENAY)
        gardens = [await garden(owner, f"Jardin {n}", location=CHAVENAY) for n in range(6)]
        waiter = await member(client, "Famille Durand", CHAVENAY)
        for created in gardens:
            await waiter.data(JOIN, {"id": created["id"]})
        await queue(client, gardens[0]["id"], *(f"Famille {n}" for n in range(5)))
        counts: dict[str, list[int]] = {"gardens": [], "places": [], "waitlist": []}
        for first in (2, 6):
            statements.clear()
            await owner.data(
                "query($n: Int) { myGardens(first: $n) { edges { cursor } } }", {"n": first}
            )
            counts["gardens"].append(len(statements))
            statements.clear()
            await waiter.data(MY_PLACES, {"first": first})
            counts["places"].append(len(statements))
            statements.clear()
            await owner.data(WAITLIST, {"id": gardens[0]["id"], "first": first})
            counts["waitlist"].append(len(statements))

    assert all(small == large for small, large in counts.values()), counts


MY_CARPOOLS = """
query Mine($first: Int, $after: String) {
  myCarpools(first: $first, after: $after) {
    edges { role cursor node { id description passengers { localDate householdName } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
PASSENGERS = """
query Passengers($id: ID!) {
  node(id: $id) { ... on Carpool { passengers { localDate householdName } } }
}
"""


async def test_my_carpools_lists_driving_and_booked_trips_and_the_driver_sees_passengers(
    gql: GraphQLClient,
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    weekly = await offer(driver, {**WEEKLY, "description": "Chaque mardi et jeudi"})
    petit = await member(gql, "Famille Petit", CHAVENAY)
    roux = await member(gql, "Famille Roux", CHAVENAY)
    own = await offer(petit, one_off(CHAVENAY, VERSAILLES, description="Petit conduit"))
    await book(petit, weekly["id"], THURSDAY)
    await book(roux, weekly["id"], TUESDAY)
    await book(roux, own["id"])

    mine = (await petit.data(MY_CARPOOLS, {"first": 1}))["myCarpools"]
    more = await petit.data(MY_CARPOOLS, {"first": 1, "after": mine["pageInfo"]["endCursor"]})
    driving = (await driver.data(MY_CARPOOLS))["myCarpools"]["edges"]

    assert [(edge["role"], edge["node"]["description"]) for edge in mine["edges"]] == [
        ("DRIVER", "Petit conduit")
    ]
    assert mine["edges"][0]["node"]["passengers"] == [
        {"localDate": TUESDAY.isoformat(), "householdName": "Famille Roux"}
    ]
    [ridden] = more["myCarpools"]["edges"]
    assert (ridden["role"], ridden["node"]["passengers"]) == ("PASSENGER", None)
    assert more["myCarpools"]["pageInfo"]["hasNextPage"] is False
    assert [edge["role"] for edge in driving] == ["DRIVER"]
    assert driving[0]["node"]["passengers"] == [
        {"localDate": TUESDAY.isoformat(), "householdName": "Famille Roux"},
        {"localDate": THURSDAY.isoformat(), "householdName": "Famille Petit"},
    ]
    assert (await roux.data(PASSENGERS, {"id": weekly["id"]}))["node"] == {"passengers": None}
    assert (await driver.data(PASSENGERS, {"id": weekly["id"]}))["node"]["passengers"] == (
        driving[0]["node"]["passengers"]
    )


async def test_my_carpools_costs_a_constant_number_of_statements(
    settings: Settings,
) -> None:
    async with counting_client(settings) as (client, statements):
        driver = await member(client, "Famille Martin", CHAVENAY)
        passenger = await member(client, "Famille Petit", CHAVENAY)
        for n in range(6):
            trip = await offer(driver, {**WEEKLY, "description": f"Trajet {n}"})
            await book(passenger, trip["id"], TUESDAY)
        counts = []
        for first in (2, 6):
            statements.clear()
            edges = (await driver.data(MY_CARPOOLS, {"first": first}))["myCarpools"]["edges"]
            assert len(edges) == first
            assert all(len(edge["node"]["passengers"]) == 1 for edge in edges)
            counts.append(len(statements))

    assert counts[0] == counts[1], statements


UPDATE_POST = """
mutation UpdatePost($id: ID!, $input: UpdatePostInput!) {
  updatePost(id: $id, input: $input) {
    __typename
    ... on UpdatePostSuccess { post { id kind title body startsAt placeName placeLocation { lng lat } } }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
UPDATE_COMMENT = """
mutation UpdateComment($id: ID!, $body: String!) {
  updateComment(id: $id, body: $body) {
    __typename
    ... on UpdateCommentSuccess { comment { id body } }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
DELETE_COMMENT = """
mutation DeleteComment($id: ID!) {
  deleteComment(id: $id) {
    __typename
    ... on DeleteCommentSuccess { deletedCommentId }
    ... on MutationError { code message }
  }
}
"""
POST_ROW = """
SELECT title, body, place_name, ST_X(location), ST_Y(location), neighbourhood_id
FROM posts WHERE id = :id
"""
HOME = "SELECT ST_X(home_location), ST_Y(home_location) FROM households WHERE id = :id"


async def post_row(engine: AsyncEngine, post_id: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        return tuple((await conn.execute(text(POST_ROW), {"id": node_id(post_id)})).one())


@pytest.fixture
async def chavenay_network(gql: GraphQLClient) -> tuple[str, Any]:
    return await network(gql, "Chavenay", CHAVENAY)


async def test_the_author_edits_a_post_and_its_point_stays_public(
    gql: GraphQLClient, clean_db: AsyncEngine, chavenay_network: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    written = await post(martin, "Perceuse à prêter", body="Demandez !")
    before = await post_row(clean_db, written["id"])

    result = (
        await martin.data(
            UPDATE_POST,
            {"id": written["id"], "input": {"title": "Perceuse et forets", "body": "Libre."}},
        )
    )["updatePost"]

    assert result == {
        "__typename": "UpdatePostSuccess",
        "post": {
            "id": written["id"],
            "kind": "DISCUSSION",
            "title": "Perceuse et forets",
            "body": "Libre.",
            "startsAt": None,
            "placeName": None,
            "placeLocation": None,
        },
    }
    after = await post_row(clean_db, written["id"])
    assert after[:2] == ("Perceuse et forets", "Libre.")
    assert after[3:] == before[3:]  # the same public point, the same neighbourhood
    async with clean_db.connect() as conn:
        home = tuple(
            (await conn.execute(text(HOME), {"id": await household_id(clean_db, martin)})).one()
        )
    assert after[3:5] != home


async def test_an_event_edit_moves_its_place_and_is_checked_like_a_creation(
    gql: GraphQLClient, clean_db: AsyncEngine, chavenay_network: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    event = {
        "title": "Fête des voisins",
        "startsAt": starts.isoformat(),
        "placeName": "Salle des fêtes",
    }
    written = await post(martin, kind="EVENT", **event)
    before = await post_row(clean_db, written["id"])

    no_start = {**event, "startsAt": None}
    too_far = {**event, "startsAt": (starts + timedelta(days=400)).isoformat()}
    refused = [
        (await martin.data(UPDATE_POST, {"id": written["id"], "input": bad}))["updatePost"]
        for bad in (no_start, too_far, {**event, "title": ""})
    ]
    assert [(r["__typename"], r["code"], r["field"]) for r in refused] == [
        ("ValidationError", "BAD_USER_INPUT", "startsAt"),
        ("ValidationError", "DATE_TOO_FAR", "startsAt"),
        ("ValidationError", "BAD_USER_INPUT", "title"),
    ]
    assert await post_row(clean_db, written["id"]) == before

    moved = {**event, "placeName": "Mairie", "placeLocation": TOWN_HALL}
    result = (await martin.data(UPDATE_POST, {"id": written["id"], "input": moved}))["updatePost"]
    assert result["post"]["placeName"] == "Mairie"
    assert result["post"]["placeLocation"] == TOWN_HALL
    assert (await post_row(clean_db, written["id"]))[3:5] == (TOWN_HALL["lng"], TOWN_HALL["lat"])


async def test_only_the_author_edits_a_post(
    gql: GraphQLClient, clean_db: AsyncEngine, chavenay_network: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    written = await post(martin, "Perceuse à prêter")
    before = await post_row(clean_db, written["id"])
    roux = await member(gql, "Famille Roux", CHAVENAY)
    variables = {"id": written["id"], "input": {"title": "À moi"}}

    refused = (await roux.data(UPDATE_POST, variables))["updatePost"]
    anonymous = (await gql.data(UPDATE_POST, variables))["updatePost"]
    _, ambassador = chavenay_network
    moderator = (await ambassador.data(UPDATE_POST, variables))["updatePost"]

    assert (refused["__typename"], refused["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert anonymous["code"] == "UNAUTHENTICATED"
    assert moderator["code"] == "FORBIDDEN"  # moderators hide, they do not rewrite
    assert await post_row(clean_db, written["id"]) == before


async def test_the_author_edits_and_deletes_a_comment_and_others_cannot(
    gql: GraphQLClient, clean_db: AsyncEngine, chavenay_network: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    written = await post(martin, "Perceuse à prêter")
    roux = await member(gql, "Famille Roux", CHAVENAY)
    added = (await roux.data(COMMENT, {"postId": written["id"], "body": "Merci !"}))["addComment"]
    comment_id = added["comment"]["id"]

    by_martin = await martin.data(UPDATE_COMMENT, {"id": comment_id, "body": "Non"})
    blank = (await roux.data(UPDATE_COMMENT, {"id": comment_id, "body": "  "}))["updateComment"]
    deleted_by_martin = (await martin.data(DELETE_COMMENT, {"id": comment_id}))["deleteComment"]
    assert by_martin["updateComment"]["code"] == "FORBIDDEN"
    assert (blank["code"], blank["field"]) == ("BAD_USER_INPUT", "body")
    assert deleted_by_martin["code"] == "FORBIDDEN"
    assert await count(clean_db, "SELECT count(*) FROM comments WHERE body = 'Merci !'") == 1

    edited = await roux.data(UPDATE_COMMENT, {"id": comment_id, "body": "Merci, à samedi !"})
    assert edited["updateComment"] == {
        "__typename": "UpdateCommentSuccess",
        "comment": {"id": comment_id, "body": "Merci, à samedi !"},
    }
    deleted = (await roux.data(DELETE_COMMENT, {"id": comment_id}))["deleteComment"]
    assert deleted == {"__typename": "DeleteCommentSuccess", "deletedCommentId": comment_id}
    assert await count(clean_db, "SELECT count(*) FROM comments") == 0
    again = (await roux.data(DELETE_COMMENT, {"id": comment_id}))["deleteComment"]
    assert (again["__typename"], again["code"]) == ("NotFoundError", "NOT_FOUND")


UPDATE_SKILL = """
mutation UpdateSkill($id: ID!, $input: UpdateSkillInput!) {
  updateSkill(id: $id, input: $input) {
    __typename
    ... on UpdateSkillSuccess { skill { id title description tags } }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
SKILL_ROW = "SELECT title, description, tags FROM skills WHERE id = :id"


async def skill_row(engine: AsyncEngine, skill_id: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        return tuple((await conn.execute(text(SKILL_ROW), {"id": node_id(skill_id)})).one())


async def test_the_offering_household_edits_its_skill_and_others_cannot(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    owner, _ = await skill_household(gql, "Famille Martin", CHAVENAY)
    neighbour, _ = await skill_household(gql, "Famille Durand", CHAVENAY_CHURCH)
    stranger, _ = await skill_household(gql, "Famille Leroy", MAULE)
    skill_id = (await offer_skill(owner, "Couture", tags=["fil"]))["skill"]["id"]
    changes = {
        "title": "Couture et retouches",
        "description": "Le samedi.",
        "tags": ["#Fil", "ourlet"],
    }

    by_neighbour = await neighbour.data(UPDATE_SKILL, {"id": skill_id, "input": changes})
    by_stranger = await stranger.data(UPDATE_SKILL, {"id": skill_id, "input": changes})
    bad = [
        (await owner.data(UPDATE_SKILL, {"id": skill_id, "input": {**changes, **wrong}}))[
            "updateSkill"
        ]
        for wrong in ({"title": " "}, {"tags": ["a, b"]}, {"description": "x" * 2001})
    ]

    assert by_neighbour["updateSkill"]["code"] == "FORBIDDEN"
    assert by_stranger["updateSkill"]["code"] == "NOT_FOUND"
    assert [(r["code"], r["field"]) for r in bad] == [
        ("BAD_USER_INPUT", "title"),
        ("BAD_USER_INPUT", "tags"),
        ("BAD_USER_INPUT", "description"),
    ]
    assert await skill_row(clean_db, skill_id) == ("Couture", "", ["fil"])

    result = (await owner.data(UPDATE_SKILL, {"id": skill_id, "input": changes}))["updateSkill"]
    assert result == {
        "__typename": "UpdateSkillSuccess",
        "skill": {
            "id": skill_id,
            "title": "Couture et retouches",
            "description": "Le samedi.",
            "tags": ["fil", "ourlet"],
        },
    }
    assert await skill_row(clean_db, skill_id) == (
        "Couture et retouches",
        "Le samedi.",
        ["fil", "ourlet"],
    )


UPDATE_CARPOOL = """
mutation UpdateCarpool($id: ID!, $input: UpdateCarpoolInput!) {
  updateCarpool(id: $id, input: $input) {
    __typename
    ... on UpdateCarpoolSuccess {
      passengersNotified seatsCancelled
      carpool { id weekdays departureTime seatsTotal description }
    }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
CARPOOL_ROW = """
SELECT weekdays, departure_time, seats_total, description, ST_AsText(public_origin)
FROM carpools WHERE id = :id
"""


async def carpool_row(engine: AsyncEngine, carpool_id: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        return tuple((await conn.execute(text(CARPOOL_ROW), {"id": node_id(carpool_id)})).one())


async def test_the_driver_changes_a_trip_and_its_passengers_are_told(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, WEEKLY)
    petit = await member(gql, "Famille Petit", CHAVENAY)
    roux = await member(gql, "Famille Roux", CHAVENAY)
    await book(petit, carpool["id"], TUESDAY)
    await book(roux, carpool["id"], THURSDAY)
    await heard(events, "SEAT_BOOKED", 2)
    before = await carpool_row(clean_db, carpool["id"])
    tuesdays = {**WEEKLY, "weekdays": [2], "departureTime": "08:15:00", "description": "8 h 15"}

    result = (await driver.data(UPDATE_CARPOOL, {"id": carpool["id"], "input": tuesdays}))[
        "updateCarpool"
    ]

    assert result == {
        "__typename": "UpdateCarpoolSuccess",
        "passengersNotified": 1,
        "seatsCancelled": 1,
        "carpool": {
            "id": carpool["id"],
            "weekdays": [2],
            "departureTime": "08:15:00",
            "seatsTotal": 2,
            "description": "8 h 15",
        },
    }
    told = await heard(events, None, 2)
    assert [(event["kind"], event["household_id"]) for event in told] == [
        ("CARPOOL_CHANGED", await household_id(clean_db, petit)),
        ("SEAT_CANCELLED", await household_id(clean_db, roux)),
    ]
    after = await carpool_row(clean_db, carpool["id"])
    assert after[4] == before[4]  # same ends: the public places are not drawn again
    assert await count(clean_db, "SELECT count(*) FROM carpool_bookings") == 1


async def test_a_trip_edit_refused_writes_nothing(
    gql: GraphQLClient, clean_db: AsyncEngine, events: psycopg.AsyncConnection[Any]
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, WEEKLY)
    petit = await member(gql, "Famille Petit", CHAVENAY)
    roux = await member(gql, "Famille Roux", CHAVENAY)
    await book(petit, carpool["id"], TUESDAY)
    await book(roux, carpool["id"], TUESDAY)
    before = await carpool_row(clean_db, carpool["id"])

    cases = [
        (driver, {**WEEKLY, "seatsTotal": 1}, "seatsTotal"),  # two already booked on Tuesday
        (driver, {**WEEKLY, "seatsTotal": 9}, "seatsTotal"),
        (driver, {**WEEKLY, "weekdays": [8]}, "weekdays"),
        (driver, {**WEEKLY, "destination": CHAVENAY}, "destination"),
    ]
    for client, trip, field in cases:
        refused = (await client.data(UPDATE_CARPOOL, {"id": carpool["id"], "input": trip}))[
            "updateCarpool"
        ]
        assert (refused["__typename"], refused["field"]) == ("ValidationError", field), refused
    stranger = await petit.data(UPDATE_CARPOOL, {"id": carpool["id"], "input": WEEKLY})
    assert stranger["updateCarpool"]["code"] == "FORBIDDEN"

    assert await carpool_row(clean_db, carpool["id"]) == before
    assert await count(clean_db, "SELECT count(*) FROM carpool_bookings") == 2
    assert await heard(events, "CARPOOL_CHANGED", timeout=0.5) == []

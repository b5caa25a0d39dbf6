"""An exact place is shown to the one counterpart of a booking only when it is needed: from
2 days (`api.horizons.EXACT_PLACE_LEAD`) before the loan starts or the trip leaves.

The attack this closes: a loan asked for far ahead (it was 9999-12-31) and accepted showed the
borrower the lender's home at once; a seat booked months ahead showed the meeting place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from api.horizons import EXACT_PLACE_LEAD, PARIS
from tests.api.conftest import GraphQLClient
from tests.api.helpers import member
from tests.api.test_carpools import CREATE as CREATE_CARPOOL
from tests.api.test_carpools import TOWN_HALL, VERSAILLES
from tests.api.test_loans import (
    BORROWER_HOME,
    LENDER_HOME,
    REQUEST,
    SECRETS,
    act,
    day,
    household,
    lend,
)

pytestmark = pytest.mark.usefixtures("clean_db")

LOAN_NODE = """
query($id: ID!) {
  node(id: $id) { ... on Loan { state pickupLocation { lng lat } pickupLocationAvailableFrom } }
}
"""
CARPOOL_NODE = """
query($id: ID!) {
  node(id: $id) {
    ... on Carpool { pickupPoint { lng lat } dropOffPoint { lng lat } route
                     exactPlacesAvailableFrom myBookedDates }
  }
}
"""
BOOK = """
mutation($id: ID!) {
  bookSeat(carpoolId: $id) {
    __typename
    ... on BookSeatSuccess { carpool { pickupPoint { lng lat } exactPlacesAvailableFrom } }
    ... on MutationError { code message }
  }
}
"""


async def accepted_loan(
    gql: GraphQLClient, starts: int
) -> tuple[GraphQLClient, GraphQLClient, str]:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    variables = {"item": await lend(lender), "startsOn": day(starts), "endsOn": day(starts + 2)}
    result = (await borrower.data(REQUEST, variables))["requestLoan"]
    assert result["__typename"] == "LoanChanged", result
    loan_id: str = result["loan"]["id"]
    assert (await act(lender, "acceptLoan", loan_id))["loan"]["state"] == "ACCEPTED"
    return lender, borrower, loan_id


async def test_an_accepted_loan_months_ahead_hides_the_lenders_home_until_two_days_before(
    gql: GraphQLClient,
) -> None:
    lender, borrower, loan_id = await accepted_loan(gql, starts=90)
    response = await borrower.http.post(
        "/graphql",
        json={"query": LOAN_NODE, "variables": {"id": loan_id}},
        headers=borrower.headers,
    )
    seen = response.json()["data"]["node"]
    assert seen["state"] == "ACCEPTED" and seen["pickupLocation"] is None
    assert not any(secret in response.text for secret in SECRETS)
    shown_from = datetime.fromisoformat(seen["pickupLocationAvailableFrom"])
    starts = datetime.fromisoformat(day(90)).replace(tzinfo=PARIS)
    assert shown_from == starts - EXACT_PLACE_LEAD
    lender_view = (await lender.data(LOAN_NODE, {"id": loan_id}))["node"]
    assert lender_view["pickupLocation"] == LENDER_HOME  # the lender's own home
    assert lender_view["pickupLocationAvailableFrom"] is None


async def test_an_accepted_loan_starting_tomorrow_shows_the_home_to_the_borrower_only(
    gql: GraphQLClient,
) -> None:
    _lender, borrower, loan_id = await accepted_loan(gql, starts=1)
    seen = (await borrower.data(LOAN_NODE, {"id": loan_id}))["node"]
    assert seen["pickupLocation"] == LENDER_HOME
    assert datetime.fromisoformat(seen["pickupLocationAvailableFrom"]) <= datetime.now(PARIS)
    stranger = await member(gql, "Famille Curieuse", BORROWER_HOME)
    assert (await stranger.data(LOAN_NODE, {"id": loan_id}))["node"] is None


async def offer_and_book(gql: GraphQLClient, departs_at: datetime) -> tuple[str, dict[str, Any]]:
    driver = await member(gql, "Mairie de Chavenay", TOWN_HALL)
    trip = {
        "origin": TOWN_HALL,
        "destination": VERSAILLES,
        "departsAt": departs_at.isoformat(),
        "seatsTotal": 2,
    }
    created = (await driver.data(CREATE_CARPOOL, {"input": trip}))["createCarpool"]
    carpool_id: str = created["carpool"]["id"]
    passenger = await member(gql, "Famille Petit", BORROWER_HOME)
    booked = (await passenger.data(BOOK, {"id": carpool_id}))["bookSeat"]
    assert booked["__typename"] == "BookSeatSuccess", booked
    shown = (await passenger.data(CARPOOL_NODE, {"id": carpool_id}))["node"]
    stranger = await member(gql, "Famille Curieuse", BORROWER_HOME)
    hidden = (await stranger.data(CARPOOL_NODE, {"id": carpool_id}))["node"]
    assert hidden["pickupPoint"] is None and hidden["exactPlacesAvailableFrom"] is None
    return carpool_id, {"booked": booked, "shown": shown}


async def test_a_seat_booked_months_ahead_hides_the_meeting_place_until_two_days_before(
    gql: GraphQLClient,
) -> None:
    departs_at = (datetime.now(PARIS) + timedelta(days=60)).replace(microsecond=0)
    _, seen = await offer_and_book(gql, departs_at)
    assert seen["booked"]["carpool"]["pickupPoint"] is None
    shown = seen["shown"]
    assert (shown["pickupPoint"], shown["dropOffPoint"], shown["route"]) == (None, None, None)
    assert (
        datetime.fromisoformat(shown["exactPlacesAvailableFrom"]) == departs_at - EXACT_PLACE_LEAD
    )


async def test_a_seat_booked_for_tomorrow_shows_the_meeting_place_to_the_passenger(
    gql: GraphQLClient,
) -> None:
    departs_at = (datetime.now(PARIS) + timedelta(days=1)).replace(microsecond=0)
    _, seen = await offer_and_book(gql, departs_at)
    assert seen["booked"]["carpool"]["pickupPoint"] == TOWN_HALL
    assert seen["shown"]["pickupPoint"] == TOWN_HALL
    assert seen["shown"]["dropOffPoint"] == VERSAILLES

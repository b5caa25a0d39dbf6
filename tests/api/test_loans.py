"""Loans between neighbours through the real GraphQL endpoint, on real PostGIS, in Chavenay.

The lender lives at an asymmetric, distinctive point of Chavenay so that its exact home can be
looked for in raw response bodies: it must appear only where `pickupLocation` is allowed.
"""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import date, timedelta
from typing import Any

import graphql
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.schema import export_sdl
from api.settings import PROJECT_ROOT, Settings
from db.queries import loans as loan_queries
from db.queries.loans import LoanRow, Refusal, Refused, today_in_france
from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.api.helpers import counting_client, member

pytestmark = pytest.mark.usefixtures("clean_db")

LENDER_HOME = {"lng": 1.98731, "lat": 48.85417}  # Chavenay, near the church
BORROWER_HOME = {"lng": 1.99, "lat": 48.85}  # Chavenay
NEIGHBOUR_HOME = {"lng": 1.9921, "lat": 48.8513}  # Chavenay
SECRETS = ("1.98731", "48.85417")  # the lender's exact home, as it would appear in JSON

CREATE_ITEM = """
mutation Create($title: String!) {
  createItem(input: {title: $title, category: TOOLS, condition: GOOD, terms: FREE}) {
    ... on CreateItemSuccess { item { id } }
  }
}
"""

LOAN = """
  id state startsOn endsOn message overdue cancelledBy viewerRole
  item { title }
  lender { name }
  borrower { name neighbourhood { kind } }
  pickupLocation { lng lat }
"""

REQUEST_RESULT = f"""
  __typename
  ... on LoanChanged {{ loan {{ {LOAN} }} }}
  ... on MutationError {{ code message }}
  ... on ValidationError {{ field }}
"""
RESULT = f"""
  {REQUEST_RESULT}
  ... on InvalidLoanTransitionError {{ state }}
"""

REQUEST = f"""
mutation Request($item: ID!, $startsOn: Date!, $endsOn: Date!, $message: String! = "") {{
  requestLoan(itemId: $item, startsOn: $startsOn, endsOn: $endsOn, message: $message) {{
    {REQUEST_RESULT}
  }}
}}
"""

ACTIONS = (
    "acceptLoan",
    "declineLoan",
    "cancelLoan",
    "markLoanHandedOver",
    "confirmLoanReturned",
)


def action_document(action: str) -> str:
    return f"mutation Act($id: ID!) {{ {action}(id: $id) {{ {RESULT} }} }}"


NODE = f"query Node($id: ID!) {{ node(id: $id) {{ ... on Loan {{ {LOAN} }} }} }}"

MY_LOANS = """
query Mine($role: LoanRole, $states: [LoanState!], $first: Int, $after: String) {
  myLoans(role: $role, states: $states, first: $first, after: $after) {
    edges { cursor node { id state startsOn viewerRole } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


def day(offset: int) -> str:
    """An ISO date `offset` days from today in Paris."""
    return (today_in_france() + timedelta(days=offset)).isoformat()


def loan_pk(global_id: str) -> int:
    type_name, _, node_id = base64.b64decode(global_id).decode().partition(":")
    assert type_name == "Loan"
    return int(node_id)


async def household(
    gql: GraphQLClient, name: str, home: dict[str, float] = NEIGHBOUR_HOME
) -> GraphQLClient:
    """A newly signed-up account whose household is registered at `home`."""
    return await member(gql, name, home)


async def lend(client: GraphQLClient, title: str = "Perceuse à percussion") -> str:
    data = await client.data(CREATE_ITEM, {"title": title})
    item_id: str = data["createItem"]["item"]["id"]
    return item_id


async def request(
    client: GraphQLClient, item_id: str, starts: int = 1, ends: int = 3, message: str = ""
) -> dict[str, Any]:
    variables = {"item": item_id, "startsOn": day(starts), "endsOn": day(ends), "message": message}
    result: dict[str, Any] = (await client.data(REQUEST, variables))["requestLoan"]
    return result


async def act(client: GraphQLClient, action: str, loan_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(action_document(action), {"id": loan_id}))[action]
    return result


async def requested(gql: GraphQLClient) -> tuple[GraphQLClient, GraphQLClient, str]:
    """(lender, borrower, loan id) with one REQUESTED loan of a drill, days +1 to +3."""
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    item_id = await lend(lender)
    result = await request(borrower, item_id, message="Pour monter une étagère, merci !")
    assert result["__typename"] == "LoanChanged", result
    return lender, borrower, result["loan"]["id"]


async def loan_state(engine: AsyncEngine, loan_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT state, accepted_at, updated_at, cancelled_by FROM loans WHERE id = :id"
                ),
                {"id": loan_pk(loan_id)},
            )
        ).one()
    return dict(row._mapping)


# The whole path


async def test_loan_goes_from_request_to_return_confirmed_by_both_households(
    gql: GraphQLClient,
) -> None:
    lender, borrower, loan_id = await requested(gql)

    seen = (await borrower.data(NODE, {"id": loan_id}))["node"]
    assert seen["state"] == "REQUESTED"
    assert seen["message"] == "Pour monter une étagère, merci !"
    assert seen["item"] == {"title": "Perceuse à percussion"}
    assert seen["lender"] == {"name": "Famille Martin"}
    assert seen["borrower"]["name"] == "Famille Durand"
    assert seen["viewerRole"] == "BORROWER"
    assert (seen["startsOn"], seen["endsOn"]) == (day(1), day(3))
    assert seen["pickupLocation"] is None
    assert seen["overdue"] is False

    accepted = await act(lender, "acceptLoan", loan_id)
    assert accepted["loan"]["state"] == "ACCEPTED"
    assert accepted["loan"]["viewerRole"] == "LENDER"

    handed = await act(lender, "markLoanHandedOver", loan_id)
    assert handed["loan"]["state"] == "HANDED_OVER"

    first = await act(borrower, "confirmLoanReturned", loan_id)
    assert first["__typename"] == "LoanChanged"
    assert first["loan"]["state"] == "HANDED_OVER"  # the lender has not confirmed yet
    confirmed = await borrower.data(
        "query ($id: ID!) { node(id: $id) { ... on Loan { borrowerConfirmedReturnAt "
        "lenderConfirmedReturnAt handedOverAt acceptedAt requestedAt } } }",
        {"id": loan_id},
    )
    stamps = confirmed["node"]
    assert stamps["borrowerConfirmedReturnAt"] is not None
    assert stamps["lenderConfirmedReturnAt"] is None
    assert stamps["requestedAt"] <= stamps["acceptedAt"] <= stamps["handedOverAt"]

    second = await act(lender, "confirmLoanReturned", loan_id)
    assert second["loan"]["state"] == "RETURNED"
    assert second["loan"]["overdue"] is False


async def test_lender_may_confirm_the_return_first(gql: GraphQLClient) -> None:
    lender, borrower, loan_id = await requested(gql)
    await act(lender, "acceptLoan", loan_id)
    await act(lender, "markLoanHandedOver", loan_id)
    assert (await act(lender, "confirmLoanReturned", loan_id))["loan"]["state"] == "HANDED_OVER"
    assert (await act(borrower, "confirmLoanReturned", loan_id))["loan"]["state"] == "RETURNED"


async def test_either_household_may_cancel_before_the_hand_over(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender, borrower, loan_id = await requested(gql)
    cancelled = await act(borrower, "cancelLoan", loan_id)
    assert cancelled["loan"]["state"] == "CANCELLED"
    assert cancelled["loan"]["cancelledBy"] == "BORROWER"

    listed = await lender.data("{ myLoans { edges { node { id } } } }")  # the lender's too
    assert listed["myLoans"]["edges"][0]["node"]["id"] == loan_id

    other = await request(borrower, await lend(lender, "Échelle"), starts=5, ends=6)
    await act(lender, "acceptLoan", other["loan"]["id"])
    by_lender = await act(lender, "cancelLoan", other["loan"]["id"])
    assert by_lender["loan"]["cancelledBy"] == "LENDER"
    assert (await loan_state(clean_db, other["loan"]["id"]))["cancelled_by"] == "LENDER"


# The state machine


ALLOWED = {
    "acceptLoan": {"REQUESTED"},
    "declineLoan": {"REQUESTED"},
    "cancelLoan": {"REQUESTED", "ACCEPTED"},
    "markLoanHandedOver": {"ACCEPTED"},
    "confirmLoanReturned": {"HANDED_OVER"},
}
PATHS = {
    "REQUESTED": (),
    "ACCEPTED": ("acceptLoan",),
    "DECLINED": ("declineLoan",),
    "CANCELLED": ("cancelLoan",),
    "HANDED_OVER": ("acceptLoan", "markLoanHandedOver"),
    "RETURNED": ("acceptLoan", "markLoanHandedOver", "confirmLoanReturned", "confirmLoanReturned"),
}


async def test_every_transition_from_a_state_that_does_not_allow_it_is_refused(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    loans: dict[str, str] = {}
    for state, path in PATHS.items():
        loan_id = (await request(borrower, await lend(lender, f"Objet {state}")))["loan"]["id"]
        for index, action in enumerate(path):
            # The return is confirmed by the borrower, then by the lender.
            client = borrower if action == "confirmLoanReturned" and index == 2 else lender
            assert (await act(client, action, loan_id))["__typename"] == "LoanChanged"
        loans[state] = loan_id

    refused = 0
    for state, loan_id in loans.items():
        before = await loan_state(clean_db, loan_id)
        assert before["state"] == state
        for action, allowed in ALLOWED.items():
            if state in allowed:
                continue
            result = await act(lender, action, loan_id)
            assert result["__typename"] == "InvalidLoanTransitionError", (state, action, result)
            assert result["code"] == "INVALID_TRANSITION"
            assert result["state"] == state
            refused += 1
        assert await loan_state(clean_db, loan_id) == before  # not even updated_at moved
    assert refused == 24


@pytest.mark.parametrize("action", ["acceptLoan", "declineLoan", "markLoanHandedOver"])
async def test_the_borrower_may_not_do_what_only_the_lender_does(
    gql: GraphQLClient, clean_db: AsyncEngine, action: str
) -> None:
    lender, borrower, loan_id = await requested(gql)
    if action == "markLoanHandedOver":
        await act(lender, "acceptLoan", loan_id)
    before = await loan_state(clean_db, loan_id)
    result = await act(borrower, action, loan_id)
    assert result["__typename"] == "ForbiddenError"
    assert result["code"] == "FORBIDDEN"
    assert "lender" in result["message"]
    assert await loan_state(clean_db, loan_id) == before


async def test_a_household_confirms_a_return_only_once(gql: GraphQLClient) -> None:
    lender, borrower, loan_id = await requested(gql)
    await act(lender, "acceptLoan", loan_id)
    await act(lender, "markLoanHandedOver", loan_id)
    await act(borrower, "confirmLoanReturned", loan_id)
    again = await act(borrower, "confirmLoanReturned", loan_id)
    assert again["__typename"] == "InvalidLoanTransitionError"
    assert again["state"] == "HANDED_OVER"
    assert "other household" in again["message"]


# No double booking


async def test_concurrent_accepts_of_overlapping_requests_book_the_item_once(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    first = await household(gql, "Famille Durand", BORROWER_HOME)
    second = await household(gql, "Famille Petit")
    item_id = await lend(lender, "Remorque")
    one = (await request(first, item_id, starts=2, ends=5))["loan"]["id"]
    two = (await request(second, item_id, starts=4, ends=8))["loan"]["id"]  # overlaps on 4, 5
    before = {loan_id: await loan_state(clean_db, loan_id) for loan_id in (one, two)}

    results = await asyncio.gather(act(lender, "acceptLoan", one), act(lender, "acceptLoan", two))

    kinds = sorted(result["__typename"] for result in results)
    assert kinds == ["AlreadyBookedError", "LoanChanged"]
    winner, loser = (one, two) if results[0]["__typename"] == "LoanChanged" else (two, one)
    refusal = next(result for result in results if result["__typename"] == "AlreadyBookedError")
    assert refusal["code"] == "ALREADY_BOOKED"
    assert (await loan_state(clean_db, winner))["state"] == "ACCEPTED"
    assert await loan_state(clean_db, loser) == before[loser]  # untouched, still REQUESTED


async def test_an_uncommitted_acceptance_makes_an_overlapping_one_wait_then_fail(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """The race decided in the database itself, with the first acceptance held open."""
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    first = await household(gql, "Famille Durand", BORROWER_HOME)
    second = await household(gql, "Famille Petit")
    item_id = await lend(lender, "Remorque")
    one = loan_pk((await request(first, item_id, starts=2, ends=5))["loan"]["id"])
    two = loan_pk((await request(second, item_id, starts=5, ends=6))["loan"]["id"])
    async with clean_db.connect() as conn:
        lender_id = (
            await conn.execute(
                text("SELECT lender_household_id FROM loans WHERE id = :id"), {"id": one}
            )
        ).scalar_one()

    async def accept(loan_id: int) -> LoanRow | Refused:
        async with clean_db.begin() as conn:
            return await loan_queries.transition_loan(
                conn, loan_id, loan_queries.ACCEPT, household_id=lender_id
            )

    async with clean_db.begin() as held:
        assert isinstance(
            await loan_queries.transition_loan(
                held, one, loan_queries.ACCEPT, household_id=lender_id
            ),
            LoanRow,
        )
        waiting = asyncio.ensure_future(accept(two))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked on the exclusion constraint's index entry
    outcome = await waiting
    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.ALREADY_BOOKED
    assert outcome.loan is not None and outcome.loan.state == "REQUESTED"


async def test_requests_may_overlap_but_not_booked_days_including_the_last_one(
    gql: GraphQLClient,
) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    neighbour = await household(gql, "Famille Petit")
    item_id = await lend(lender, "Tondeuse")
    one = await request(borrower, item_id, starts=3, ends=6)
    overlapping = await request(neighbour, item_id, starts=5, ends=9)
    assert overlapping["__typename"] == "LoanChanged"  # requests may overlap

    await act(lender, "acceptLoan", one["loan"]["id"])

    on_last_day = await request(neighbour, item_id, starts=6, ends=7)  # day +6 is booked
    assert on_last_day["__typename"] == "AlreadyBookedError"
    assert on_last_day["code"] == "ALREADY_BOOKED"
    after = await request(neighbour, item_id, starts=7, ends=8)
    assert after["__typename"] == "LoanChanged"
    assert (await act(lender, "acceptLoan", after["loan"]["id"]))["loan"]["state"] == "ACCEPTED"
    late = await act(lender, "acceptLoan", overlapping["loan"]["id"])
    assert late["__typename"] == "AlreadyBookedError"


async def test_cancelled_and_returned_loans_free_their_days(gql: GraphQLClient) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    item_id = await lend(lender, "Tondeuse")
    one = (await request(borrower, item_id, starts=1, ends=4))["loan"]["id"]
    await act(lender, "acceptLoan", one)
    await act(borrower, "cancelLoan", one)
    two = (await request(borrower, item_id, starts=1, ends=4))["loan"]["id"]
    await act(lender, "acceptLoan", two)
    await act(lender, "markLoanHandedOver", two)
    await act(borrower, "confirmLoanReturned", two)
    await act(lender, "confirmLoanReturned", two)  # returned early
    three = await request(borrower, item_id, starts=2, ends=4)
    assert (await act(lender, "acceptLoan", three["loan"]["id"]))["loan"]["state"] == "ACCEPTED"


# Requests refused


async def test_requests_are_validated_and_nothing_is_written(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    item_id = await lend(lender)
    cases = [
        (lender, item_id, 1, 2, "OWN_ITEM", "itemId"),
        (borrower, item_id, -1, 2, "INVALID_DATES", "startsOn"),
        (borrower, item_id, 3, 2, "INVALID_DATES", "endsOn"),
        (borrower, item_id, 1, 61, "INVALID_DATES", "endsOn"),  # 61 days
        (borrower, base64.b64encode(b"Neighbourhood:1").decode(), 1, 2, "INVALID_ID", "itemId"),
    ]
    for client, item, starts, ends, code, field in cases:
        result = await request(client, item, starts, ends)
        assert result["__typename"] == "ValidationError", result
        assert (result["code"], result["field"]) == (code, field)
    assert (await request(borrower, item_id, 0, 59))["__typename"] == "LoanChanged"  # 60 days
    unknown = await request(borrower, base64.b64encode(b"Item:999999").decode())
    assert unknown["__typename"] == "NotFoundError"
    async with clean_db.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM loans"))).scalar_one()
    assert count == 1


async def test_an_unavailable_item_cannot_be_requested(gql: GraphQLClient) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    item_id = await lend(lender)
    await lender.data(
        "mutation ($id: ID!) { updateItemAvailability(id: $id, available: false) { __typename } }",
        {"id": item_id},
    )
    result = await request(borrower, item_id)
    assert (result["__typename"], result["code"]) == ("ValidationError", "ITEM_UNAVAILABLE")


async def test_requesting_needs_an_account_and_a_household(gql: GraphQLClient) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    item_id = await lend(lender)
    anonymous = await request(gql, item_id)
    assert (anonymous["__typename"], anonymous["code"]) == (
        "UnauthenticatedError",
        "UNAUTHENTICATED",
    )
    homeless = await request(await gql.sign_up(), item_id)
    assert (homeless["__typename"], homeless["code"]) == ("ForbiddenError", "FORBIDDEN")


# Privacy


async def test_pickup_location_is_the_lenders_home_for_the_borrower_only_once_accepted(
    gql: GraphQLClient,
) -> None:
    lender, borrower, loan_id = await requested(gql)
    before = await borrower.execute(NODE, {"id": loan_id})
    assert before["data"]["node"]["pickupLocation"] is None
    assert not any(secret in str(before) for secret in SECRETS)

    await act(lender, "acceptLoan", loan_id)
    after = (await borrower.data(NODE, {"id": loan_id}))["node"]
    assert after["pickupLocation"] == LENDER_HOME  # lng/lat, not swapped
    await act(lender, "markLoanHandedOver", loan_id)
    assert (await borrower.data(NODE, {"id": loan_id}))["node"]["pickupLocation"] == LENDER_HOME
    assert (await lender.data(NODE, {"id": loan_id}))["node"]["pickupLocation"] == LENDER_HOME

    await act(borrower, "confirmLoanReturned", loan_id)
    await act(lender, "confirmLoanReturned", loan_id)
    returned = await borrower.execute(NODE, {"id": loan_id})
    assert returned["data"]["node"]["pickupLocation"] is None


async def test_a_declined_borrower_never_sees_the_pickup_location(gql: GraphQLClient) -> None:
    lender, borrower, loan_id = await requested(gql)
    declined = await act(lender, "declineLoan", loan_id)
    assert declined["loan"]["state"] == "DECLINED"
    body = await borrower.execute(NODE, {"id": loan_id})
    assert body["data"]["node"]["pickupLocation"] is None
    assert not any(secret in str(body) for secret in SECRETS)


async def test_a_third_household_can_neither_see_nor_act_on_a_loan(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender, _, loan_id = await requested(gql)
    await act(lender, "acceptLoan", loan_id)
    stranger = await household(gql, "Famille Petit")  # same neighbourhood, not a party
    before = await loan_state(clean_db, loan_id)

    node = await stranger.execute(NODE, {"id": loan_id})
    assert node == {"data": {"node": None}}
    mine = await stranger.execute(MY_LOANS, {})
    assert mine["data"]["myLoans"]["edges"] == []
    for action in ACTIONS:
        body = await stranger.execute(action_document(action), {"id": loan_id})
        assert body["data"][action]["__typename"] == "NotFoundError"
        assert not any(secret in str(body) for secret in SECRETS)
    assert await loan_state(clean_db, loan_id) == before


async def test_admins_may_look_at_a_loan_but_not_act_nor_see_the_address(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender, _, loan_id = await requested(gql)
    await act(lender, "acceptLoan", loan_id)
    admin = await gql.sign_up()
    await promote_to_admin(clean_db, admin)
    body = await admin.execute(NODE, {"id": loan_id})
    assert body["data"]["node"]["state"] == "ACCEPTED"
    assert body["data"]["node"]["viewerRole"] is None
    assert body["data"]["node"]["pickupLocation"] is None
    assert not any(secret in str(body) for secret in SECRETS)
    assert (await act(admin, "cancelLoan", loan_id))["__typename"] == "ForbiddenError"


# Overdue


async def test_overdue_once_the_due_date_is_past_and_the_item_not_back(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    lender, borrower, loan_id = await requested(gql)
    await act(lender, "acceptLoan", loan_id)
    await act(lender, "markLoanHandedOver", loan_id)

    async def due(ends_on: date) -> bool:
        async with clean_db.begin() as conn:
            await conn.execute(
                text("UPDATE loans SET starts_on = :starts, ends_on = :ends WHERE id = :id"),
                {"starts": ends_on - timedelta(days=3), "ends": ends_on, "id": loan_pk(loan_id)},
            )
        overdue: bool = (await borrower.data(NODE, {"id": loan_id}))["node"]["overdue"]
        return overdue

    today = today_in_france()
    assert await due(today) is False  # due today: not late yet
    assert await due(today - timedelta(days=1)) is True
    await act(borrower, "confirmLoanReturned", loan_id)
    assert (await lender.data(NODE, {"id": loan_id}))["node"]["overdue"] is True  # not both yet
    await act(lender, "confirmLoanReturned", loan_id)
    assert (await lender.data(NODE, {"id": loan_id}))["node"]["overdue"] is False


# myLoans


async def test_my_loans_lists_newest_first_by_role_and_state_in_pages(gql: GraphQLClient) -> None:
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    ids = []
    for index in range(5):
        item_id = await lend(lender, f"Objet {index}")
        ids.append(
            (await request(borrower, item_id, starts=index + 1, ends=index + 2))["loan"]["id"]
        )
    await act(lender, "acceptLoan", ids[1])

    seen: list[str] = []
    after = None
    while True:
        page = (await lender.data(MY_LOANS, {"role": "LENDER", "first": 2, "after": after}))[
            "myLoans"
        ]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert all(edge["node"]["viewerRole"] == "LENDER" for edge in page["edges"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids[::-1]

    as_borrower = await lender.data(MY_LOANS, {"role": "BORROWER"})
    assert as_borrower["myLoans"]["edges"] == []
    both = await borrower.data(MY_LOANS, {})
    assert len(both["myLoans"]["edges"]) == 5
    accepted = await borrower.data(MY_LOANS, {"states": ["ACCEPTED", "HANDED_OVER"]})
    assert [edge["node"]["id"] for edge in accepted["myLoans"]["edges"]] == [ids[1]]


async def test_my_loans_refuses_anonymous_viewers_and_foreign_cursors(gql: GraphQLClient) -> None:
    anonymous = await gql.execute(MY_LOANS, {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    member = await household(gql, "Famille Durand", BORROWER_HOME)
    bad = await member.execute(MY_LOANS, {"after": "bm9wZQ"})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_my_loans_runs_as_many_statements_for_six_loans_as_for_one(
    settings: Settings,
) -> None:
    query = (
        "{ myLoans(first: 50) { edges { node { id overdue item { title lender { name } } "
        "lender { name neighbourhood { name } } borrower { name neighbourhood { name } } "
        "pickupLocation { lng } } } } }"
    )
    async with counting_client(settings) as (client, statements):
        lender = await household(client, "Famille Martin", LENDER_HOME)
        borrowers = [await household(client, f"Famille {index}") for index in range(2)]
        item_id = await lend(lender)
        loan_id = (await request(borrowers[0], item_id, 1, 1))["loan"]["id"]
        await act(lender, "acceptLoan", loan_id)
        statements.clear()
        await lender.data(query)
        few = list(statements)
        for index in range(5):
            borrower = borrowers[index % 2]
            loan_id = (await request(borrower, item_id, index + 2, index + 2))["loan"]["id"]
            await act(lender, "acceptLoan", loan_id)
        statements.clear()
        data = await lender.data(query)
        many = list(statements)
    assert len(data["myLoans"]["edges"]) == 6
    assert len(many) == len(few), many


def test_every_example_in_the_loans_documentation_is_valid_against_the_schema() -> None:
    page = (PROJECT_ROOT / "docs" / "loans.md").read_text(encoding="utf-8")
    examples = re.findall(r"```graphql\n(.*?)```", page, flags=re.DOTALL)
    schema = graphql.build_schema(export_sdl())
    assert len(examples) >= 10
    for example in examples:
        assert graphql.validate(schema, graphql.parse(example)) == [], example

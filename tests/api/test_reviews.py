"""Reviews after a returned loan, through the real GraphQL endpoint on real PostGIS, in Chavenay.

Each side of a RETURNED loan reviews the other once, 1 to 5 stars; a household's profile shows
the average (one decimal) and the count of the reviews it received.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from db.models import LoanReview
from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.api.helpers import counting_client
from tests.api.test_loans import BORROWER_HOME, LENDER_HOME, NEIGHBOUR_HOME, act, household
from tests.api.test_loans import lend as lend_item
from tests.api.test_loans import request as request_loan

pytestmark = pytest.mark.usefixtures("clean_db")

REVIEW = """
mutation Review($loan: ID!, $stars: Int!, $comment: String! = "") {
  reviewLoan(loanId: $loan, stars: $stars, comment: $comment) {
    __typename
    ... on ReviewLoanSuccess {
      review { stars comment createdAt reviewerRole }
      loan { id state }
    }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""

LOAN_REVIEWS = """
query LoanReviews($id: ID!) {
  node(id: $id) { ... on Loan { state reviews { stars comment reviewerRole } } }
}
"""

MY_SUMMARY = "{ me { household { id name reviews { average count } } } }"

HOUSEHOLD_SUMMARY = """
query Summary($id: ID!) { node(id: $id) { ... on Household { name reviews { average count } } } }
"""


async def review(client: GraphQLClient, loan_id: str, stars: int, comment: str = "") -> Any:
    variables = {"loan": loan_id, "stars": stars, "comment": comment}
    return (await client.data(REVIEW, variables))["reviewLoan"]


async def returned_loan(lender: GraphQLClient, borrower: GraphQLClient, item_id: str) -> str:
    """A loan of `item_id` taken through to RETURNED (both sides confirmed); its id."""
    requested = await request_loan(borrower, item_id)
    assert requested["__typename"] == "LoanChanged", requested
    loan_id: str = requested["loan"]["id"]
    for client, action in (
        (lender, "acceptLoan"),
        (lender, "markLoanHandedOver"),
        (borrower, "confirmLoanReturned"),
        (lender, "confirmLoanReturned"),
    ):
        assert (await act(client, action, loan_id))["__typename"] == "LoanChanged"
    return loan_id


async def summary(client: GraphQLClient) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(MY_SUMMARY))["me"]["household"]["reviews"]
    return result


async def review_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(LoanReview))).scalar_one())


@pytest.fixture
async def parties(gql: GraphQLClient) -> tuple[GraphQLClient, GraphQLClient, str]:
    """(lender, borrower, item id): two Chavenay households and the lender's drill."""
    lender = await household(gql, "Famille Martin", LENDER_HOME)
    borrower = await household(gql, "Famille Durand", BORROWER_HOME)
    return lender, borrower, await lend_item(lender)


async def test_each_side_reviews_a_returned_loan_once(
    parties: tuple[GraphQLClient, GraphQLClient, str], clean_db: AsyncEngine
) -> None:
    lender, borrower, item_id = parties
    loan_id = await returned_loan(lender, borrower, item_id)

    by_borrower = await review(borrower, loan_id, 5, "Perceuse impeccable, merci !")
    by_lender = await review(lender, loan_id, 4, "Rendue à l'heure.")

    assert by_borrower["__typename"] == "ReviewLoanSuccess", by_borrower
    assert by_borrower["review"]["reviewerRole"] == "BORROWER"
    assert by_lender["review"] == {
        "stars": 4,
        "comment": "Rendue à l'heure.",
        "createdAt": by_lender["review"]["createdAt"],
        "reviewerRole": "LENDER",
    }
    again = await review(borrower, loan_id, 1, "Finalement non")
    assert (again["__typename"], again["code"]) == ("AlreadyReviewedError", "ALREADY_REVIEWED")
    assert await review_count(clean_db) == 2
    seen = (await lender.data(LOAN_REVIEWS, {"id": loan_id}))["node"]["reviews"]
    assert [(r["stars"], r["reviewerRole"]) for r in seen] == [(5, "BORROWER"), (4, "LENDER")]
    assert await summary(lender) == {"average": 5.0, "count": 1}
    assert await summary(borrower) == {"average": 4.0, "count": 1}


async def test_a_loan_cannot_be_reviewed_before_it_is_returned(
    parties: tuple[GraphQLClient, GraphQLClient, str], clean_db: AsyncEngine
) -> None:
    lender, borrower, item_id = parties
    requested = await request_loan(borrower, item_id)
    loan_id = requested["loan"]["id"]

    for step in ("acceptLoan", "markLoanHandedOver", "confirmLoanReturned"):
        refused = await review(borrower, loan_id, 5)
        assert (refused["__typename"], refused["code"]) == (
            "LoanNotReturnedError",
            "LOAN_NOT_RETURNED",
        )
        await act(lender, step, loan_id)  # the lender confirms first: still HANDED_OVER
    assert await review_count(clean_db) == 0
    await act(borrower, "confirmLoanReturned", loan_id)
    assert (await review(borrower, loan_id, 5))["__typename"] == "ReviewLoanSuccess"


@pytest.mark.parametrize("stars", [0, 6, -1, 100])
async def test_stars_out_of_range_are_refused(
    parties: tuple[GraphQLClient, GraphQLClient, str], clean_db: AsyncEngine, stars: int
) -> None:
    lender, borrower, item_id = parties
    loan_id = await returned_loan(lender, borrower, item_id)

    refused = await review(borrower, loan_id, stars)

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "ValidationError",
        "BAD_USER_INPUT",
        "stars",
    )
    assert await review_count(clean_db) == 0


async def test_a_comment_longer_than_1000_characters_is_refused(
    parties: tuple[GraphQLClient, GraphQLClient, str], clean_db: AsyncEngine
) -> None:
    lender, borrower, item_id = parties
    loan_id = await returned_loan(lender, borrower, item_id)

    refused = await review(borrower, loan_id, 3, "a" * 1001)

    assert (refused["code"], refused["field"]) == ("BAD_USER_INPUT", "comment")
    assert await review_count(clean_db) == 0


async def test_a_third_household_cannot_review_nor_see_the_reviews(
    gql: GraphQLClient, parties: tuple[GraphQLClient, GraphQLClient, str], clean_db: AsyncEngine
) -> None:
    lender, borrower, item_id = parties
    loan_id = await returned_loan(lender, borrower, item_id)
    await review(borrower, loan_id, 2, "Mandrin abîmé")
    neighbour = await household(gql, "Famille Leroy", NEIGHBOUR_HOME)
    admin = await gql.sign_up(name="Équipe")
    await promote_to_admin(clean_db, admin)

    refused = await review(neighbour, loan_id, 1)
    assert (refused["__typename"], refused["code"]) == ("NotFoundError", "NOT_FOUND")
    assert (await review(gql, loan_id, 1))["code"] == "UNAUTHENTICATED"
    no_household = await review(admin, loan_id, 1)
    assert (no_household["__typename"], no_household["code"]) == ("ForbiddenError", "FORBIDDEN")
    assert await review_count(clean_db) == 1
    assert (await neighbour.data(LOAN_REVIEWS, {"id": loan_id}))["node"] is None
    # Admins may look at a loan, not at what its households wrote of each other.
    assert (await admin.data(LOAN_REVIEWS, {"id": loan_id}))["node"]["reviews"] == []
    # The neighbour sees the lender's profile summary, not the comments.
    lender_id = (await lender.data(MY_SUMMARY))["me"]["household"]["id"]
    seen = (await neighbour.data(HOUSEHOLD_SUMMARY, {"id": lender_id}))["node"]
    assert seen == {"name": "Famille Martin", "reviews": {"average": 2.0, "count": 1}}


async def test_average_is_rounded_to_one_decimal_over_every_loan(
    gql: GraphQLClient, parties: tuple[GraphQLClient, GraphQLClient, str]
) -> None:
    lender, borrower, item_id = parties
    other = await household(gql, "Famille Leroy", NEIGHBOUR_HOME)
    assert await summary(lender) == {"average": None, "count": 0}

    for client, stars in ((borrower, 5), (other, 4), (borrower, 4)):
        loan_id = await returned_loan(lender, client, item_id)
        assert (await review(client, loan_id, stars))["__typename"] == "ReviewLoanSuccess"

    assert await summary(lender) == {"average": 4.3, "count": 3}  # 13 / 3 = 4.33...
    assert await summary(borrower) == {"average": None, "count": 0}


async def test_household_summaries_are_loaded_in_one_batch(
    gql: GraphQLClient, parties: tuple[GraphQLClient, GraphQLClient, str], settings: Settings
) -> None:
    lender, borrower, item_id = parties
    clients = [lender, borrower, *[await household(gql, f"Famille {n}") for n in range(4)]]
    ids = [(await client.data(MY_SUMMARY))["me"]["household"]["id"] for client in clients]
    await review(borrower, await returned_loan(lender, borrower, item_id), 5)

    async def statements_for(household_ids: list[str]) -> int:
        """Statements run by one document asking for each household's summary (aliases)."""
        fields = " ".join(
            f'h{n}: node(id: "{hid}") {{ ... on Household {{ reviews {{ average count }} }} }}'
            for n, hid in enumerate(household_ids)
        )
        async with counting_client(settings) as (anonymous, statements):
            client = anonymous.signed_in(lender.headers["authorization"].split()[1])
            statements.clear()
            data = await client.data(f"{{ {fields} }}")
            assert data["h0"]["reviews"] == {"average": 5.0, "count": 1}
            return len(statements)

    assert await statements_for(ids[:2]) == await statements_for(ids)

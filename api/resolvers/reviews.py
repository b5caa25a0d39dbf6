"""Reviews after a returned loan: `reviewLoan`. Thin: validate, call db (which checks the loan
is RETURNED, that the household is a party, and once per side, in one statement), map a refusal
to its error type. See docs/moderation.md."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    unauthenticated,
)
from api.resolvers.loans import loan_not_found
from api.resolvers.neighbourhoods import validation_error
from api.types.loan import Loan
from api.types.review import AlreadyReviewedError, LoanNotReturnedError, LoanReview
from api.validation import clean_text, decode_node_id
from db.models import MAX_REVIEW_COMMENT
from db.queries import reviews as review_queries
from db.queries.loans import loan_by_id
from db.queries.reviews import ReviewRefusal, ReviewRow

Info = strawberry.Info[Context, None]
MIN_STARS = 1
MAX_STARS = 5


@strawberry.type(description="Your review is recorded; the other household's average includes it.")
class ReviewLoanSuccess:
    review: LoanReview = strawberry.field(description="Your review.")
    loan: Loan = strawberry.field(description="The loan reviewed.")


ReviewLoanResult = Annotated[
    ReviewLoanSuccess
    | AlreadyReviewedError
    | LoanNotReturnedError
    | ValidationError
    | NotFoundError
    | ForbiddenError
    | UnauthenticatedError,
    strawberry.union("ReviewLoanResult"),
]


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(
        description="Review the other household of a RETURNED loan: 1 to 5 stars and an "
        "optional comment, once per side (either household of the loan)."
    )
    async def review_loan(
        self,
        info: Info,
        loan_id: Annotated[relay.GlobalID, strawberry.argument(description="The Loan to review.")],
        stars: Annotated[int, strawberry.argument(description="1 (bad) to 5 (excellent).")],
        comment: Annotated[
            str, strawberry.argument(description="A few words, up to 1,000 characters.")
        ] = "",
    ) -> ReviewLoanResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            loan_pk = decode_node_id(loan_id, "Loan", argument="loanId")
            check_stars(stars)
            text = clean_text(
                comment, argument="comment", max_length=MAX_REVIEW_COMMENT, min_length=0
            )
        except UserError as error:
            return validation_error(error)
        if viewer.household_id is None:
            return forbidden("Only the two households of a returned loan may review it.")
        async with info.context.engine.begin() as conn:
            outcome = await review_queries.review_loan(
                conn,
                loan_pk,
                household_id=viewer.household_id,
                account_id=viewer.account_id,
                stars=stars,
                comment=text,
            )
            loan = await loan_by_id(conn, loan_pk)
        if isinstance(outcome, ReviewRow):
            assert loan is not None, "the review's foreign key holds the loan"
            return ReviewLoanSuccess(
                review=LoanReview.from_row(outcome, loan), loan=Loan.from_row(loan)
            )
        return review_refusal(outcome, is_admin=viewer.is_admin)


def check_stars(stars: int) -> None:
    if not MIN_STARS <= stars <= MAX_STARS:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`stars` must be {MIN_STARS} to {MAX_STARS}; got {stars}.",
            argument="stars",
        )


def review_refusal(
    refusal: ReviewRefusal, *, is_admin: bool
) -> AlreadyReviewedError | LoanNotReturnedError | NotFoundError | ForbiddenError:
    if refusal is ReviewRefusal.ALREADY_REVIEWED:
        return AlreadyReviewedError(
            code=ErrorCode.ALREADY_REVIEWED,
            message="Your household has already reviewed this loan; a review cannot be changed.",
        )
    if refusal is ReviewRefusal.NOT_RETURNED:
        return LoanNotReturnedError(
            code=ErrorCode.LOAN_NOT_RETURNED,
            message="Review a loan once it is RETURNED: both households confirm the return.",
        )
    if refusal is ReviewRefusal.NOT_A_PARTY and is_admin:
        # Admins may see any loan, so they learn it exists; to anyone else it does not.
        return forbidden("Only the two households of a loan may review it.")
    return loan_not_found()

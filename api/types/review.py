"""Reviews after a returned loan: each side's stars and comment, and a household's summary.

A loan's reviews are shown to its two households only (`Loan.reviews`); anyone who may see a
household sees its summary (`Household.reviews`): an average and a count, never the comments.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import Context
from api.errors import MutationError
from api.types.loan import LoanRole
from db.queries.loans import LoanRow
from db.queries.reviews import ReviewRow, ReviewSummaryRow

Info = strawberry.Info[Context, None]


@strawberry.type(description="One household's review of the other after a returned loan.")
class LoanReview:
    stars: int = strawberry.field(description="1 (bad) to 5 (excellent).")
    comment: str = strawberry.field(description="Up to 1,000 characters; may be empty.")
    created_at: datetime = strawberry.field(description="When it was written.")
    reviewer_role: LoanRole = strawberry.field(
        description="Which side wrote it: the BORROWER reviews the lender, and the other way."
    )

    @classmethod
    def from_row(cls, row: ReviewRow, loan: LoanRow) -> LoanReview:
        side = loan.side_of(row.reviewer_household_id)
        assert side is not None, "reviews are written by a party of the loan"
        return cls(
            stars=row.stars,
            comment=row.comment,
            created_at=row.created_at,
            reviewer_role=LoanRole(side),
        )


@strawberry.type(
    description="Stars a household received after returned loans, from the other households."
)
class ReviewSummary:
    average: float | None = strawberry.field(
        description="Mean of the stars, 1 to 5, rounded to one decimal; null without reviews."
    )
    count: int = strawberry.field(description="How many reviews it received.")

    @classmethod
    def from_row(cls, row: ReviewSummaryRow) -> ReviewSummary:
        return cls(average=row.average, count=row.count)


async def review_summary(info: Info, household_id: int) -> ReviewSummary:
    row = await info.context.loaders.review_summary_by_household_id.load(household_id)
    return ReviewSummary.from_row(row or ReviewSummaryRow(count=0, average=None))


async def loan_reviews(info: Info, loan: LoanRow) -> list[LoanReview]:
    """The loan's reviews, oldest first, for its two households; empty for anyone else."""
    if loan.side_of(info.context.viewer.household_id) is None:
        return []
    rows = await info.context.loaders.reviews_by_loan_id.load(loan.id)
    return [LoanReview.from_row(row, loan) for row in rows or ()]


@strawberry.type(description="Your household has already reviewed this loan; nothing changed.")
class AlreadyReviewedError(MutationError):
    pass


@strawberry.type(
    description="A loan can be reviewed only once RETURNED (both households confirmed the "
    "return); nothing changed."
)
class LoanNotReturnedError(MutationError):
    pass

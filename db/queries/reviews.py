"""Loan review queries: one review per side of a RETURNED loan, and households' averages.

Writing is one `INSERT ... SELECT FROM loans WHERE id = :id AND state = 'RETURNED' AND <the
household is a party> ON CONFLICT DO NOTHING`: the reviewed household is the other party, read
in the same statement, and the unique (loan_id, reviewer_household_id) refuses a second review
from the same side, also when two arrive at once. When nothing was written, the loan is read
again to tell why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, Integer, Row, Text, case, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Loan, LoanReview
from db.queries.loans import loan_by_id


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewRow:
    id: int
    loan_id: int
    reviewer_household_id: int
    reviewed_household_id: int
    stars: int
    comment: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewSummaryRow:
    """`average` is the mean of the stars rounded to one decimal; None while `count` is 0."""

    count: int
    average: float | None


class ReviewRefusal(Enum):
    NOT_FOUND = "NOT_FOUND"  # no such loan
    NOT_A_PARTY = "NOT_A_PARTY"  # the household is neither borrower nor lender
    NOT_RETURNED = "NOT_RETURNED"  # the loan is not RETURNED (yet)
    ALREADY_REVIEWED = "ALREADY_REVIEWED"  # this side has reviewed the loan already


REVIEW_COLUMNS = (
    LoanReview.id,
    LoanReview.loan_id,
    LoanReview.reviewer_household_id,
    LoanReview.reviewed_household_id,
    LoanReview.stars,
    LoanReview.comment,
    LoanReview.created_at,
)


def to_row(row: Row[*tuple[Any, ...]]) -> ReviewRow:
    return ReviewRow(**row._mapping)


async def review_loan(
    conn: AsyncConnection,
    loan_id: int,
    *,
    household_id: int,
    account_id: int | None,
    stars: int,
    comment: str,
) -> ReviewRow | ReviewRefusal:
    """The household's review of the other party of a RETURNED loan, or why there is none."""
    other = case(
        (Loan.borrower_household_id == household_id, Loan.lender_household_id),
        else_=Loan.borrower_household_id,
    )
    source = select(
        Loan.id,
        literal(household_id, BigInteger),
        other,
        literal(account_id, BigInteger),
        literal(stars, Integer),
        literal(comment, Text),
    ).where(
        Loan.id == loan_id,
        Loan.state == "RETURNED",
        or_(Loan.borrower_household_id == household_id, Loan.lender_household_id == household_id),
    )
    statement = (
        pg_insert(LoanReview)
        .from_select(
            [
                "loan_id",
                "reviewer_household_id",
                "reviewed_household_id",
                "reviewer_account_id",
                "stars",
                "comment",
            ],
            source,
        )
        .on_conflict_do_nothing(index_elements=["loan_id", "reviewer_household_id"])
        .returning(*REVIEW_COLUMNS)
    )
    row = (await conn.execute(statement)).one_or_none()
    if row is not None:
        return to_row(row)
    loan = await loan_by_id(conn, loan_id)
    if loan is None:
        return ReviewRefusal.NOT_FOUND
    if loan.side_of(household_id) is None:
        return ReviewRefusal.NOT_A_PARTY
    if loan.state != "RETURNED":
        return ReviewRefusal.NOT_RETURNED
    return ReviewRefusal.ALREADY_REVIEWED


async def reviews_by_loan_id(
    conn: AsyncConnection, loan_ids: Sequence[int]
) -> dict[int, list[ReviewRow]]:
    """Each loan's reviews (at most two), oldest first; loans without any are left out."""
    if not loan_ids:
        return {}
    result = await conn.execute(
        select(*REVIEW_COLUMNS)
        .where(LoanReview.loan_id.in_(loan_ids))
        .order_by(LoanReview.created_at, LoanReview.id)
    )
    found: dict[int, list[ReviewRow]] = defaultdict(list)
    for row in result:
        found[row.loan_id].append(to_row(row))
    return dict(found)


async def review_summaries_by_household_id(
    conn: AsyncConnection, household_ids: Sequence[int]
) -> dict[int, ReviewSummaryRow]:
    """Count and average stars received by each household, in one grouped scan of
    `ix_loan_reviews_reviewed_household_id`; households never reviewed get count 0."""
    if not household_ids:
        return {}
    result = await conn.execute(
        select(
            LoanReview.reviewed_household_id,
            func.count(),
            func.round(func.avg(LoanReview.stars), 1),
        )
        .where(LoanReview.reviewed_household_id.in_(household_ids))
        .group_by(LoanReview.reviewed_household_id)
    )
    found = {
        int(household_id): ReviewSummaryRow(count=int(count), average=float(average))
        for household_id, count, average in result.all()
    }
    empty = ReviewSummaryRow(count=0, average=None)
    return {household_id: found.get(household_id, empty) for household_id in household_ids}

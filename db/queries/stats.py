"""Aggregate figures of a neighbourhood, month by month: what town halls see instead of people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthFigures:
    month: date
    new_households: int
    posts: int
    loans: int


MONTHLY = text(
    """
    WITH months AS (
        SELECT generate_series(
                   date_trunc('month', now()) - make_interval(months => :months - 1),
                   date_trunc('month', now()),
                   interval '1 month') AS month
    )
    SELECT m.month::date AS month,
           (SELECT count(*) FROM households h
             WHERE h.neighbourhood_id = :nid
               AND h.created_at >= m.month AND h.created_at < m.month + interval '1 month')
               AS new_households,
           (SELECT count(*) FROM posts p
             WHERE p.neighbourhood_id = :nid
               AND p.created_at >= m.month AND p.created_at < m.month + interval '1 month')
               AS posts,
           (SELECT count(*) FROM loans l JOIN households lender ON lender.id = l.lender_household_id
             WHERE lender.neighbourhood_id = :nid
               AND l.created_at >= m.month AND l.created_at < m.month + interval '1 month')
               AS loans
      FROM months m ORDER BY m.month
    """
)


async def monthly_figures(
    conn: AsyncConnection, neighbourhood_id: int, *, months: int
) -> list[MonthFigures]:
    """The last `months` calendar months, oldest first, zeros included."""
    result = await conn.execute(MONTHLY, {"nid": neighbourhood_id, "months": months})
    return [
        MonthFigures(
            month=row.month,
            new_households=int(row.new_households),
            posts=int(row.posts),
            loans=int(row.loans),
        )
        for row in result
    ]

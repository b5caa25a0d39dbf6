"""Loan queries: requests, the state machine, and a household's loans newest first.

Every transition is one `UPDATE ... WHERE id = :id AND state IN (...) AND <the right household>
RETURNING`: two clicks racing (accept and cancel, or two accepts) are serialised by the row lock,
and the loser's WHERE no longer matches, so a transition is never applied from a state it does not
allow. When nothing matched, the loan is read again to tell why (`Refused`).

Double booking is refused by the exclusion constraint `ex_loans_item_booked`: accepting a request
whose dates overlap an ACCEPTED or HANDED_OVER loan of the same item raises ExclusionViolation,
also when the other acceptance is not committed yet (PostgreSQL waits for it, then decides). The
UPDATE runs in a savepoint so that the violation leaves the caller's transaction usable and the
loan untouched.

Dates are calendar days, both ends included. Nothing here depends on the current date: callers
pass `today_in_france()` where it matters, so tests and seeds control it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.errors import ExclusionViolation
from sqlalchemy import (
    ColumnElement,
    Date,
    Row,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import BOOKED_LOAN_STATES, Item, Loan

NO_DOUBLE_BOOKING = "ex_loans_item_booked"
LOAN_TIME_ZONE = ZoneInfo("Europe/Paris")
"""Loan dates are French calendar days: "today" and "overdue" are decided on Paris time."""
BORROWER = "BORROWER"
LENDER = "LENDER"


def today_in_france() -> date:
    return datetime.now(LOAN_TIME_ZONE).date()


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanRow:
    """A loan between two households; `starts_on`..`ends_on` are calendar days, both included."""

    id: int
    item_id: int
    borrower_household_id: int
    lender_household_id: int
    starts_on: date
    ends_on: date
    state: str
    message: str
    cancelled_by: str | None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    handed_over_at: datetime | None
    borrower_returned_at: datetime | None
    lender_returned_at: datetime | None

    def side_of(self, household_id: int | None) -> str | None:
        """BORROWER, LENDER, or None for a household that is not a party to this loan."""
        if household_id == self.borrower_household_id:
            return BORROWER
        if household_id == self.lender_household_id:
            return LENDER
        return None

    def is_overdue(self, today: date) -> bool:
        """Handed over, not returned (both sides confirmed), and the due day `ends_on` is past."""
        return self.state == "HANDED_OVER" and today > self.ends_on


@dataclass(frozen=True, slots=True)
class Transition:
    """A move of the state machine: from which states, by which side(s), to what values."""

    verb: str
    from_states: tuple[str, ...]
    sides: tuple[str, ...]


ACCEPT = Transition("accept", ("REQUESTED",), (LENDER,))
DECLINE = Transition("decline", ("REQUESTED",), (LENDER,))
CANCEL = Transition("cancel", ("REQUESTED", "ACCEPTED"), (BORROWER, LENDER))
HAND_OVER = Transition("mark as handed over", ("ACCEPTED",), (LENDER,))
CONFIRM_RETURN = Transition("confirm the return of", ("HANDED_OVER",), (BORROWER, LENDER))


class Refusal(Enum):
    """Why a request or a transition changed nothing."""

    NOT_FOUND = "NOT_FOUND"  # no such loan (or item)
    NOT_A_PARTY = "NOT_A_PARTY"  # the household is neither borrower nor lender
    WRONG_SIDE = "WRONG_SIDE"  # e.g. the borrower trying to accept
    INVALID_STATE = "INVALID_STATE"  # not from this state, or this side already confirmed
    ALREADY_BOOKED = "ALREADY_BOOKED"  # dates overlap an accepted or handed-over loan
    OWN_ITEM = "OWN_ITEM"
    ITEM_UNAVAILABLE = "ITEM_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was written; `loan` is the loan as it is now (None when there is none)."""

    reason: Refusal
    loan: LoanRow | None = None


LOAN_COLUMNS = (
    Loan.id,
    Loan.item_id,
    Loan.borrower_household_id,
    Loan.lender_household_id,
    Loan.starts_on,
    Loan.ends_on,
    Loan.state,
    Loan.message,
    Loan.cancelled_by,
    Loan.created_at,
    Loan.updated_at,
    Loan.accepted_at,
    Loan.handed_over_at,
    Loan.borrower_returned_at,
    Loan.lender_returned_at,
)


def to_row(row: Row[*tuple[Any, ...]]) -> LoanRow:
    return LoanRow(**row._mapping)


def booked_dates_overlap(starts_on: date, ends_on: date) -> ColumnElement[bool]:
    """The loan holds its item on one of the days `starts_on`..`ends_on`, as the constraint sees it.

    The same expressions as `ex_loans_item_booked`, so its GiST index serves this too.
    """
    days = func.daterange(Loan.starts_on, Loan.ends_on, literal("[]", String))
    wanted = func.daterange(starts_on, ends_on, literal("[]", String))
    return and_(Loan.state.in_(BOOKED_LOAN_STATES), days.op("&&")(wanted))


async def request_loan(
    conn: AsyncConnection,
    item_id: int,
    *,
    borrower_household_id: int,
    starts_on: date,
    ends_on: date,
    message: str,
) -> LoanRow | Refused:
    """A REQUESTED loan of the item for those days, unless they are already booked.

    Requests may overlap each other: the lender picks one. The booked-dates check here only
    spares a borrower a hopeless request; the exclusion constraint decides at acceptance.
    """
    item = (
        await conn.execute(select(Item.household_id, Item.available).where(Item.id == item_id))
    ).one_or_none()
    if item is None:
        return Refused(Refusal.NOT_FOUND)
    if item.household_id == borrower_household_id:
        return Refused(Refusal.OWN_ITEM)
    if not item.available:
        return Refused(Refusal.ITEM_UNAVAILABLE)
    if await is_booked(conn, item_id, starts_on=starts_on, ends_on=ends_on):
        return Refused(Refusal.ALREADY_BOOKED)
    result = await conn.execute(
        insert(Loan)
        .values(
            item_id=item_id,
            borrower_household_id=borrower_household_id,
            lender_household_id=item.household_id,
            starts_on=starts_on,
            ends_on=ends_on,
            message=message,
        )
        .returning(*LOAN_COLUMNS)
    )
    return to_row(result.one())


async def is_booked(conn: AsyncConnection, item_id: int, *, starts_on: date, ends_on: date) -> bool:
    """Whether an accepted or handed-over loan holds the item on any of these days."""
    result = await conn.execute(
        select(exists().where(Loan.item_id == item_id, booked_dates_overlap(starts_on, ends_on)))
    )
    return bool(result.scalar_one())


def party_condition(sides: Sequence[str], household_id: int) -> ColumnElement[bool]:
    columns = {BORROWER: Loan.borrower_household_id, LENDER: Loan.lender_household_id}
    return or_(*(columns[side] == household_id for side in sides))


def transition_values(transition: Transition, household_id: int) -> Mapping[str, Any]:
    """The SET clause of a transition; column references in it read the values before the change."""
    now = func.now()
    is_borrower = Loan.borrower_household_id == household_id
    is_lender = Loan.lender_household_id == household_id
    if transition is ACCEPT:
        return {"state": "ACCEPTED", "accepted_at": now}
    if transition is DECLINE:
        return {"state": "DECLINED"}
    if transition is CANCEL:
        return {"state": "CANCELLED", "cancelled_by": case((is_borrower, BORROWER), else_=LENDER)}
    if transition is HAND_OVER:
        return {"state": "HANDED_OVER", "handed_over_at": now}
    if transition is CONFIRM_RETURN:
        borrower_done = or_(Loan.borrower_returned_at.is_not(None), is_borrower)
        lender_done = or_(Loan.lender_returned_at.is_not(None), is_lender)
        return {
            "borrower_returned_at": case((is_borrower, now), else_=Loan.borrower_returned_at),
            "lender_returned_at": case((is_lender, now), else_=Loan.lender_returned_at),
            "state": case((and_(borrower_done, lender_done), "RETURNED"), else_=Loan.state),
        }
    raise ValueError(transition)


def transition_condition(transition: Transition, household_id: int) -> ColumnElement[bool]:
    if transition is CONFIRM_RETURN:  # each side confirms once
        return or_(
            and_(Loan.borrower_household_id == household_id, Loan.borrower_returned_at.is_(None)),
            and_(Loan.lender_household_id == household_id, Loan.lender_returned_at.is_(None)),
        )
    return party_condition(transition.sides, household_id)


async def transition_loan(
    conn: AsyncConnection, loan_id: int, transition: Transition, *, household_id: int
) -> LoanRow | Refused:
    """Apply `transition` for `household_id`, or say why not; the loan as it is afterwards."""
    statement = (
        update(Loan)
        .where(
            Loan.id == loan_id,
            Loan.state.in_(transition.from_states),
            transition_condition(transition, household_id),
        )
        .values({**transition_values(transition, household_id), "updated_at": func.now()})
        .returning(*LOAN_COLUMNS)
    )
    try:
        async with conn.begin_nested():
            row = (await conn.execute(statement)).one_or_none()
    except IntegrityError as error:
        if not is_double_booking(error):
            raise
        return Refused(Refusal.ALREADY_BOOKED, await loan_by_id(conn, loan_id))
    if row is not None:
        return to_row(row)
    loan = await loan_by_id(conn, loan_id)
    return Refused(why_refused(loan, transition, household_id), loan)


def is_double_booking(error: IntegrityError) -> bool:
    """The exclusion constraint against overlapping bookings refused the statement."""
    orig = error.orig
    return (
        isinstance(orig, ExclusionViolation)
        and getattr(orig.diag, "constraint_name", None) == NO_DOUBLE_BOOKING
    )


def why_refused(loan: LoanRow | None, transition: Transition, household_id: int) -> Refusal:
    """Why `transition` did not apply to `loan` (as read after the UPDATE matched nothing)."""
    if loan is None:
        return Refusal.NOT_FOUND
    side = loan.side_of(household_id)
    if side is None:
        return Refusal.NOT_A_PARTY
    if side not in transition.sides:
        return Refusal.WRONG_SIDE
    return Refusal.INVALID_STATE


async def loan_by_id(conn: AsyncConnection, loan_id: int) -> LoanRow | None:
    return (await loans_by_id(conn, [loan_id])).get(loan_id)


async def loans_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, LoanRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*LOAN_COLUMNS).where(Loan.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


async def household_loans(
    conn: AsyncConnection,
    household_id: int,
    *,
    side: str | None,
    states: Sequence[str] | None,
    limit: int,
    after: tuple[datetime, int] | None,
) -> list[LoanRow]:
    """The household's loans as `side` (None: both), newest request first.

    Keyset-paged on (created_at, id), descending: `after` is the pair of the last loan shown,
    so a page never repeats or skips a loan when new requests arrive meanwhile. Each side has an
    index on (household, created_at DESC, id DESC) that serves the order and the bound.
    """
    conditions: list[ColumnElement[bool]] = [
        party_condition((BORROWER, LENDER) if side is None else (side,), household_id)
    ]
    if states is not None:
        conditions.append(Loan.state.in_(states))
    if after is not None:
        conditions.append(tuple_(Loan.created_at, Loan.id) < tuple_(*after))
    result = await conn.execute(
        select(*LOAN_COLUMNS)
        .where(*conditions)
        .order_by(Loan.created_at.desc(), Loan.id.desc())
        .limit(limit)
    )
    return [to_row(row) for row in result]


BOOKED_DAYS = text(
    """
    SELECT DISTINCT day::date AS day
    FROM loans,
         generate_series(GREATEST(starts_on, :first_day), LEAST(ends_on, :last_day),
                         interval '1 day') AS day
    WHERE item_id = :item_id
      AND state = ANY(:states)
      AND daterange(starts_on, ends_on, '[]') && daterange(:first_day, :last_day, '[]')
    ORDER BY day
    """
).bindparams(
    bindparam("first_day", type_=Date),
    bindparam("last_day", type_=Date),
    bindparam("states", type_=ARRAY(String)),
)


async def booked_days(
    conn: AsyncConnection, item_id: int, *, first_day: date, last_day: date
) -> list[date]:
    """Days from `first_day` to `last_day` (both included) on which an ACCEPTED or HANDED_OVER
    loan holds the item, in order: what `requestLoan` would refuse as ALREADY_BOOKED. The
    range test is the exclusion constraint's, so its GiST index serves it."""
    result = await conn.execute(
        BOOKED_DAYS,
        {
            "item_id": item_id,
            "first_day": first_day,
            "last_day": last_day,
            "states": list(BOOKED_LOAN_STATES),
        },
    )
    return [row.day for row in result]


async def loans_holding(
    conn: AsyncConnection, item_id: int, *, since: date
) -> list[tuple[int, int, date]]:
    """(loan id, borrower household id, first day) of the item's ACCEPTED or HANDED_OVER loans
    that end on `since` or later: the borrowers to tell when the item is withdrawn."""
    result = await conn.execute(
        select(Loan.id, Loan.borrower_household_id, Loan.starts_on)
        .where(
            Loan.item_id == item_id,
            Loan.state.in_(BOOKED_LOAN_STATES),
            Loan.ends_on >= since,
        )
        .order_by(Loan.starts_on, Loan.id)
    )
    return [(int(loan_id), int(borrower), day) for loan_id, borrower, day in result.all()]

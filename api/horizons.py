"""How far ahead dates may be, and when an exact place is shown to the one counterpart.

Both are privacy rules. A booking far in the future used to reveal the other household's exact
place at once (a loan asked for 9999-12-31, accepted, showed the borrower the lender's home the
same day): the place is needed only for the hand-over, so it is shown from `EXACT_PLACE_LEAD`
before it, and dates are bounded so that nothing is planned (or kept on a feed) for years.
Every limit is here, in one place; docs/loans.md, docs/gardens-carpools.md and docs/posts.md
cite them. A date beyond its horizon is refused with `DATE_TOO_FAR`, and nothing is written.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.errors import ErrorCode, UserError

LOAN_HORIZON = timedelta(days=183)
"""A loan starts at most about six months from today (Paris calendar)."""
CARPOOL_HORIZON = timedelta(days=183)
"""A one-off trip leaves, and a seat is booked for a departure, at most about six months ahead."""
EVENT_HORIZON = timedelta(days=365)
"""An event starts and ends at most a year ahead."""
EXPIRY_HORIZON = timedelta(days=92)
"""A post other than an event leaves the feed (`expiresAt`) at most about three months ahead."""
EXACT_PLACE_LEAD = timedelta(days=2)
"""The exact place of a booking (a lender's home, a trip's meeting place) is shown to the one
counterpart from this long before the loan starts or the trip leaves, not when it is booked."""
EXACT_PLACE_GRACE = timedelta(hours=12)
"""And to a passenger until this long after the departure (a late car, a forgotten bag)."""
PARIS = ZoneInfo("Europe/Paris")


def check_not_after(value: datetime, *, now: datetime, limit: timedelta, argument: str) -> None:
    """Refuse `value` later than `now + limit` with DATE_TOO_FAR, naming the argument and limit."""
    horizon = now + limit
    if value > horizon:
        raise UserError(
            ErrorCode.DATE_TOO_FAR,
            f"`{argument}` must be at most {limit.days} days ahead (until "
            f"{horizon.astimezone(PARIS):%Y-%m-%d %H:%M} Paris time).",
            argument=argument,
        )


def check_day_not_after(value: date, *, today: date, limit: timedelta, argument: str) -> None:
    """As `check_not_after`, for a calendar day: at most `today + limit`."""
    horizon = today + limit
    if value > horizon:
        raise UserError(
            ErrorCode.DATE_TOO_FAR,
            f"`{argument}` must be at most {limit.days} days ahead "
            f"({horizon.isoformat()} at the latest).",
            argument=argument,
        )


def start_of_paris_day(day: date) -> datetime:
    """Midnight at the start of `day` in Europe/Paris (aware)."""
    return datetime.combine(day, time(0), tzinfo=PARIS)


def loan_place_shown_from(starts_on: date) -> datetime:
    """When the borrower of an accepted loan starting on `starts_on` sees the pick-up place."""
    return start_of_paris_day(starts_on) - EXACT_PLACE_LEAD

"""Everything the database holds about one account: exported (GDPR art. 20), or erased (art. 17).

Export reads whole rows table by table, so a column added later is exported without anyone
remembering to list it; only secrets (password and token hashes) and the search vector are left
out, and geometries come as GeoJSON (lng/lat). What erasure keeps, and why, is in
docs/accounts.md: content others rely on (posts, comments, loans, reviews) stays, signed by an
anonymous "Ancien voisin" household once the account was its last one.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import ColumnElement, case, delete, exists, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase

from db.models import (
    Account,
    Carpool,
    CarpoolBooking,
    Comment,
    Feedback,
    Garden,
    GardenWaitlistEntry,
    Household,
    Item,
    Loan,
    LoanReview,
    Notification,
    PartnerAuthorisation,
    Post,
    Report,
    Skill,
)

ERASED_HOUSEHOLD_NAME = "Ancien voisin"
"""What neighbours see instead of the name of a household whose last account was deleted."""
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "search"})


def plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO 8601 strings, bytes dropped (only digests are bytes)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return None
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


async def rows_of(
    conn: AsyncConnection, model: type[DeclarativeBase], where: ColumnElement[bool]
) -> list[dict[str, Any]]:
    """Every non-secret column of the matching rows, oldest id first; geometry as GeoJSON."""
    table = model.__table__
    columns: list[ColumnElement[Any]] = []
    geometries = set()
    for column in table.columns:  # type: ignore[attr-defined]
        if column.name in SECRET_COLUMNS:
            continue
        if isinstance(column.type, Geometry):
            geometries.add(column.name)
            columns.append(func.ST_AsGeoJSON(column).label(column.name))
        else:
            columns.append(column)
    order = [table.c.id] if "id" in table.c else []  # type: ignore[attr-defined]
    result = await conn.execute(select(*columns).where(where).order_by(*order))
    return [
        {
            key: json.loads(value) if key in geometries and value is not None else plain(value)
            for key, value in row._mapping.items()
        }
        for row in result
    ]


async def export_account(conn: AsyncConnection, account_id: int) -> dict[str, Any] | None:
    """The account's own rows and its household's; of other households, only their ids."""
    found = await rows_of(conn, Account, Account.id == account_id)
    if not found:
        return None
    account = found[0]
    household_id = account["household_id"]
    mine = household_id if household_id is not None else -1  # matches no household
    households = await rows_of(conn, Household, Household.id == mine)
    household = households[0] if households else None
    return {
        "account": account,
        "household": household,
        "items": await rows_of(conn, Item, Item.household_id == mine),
        "loans": await rows_of(
            conn, Loan, or_(Loan.borrower_household_id == mine, Loan.lender_household_id == mine)
        ),
        "posts": await rows_of(conn, Post, Post.account_id == account_id),
        "comments": await rows_of(conn, Comment, Comment.account_id == account_id),
        "reviewsWritten": await rows_of(
            conn, LoanReview, LoanReview.reviewer_account_id == account_id
        ),
        "skills": await rows_of(conn, Skill, Skill.household_id == mine),
        "carpools": await rows_of(conn, Carpool, Carpool.household_id == mine),
        "carpoolBookings": await rows_of(conn, CarpoolBooking, CarpoolBooking.household_id == mine),
        "gardens": await rows_of(conn, Garden, Garden.household_id == mine),
        "gardenWaitlist": await rows_of(
            conn, GardenWaitlistEntry, GardenWaitlistEntry.household_id == mine
        ),
        "reportsFiled": await rows_of(conn, Report, Report.reporter_account_id == account_id),
        "feedback": await rows_of(conn, Feedback, Feedback.account_id == account_id),
        "notifications": await rows_of(conn, Notification, Notification.household_id == mine),
    }


async def other_members(conn: AsyncConnection, household_id: int, account_id: int) -> int:
    """Accounts of the household besides this one. The household row is locked first, so two
    members deleting their accounts at once are serialised: the second sees the first gone,
    and erases the household."""
    await conn.execute(select(Household.id).where(Household.id == household_id).with_for_update())
    result = await conn.execute(
        select(func.count())
        .select_from(Account)
        .where(Account.household_id == household_id, Account.id != account_id)
    )
    return int(result.scalar_one())


RELEASE_SEATS = text(
    """
    WITH gone AS (
        DELETE FROM carpool_bookings WHERE household_id = :household_id
        RETURNING carpool_id, departs_on
    ), freed AS (
        SELECT carpool_id, departs_on, count(*) AS seats FROM gone GROUP BY 1, 2
    )
    UPDATE carpool_departures AS d SET seats_booked = d.seats_booked - freed.seats
      FROM freed
     WHERE d.carpool_id = freed.carpool_id AND d.departs_on = freed.departs_on
    """
)


async def erase_household(conn: AsyncConnection, household_id: int) -> None:
    """Turn a household nobody signs in to any more into an anonymous tombstone.

    Its pending loans are cancelled, its offers (items without a loan, skills, gardens,
    carpools) and its inbox (notifications, which name its neighbours) deleted and the items
    its loans refer to withdrawn and emptied; its exact home becomes its public (displaced)
    location, its name "Ancien voisin".
    """
    is_borrower = Loan.borrower_household_id == household_id
    await conn.execute(
        update(Loan)
        .where(
            or_(is_borrower, Loan.lender_household_id == household_id),
            Loan.state.in_(("REQUESTED", "ACCEPTED")),
        )
        .values(
            state="CANCELLED",
            cancelled_by=case((is_borrower, "BORROWER"), else_="LENDER"),
            updated_at=func.now(),
        )
    )
    has_loan = exists().where(Loan.item_id == Item.id)
    await conn.execute(delete(Item).where(Item.household_id == household_id, ~has_loan))
    await conn.execute(
        update(Item)
        .where(Item.household_id == household_id)
        .values(available=False, description="", photo_urls=[], updated_at=func.now())
    )
    await conn.execute(RELEASE_SEATS, {"household_id": household_id})
    offers = (Skill, Garden, Carpool, GardenWaitlistEntry, PartnerAuthorisation, Notification)
    for model in offers:
        await conn.execute(delete(model).where(model.household_id == household_id))
    await conn.execute(
        update(Household)
        .where(Household.id == household_id)
        .values(
            name=ERASED_HOUSEHOLD_NAME,
            home_location=Household.public_location,
            erased_at=func.now(),
        )
    )


async def delete_account_row(conn: AsyncConnection, account_id: int) -> None:
    """The account and what only it used (tokens, roles: ON DELETE CASCADE); content it wrote
    keeps its household and loses its account (ON DELETE SET NULL); feedback its reply address."""
    await conn.execute(update(Feedback).where(Feedback.account_id == account_id).values(email=None))
    await conn.execute(delete(Account).where(Account.id == account_id))

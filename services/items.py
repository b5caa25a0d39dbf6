"""Item use cases: editing an item's details, withdrawing it, and its booked days.

Only the lending household changes its item (FORBIDDEN for others). Withdrawing an item deletes
its loans with it (ON DELETE CASCADE), so each borrower holding an accepted or handed-over loan
that has not ended is told, in the same transaction (LOAN_CANCELLED, subject: their loan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import items as item_queries
from db.queries import loans as loan_queries
from db.queries.events import notify_household
from db.queries.items import ItemRow
from services.errors import Refusal, forbidden, not_found

NO_ITEM = "No item has this ID."
NOT_YOURS = "Only the household that lends this item may change it."


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemDetails:
    """An item's details as `createItem` takes them, already checked by the API."""

    title: str
    description: str
    category: str
    condition: str
    terms: str
    deposit_cents: int | None
    price_per_day_cents: int | None
    photo_urls: list[str]


@dataclass(frozen=True, slots=True)
class ItemWithdrawn:
    item_id: int
    borrowers_notified: int


async def _owned(engine: AsyncEngine, item_id: int, household_id: int) -> ItemRow | Refusal:
    async with engine.connect() as conn:
        rows = await item_queries.items_by_id(conn, [item_id])
    row = rows.get(item_id)
    if row is None:
        return not_found(NO_ITEM)
    if row.household_id != household_id:
        return forbidden(NOT_YOURS)
    return row


async def update_item(
    engine: AsyncEngine, *, household_id: int, item_id: int, details: ItemDetails, today: date
) -> ItemRow | Refusal:
    """Replace the item's details; its availability and its loans are unchanged. Borrowers of
    its accepted or handed-over loans ending `today` or later are told (ITEM_CHANGED), once
    each: what they agreed to borrow (terms, deposit) may have changed."""
    owned = await _owned(engine, item_id, household_id)
    if isinstance(owned, Refusal):
        return owned
    async with engine.begin() as conn:
        row = await item_queries.update_item(
            conn,
            item_id,
            household_id=household_id,
            title=details.title,
            description=details.description,
            category=details.category,
            condition=details.condition,
            terms=details.terms,
            deposit_cents=details.deposit_cents,
            price_per_day_cents=details.price_per_day_cents,
            photo_urls=details.photo_urls,
        )
        if row is None:
            return not_found(NO_ITEM)
        holding = await loan_queries.loans_holding(conn, item_id, since=today)
        for borrower in dict.fromkeys(borrower for _, borrower, _ in holding):
            await notify_household(
                conn,
                borrower,
                kind="ITEM_CHANGED",
                subject_type="Item",
                subject_id=item_id,
                message=f"« {row.title} », que vous empruntez, a été modifié par son prêteur.",
            )
    return row


async def withdraw_item(
    engine: AsyncEngine, *, household_id: int, item_id: int, today: date
) -> ItemWithdrawn | Refusal:
    """Delete the item; borrowers of its accepted or handed-over loans ending `today` or later
    are told that their loan is cancelled."""
    owned = await _owned(engine, item_id, household_id)
    if isinstance(owned, Refusal):
        return owned
    async with engine.begin() as conn:
        holding = await loan_queries.loans_holding(conn, item_id, since=today)
        if not await item_queries.delete_item(conn, item_id, household_id=household_id):
            return not_found(NO_ITEM)
        for loan_id, borrower, starts_on in holding:
            await notify_household(
                conn,
                borrower,
                kind="LOAN_CANCELLED",
                subject_type="Loan",
                subject_id=loan_id,
                message=f"« {owned.title} » n'est plus prêté : votre prêt du "
                f"{starts_on:%d/%m} est annulé.",
            )
    return ItemWithdrawn(item_id=item_id, borrowers_notified=len(holding))


async def booked_days(
    engine: AsyncEngine, item_id: int, *, first_day: date, last_day: date
) -> list[date]:
    """Days an accepted or handed-over loan holds the item (no borrower's identity)."""
    async with engine.connect() as conn:
        return await loan_queries.booked_days(conn, item_id, first_day=first_day, last_day=last_day)


async def household_items(
    engine: AsyncEngine, household_id: int, *, limit: int, after_id: int | None
) -> list[ItemRow]:
    """A page of the household's own items, newest first (for the household itself)."""
    async with engine.connect() as conn:
        return await item_queries.household_items(
            conn, household_id, limit=limit, after_id=after_id
        )

"""Garden use cases for its owner: editing, withdrawing, reading the waiting list and offering
a plot to the first household in line; and the lists of one's own gardens and waiting places.

Only the owner household changes its garden or reads its waiting list (FORBIDDEN for others:
the list names households). The households concerned are told through `notify_household`
inside the transaction: the first in line when a plot is offered to it (GARDEN_PLOT_OFFERED),
everyone waiting when the garden is withdrawn (GARDEN_WITHDRAWN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import gardens as garden_queries
from db.queries.events import notify_household
from db.queries.gardens import GardenRow, WaitlistEntryRow
from services.errors import Refusal, forbidden, not_found

NO_GARDEN = "No garden has this ID."
NOT_YOURS = "Only the household that offers this garden may do this."


@dataclass(frozen=True, slots=True, kw_only=True)
class GardenDetails:
    """What an owner may change, checked by the API as at creation. The kind and the place
    stay (a PRIVATE garden's place decides what others see: withdraw and list it again)."""

    name: str
    description: str
    plots_total: int
    plots_free: int


@dataclass(frozen=True, slots=True)
class GardenWithdrawn:
    garden_id: int
    households_notified: int


@dataclass(frozen=True, slots=True)
class PlotOffered:
    garden: GardenRow
    household_id: int


@dataclass(frozen=True, slots=True)
class WaitlistPlace:
    garden: GardenRow
    position: int
    joined_at: datetime
    entry_id: int


async def owned_garden(
    engine: AsyncEngine, garden_id: int, household_id: int
) -> GardenRow | Refusal:
    async with engine.connect() as conn:
        row = (await garden_queries.gardens_by_id(conn, [garden_id])).get(garden_id)
    if row is None:
        return not_found(NO_GARDEN)
    if row.household_id != household_id:
        return forbidden(NOT_YOURS)
    return row


async def update_garden(
    engine: AsyncEngine, *, household_id: int, garden_id: int, details: GardenDetails
) -> GardenRow | Refusal:
    owned = await owned_garden(engine, garden_id, household_id)
    if isinstance(owned, Refusal):
        return owned
    async with engine.begin() as conn:
        row = await garden_queries.update_garden(
            conn,
            garden_id,
            household_id=household_id,
            name=details.name,
            description=details.description,
            plots_total=details.plots_total,
            plots_free=details.plots_free,
        )
    return row if row is not None else not_found(NO_GARDEN)


async def withdraw_garden(
    engine: AsyncEngine, *, household_id: int, garden_id: int
) -> GardenWithdrawn | Refusal:
    """Delete the garden and its waiting list; each household that waited is told."""
    owned = await owned_garden(engine, garden_id, household_id)
    if isinstance(owned, Refusal):
        return owned
    async with engine.begin() as conn:
        waiting = await garden_queries.waitlisted_households(conn, garden_id)
        if not await garden_queries.delete_garden(conn, garden_id, household_id=household_id):
            return not_found(NO_GARDEN)
        for waiter in waiting:
            await notify_household(
                conn,
                waiter,
                kind="GARDEN_WITHDRAWN",
                subject_type="Garden",
                subject_id=garden_id,
                message=f"Le jardin « {owned.name} » n'est plus proposé : sa liste d'attente "
                "est close.",
            )
    return GardenWithdrawn(garden_id=garden_id, households_notified=len(waiting))


async def offer_plot(
    engine: AsyncEngine, *, household_id: int, garden_id: int
) -> PlotOffered | Refusal:
    """Give a free plot to the first household in line: it leaves the list, `plotsFree` goes
    down by one, and it is told. Refused when no plot is free or nobody waits."""
    async with engine.begin() as conn:
        garden = await garden_queries.lock_garden(conn, garden_id)
        if garden is None:
            return not_found(NO_GARDEN)
        if garden.household_id != household_id:
            return forbidden(NOT_YOURS)
        if garden.plots_free < 1:
            return Refusal(
                "BAD_USER_INPUT",
                "No plot is free: raise plotsFree (updateGarden) when one is.",
                "gardenId",
            )
        first = await garden_queries.take_first_in_line(conn, garden_id)
        if first is None:
            return not_found("Nobody is on this garden's waiting list.")
        row = await garden_queries.set_plots_free(conn, garden_id, garden.plots_free - 1)
        await notify_household(
            conn,
            first,
            kind="GARDEN_PLOT_OFFERED",
            subject_type="Garden",
            subject_id=garden_id,
            message=f"Une parcelle du jardin « {garden.name} » vous est attribuée.",
        )
    return PlotOffered(garden=row, household_id=first)


async def waitlist(
    engine: AsyncEngine,
    *,
    household_id: int | None,
    garden: GardenRow,
    limit: int,
    after_position: int | None,
) -> list[WaitlistEntryRow] | None:
    """The waiting list in order, for the owner household only (None for anyone else)."""
    if household_id != garden.household_id:
        return None
    async with engine.connect() as conn:
        return await garden_queries.waitlist(
            conn, garden.id, limit=limit, after_position=after_position
        )


async def my_gardens(
    engine: AsyncEngine, household_id: int, *, limit: int, after_id: int | None
) -> list[GardenRow]:
    async with engine.connect() as conn:
        return await garden_queries.household_gardens(
            conn, household_id, limit=limit, after_id=after_id
        )


async def my_waitlist_places(
    engine: AsyncEngine, household_id: int, *, limit: int, after_id: int | None
) -> list[WaitlistPlace]:
    async with engine.connect() as conn:
        rows = await garden_queries.household_waitlist_places(
            conn, household_id, limit=limit, after_id=after_id
        )
    return [WaitlistPlace(*row) for row in rows]

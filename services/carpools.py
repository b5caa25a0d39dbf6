"""Carpool use cases: booking and cancelling a seat, cancelling a trip.

Each function owns its transaction; the counterpart hears of a change (the driver of a booking
or a cancelled seat, every passenger still to ride of a cancelled trip) through
`notify_household` inside that transaction, so the notification exists only if it commits.
Inputs arrive checked by the API (`api.resolvers.carpool_input`); refusals are `Refusal`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from shapely import LineString
from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import carpools as carpool_queries
from db.queries.carpools import (
    DRIVER,
    BookingOutcome,
    CarpoolRow,
    PassengerRow,
    departure_at,
    local_date,
)
from db.queries.events import notify_household
from geo.coords import LngLat
from services.errors import Refusal, forbidden, not_found

NO_TRIP = "No carpool has this ID."


@dataclass(frozen=True, slots=True)
class SeatCancelled:
    carpool: CarpoolRow
    departs_on: date


@dataclass(frozen=True, slots=True)
class CarpoolCancelled:
    carpool_id: int
    passengers_notified: int
    """Households with a seat on a departure still to come, each told once."""


async def book_seat(
    engine: AsyncEngine, carpool: CarpoolRow, household_id: int, departs_on: date
) -> tuple[BookingOutcome, int] | Refusal:
    """One seat for the household on the departure of local date `departs_on` (checked by the
    caller to be one the trip runs, in the future); the outcome and the seats left."""
    if carpool.household_id == household_id:
        return forbidden("You drive this trip: seats are for passengers.")
    async with engine.begin() as conn:
        outcome, seats_left = await carpool_queries.book_seat(
            conn, carpool.id, household_id, departs_on
        )
        if outcome is BookingOutcome.BOOKED:
            await notify_household(
                conn,
                carpool.household_id,
                kind="SEAT_BOOKED",
                subject_type="Carpool",
                subject_id=carpool.id,
                message=f"Une place est réservée dans votre covoiturage du {departs_on:%d/%m}.",
            )
    return outcome, seats_left


def booked_day(carpool: CarpoolRow, departs_on: date | None) -> date | Refusal:
    """The departure a cancellation means: `date`, optional for a one-off trip only."""
    if departs_on is not None:
        return departs_on
    if carpool.departs_at is None:
        return Refusal("BAD_USER_INPUT", "A weekly trip is booked per date: give `date`.", "date")
    return local_date(carpool, carpool.departs_at)


async def cancel_seat(
    engine: AsyncEngine,
    *,
    household_id: int,
    carpool_id: int,
    departs_on: date | None,
    now: datetime,
) -> SeatCancelled | Refusal:
    """Give back the household's seat on one departure still to come; the driver is told."""
    async with engine.begin() as conn:
        carpool = await carpool_queries.lock_carpool(conn, carpool_id)
        if carpool is None:
            return not_found(NO_TRIP)
        day = booked_day(carpool, departs_on)
        if isinstance(day, Refusal):
            return day
        leaves_at = departure_at(carpool, day)
        if leaves_at is not None and leaves_at <= now:
            return Refusal(
                "BAD_USER_INPUT", "This departure has already left: nothing changed.", "date"
            )
        if not await carpool_queries.cancel_booking(conn, carpool_id, household_id, day):
            return not_found(f"Your household has no seat on the {day.isoformat()} departure.")
        await notify_household(
            conn,
            carpool.household_id,
            kind="SEAT_CANCELLED",
            subject_type="Carpool",
            subject_id=carpool.id,
            message=f"Une place de votre covoiturage du {day:%d/%m} a été libérée.",
        )
    return SeatCancelled(carpool=carpool, departs_on=day)


async def cancel_carpool(
    engine: AsyncEngine, *, household_id: int, carpool_id: int, now: datetime
) -> CarpoolCancelled | Refusal:
    """Withdraw a trip its household drives: the trip, its departures and its bookings are
    deleted, and every household booked on a departure from today on is told (once)."""
    async with engine.begin() as conn:
        carpool = await carpool_queries.lock_carpool(conn, carpool_id)
        if carpool is None:
            return not_found(NO_TRIP)
        if carpool.household_id != household_id:
            return forbidden("Only the household that drives this trip may cancel it.")
        passengers = await carpool_queries.passengers_from(
            conn, carpool.id, local_date(carpool, now)
        )
        await carpool_queries.delete_carpool(conn, carpool.id)
        first_day: dict[int, date] = {}
        for passenger, day in passengers:
            first_day.setdefault(passenger, day)
        for passenger, day in first_day.items():
            await notify_household(
                conn,
                passenger,
                kind="SEAT_CANCELLED",
                subject_type="Carpool",
                subject_id=carpool.id,
                message=f"Le covoiturage du {day:%d/%m} est annulé par son conducteur.",
            )
    return CarpoolCancelled(carpool_id=carpool.id, passengers_notified=len(first_day))


@dataclass(frozen=True, slots=True)
class MyCarpools:
    trips: list[tuple[CarpoolRow, str]]
    """(trip, DRIVER or PASSENGER), newest trip first."""
    passengers: dict[int, list[PassengerRow]]
    """Passengers still to ride, of the trips the household drives only."""


async def my_carpools(
    engine: AsyncEngine, household_id: int, *, limit: int, after_id: int | None, today: date
) -> MyCarpools:
    """A page of the trips the household drives or rides, and the passengers of those it
    drives (departures from `today` on): two statements whatever the page size."""
    async with engine.connect() as conn:
        trips = await carpool_queries.household_carpools(
            conn, household_id, limit=limit, after_id=after_id
        )
        driven = [trip.id for trip, role in trips if role == DRIVER]
        passengers = await carpool_queries.passengers_by_carpool(conn, driven, since=today)
    return MyCarpools(trips=trips, passengers=passengers)


async def passengers(
    engine: AsyncEngine, *, household_id: int | None, carpool: CarpoolRow, today: date
) -> list[PassengerRow] | None:
    """The trip's passengers from `today` on, for its driver only (None for anyone else)."""
    if household_id != carpool.household_id:
        return None
    async with engine.connect() as conn:
        found = await carpool_queries.passengers_by_carpool(conn, [carpool.id], since=today)
    return found[carpool.id]


@dataclass(frozen=True, slots=True, kw_only=True)
class TripDetails:
    """A trip as `createCarpool` takes it, checked by the API."""

    origin: LngLat
    destination: LngLat
    route: LineString | None
    departs_at: datetime | None
    weekdays: list[int] | None
    departure_time: time | None
    seats_total: int
    description: str


@dataclass(frozen=True, slots=True)
class CarpoolUpdated:
    carpool: CarpoolRow
    passengers_notified: int
    seats_cancelled: int
    """Seats on dates the new schedule no longer runs: cancelled, their households told."""


async def update_carpool(
    engine: AsyncEngine, *, household_id: int, carpool_id: int, trip: TripDetails, now: datetime
) -> CarpoolUpdated | Refusal:
    """Replace a trip its household drives. Departures from today on take the new number of
    seats (refused below the seats already booked on one of them); a seat on a date the trip no
    longer runs is cancelled (SEAT_CANCELLED), and every other household still to ride is told
    the trip changed (CARPOOL_CHANGED), once each."""
    async with engine.begin() as conn:
        current = await carpool_queries.lock_carpool(conn, carpool_id)
        if current is None:
            return not_found(NO_TRIP)
        if current.household_id != household_id:
            return forbidden("Only the household that drives this trip may change it.")
        today = local_date(current, now)
        booked, busiest = await carpool_queries.most_booked_from(conn, current.id, today)
        if booked > trip.seats_total:
            return Refusal(
                "BAD_USER_INPUT",
                f"{booked} seats are already booked on the {busiest} departure: offer at least "
                "that many, or ask passengers to cancel.",
                "seatsTotal",
            )
        row = await carpool_queries.update_carpool(
            conn,
            current,
            origin=trip.origin,
            destination=trip.destination,
            route=trip.route,
            departs_at=trip.departs_at,
            weekdays=trip.weekdays,
            departure_time=trip.departure_time,
            seats_total=trip.seats_total,
            description=trip.description,
        )
        await carpool_queries.set_departure_seats(conn, row.id, row.seats_total, today)
        told: set[int] = set()
        cancelled = 0
        for passenger, day in await carpool_queries.passengers_from(conn, row.id, today):
            leaves_at = departure_at(row, day)
            if leaves_at is not None and leaves_at <= now:
                continue  # today's departure, gone already: history
            if leaves_at is None:
                await carpool_queries.cancel_booking(conn, row.id, passenger, day)
                cancelled += 1
                await notify_household(
                    conn,
                    passenger,
                    kind="SEAT_CANCELLED",
                    subject_type="Carpool",
                    subject_id=row.id,
                    message=f"Le covoiturage ne part plus le {day:%d/%m} : votre place est "
                    "annulée.",
                )
            elif passenger not in told:
                told.add(passenger)
                await notify_household(
                    conn,
                    passenger,
                    kind="CARPOOL_CHANGED",
                    subject_type="Carpool",
                    subject_id=row.id,
                    message=f"Le covoiturage du {day:%d/%m} a été modifié par son conducteur.",
                )
    return CarpoolUpdated(carpool=row, passengers_notified=len(told), seats_cancelled=cancelled)

"""Carpool queries: offering trips, and booking seats without ever overbooking.

A trip is one-off (`departs_at`) or weekly (`weekdays` 1 = Monday … 7 = Sunday at a wall-clock
`departure_time` in `timezone`, Europe/Paris). Seats are counted per departure date, local time.
Distances are metres on the sphere (geography, `use_spheroid => false`, like `<->`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from geoalchemy2.shape import from_shape
from shapely import LineString
from shapely.geometry import shape
from sqlalchemy import Row, case, delete, func, insert, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Carpool, CarpoolBooking, CarpoolDeparture, Household
from db.queries.neighbourhoods import point_param
from geo.coords import LngLat
from geo.routes import initial_bearing_deg, trip_to_public


@dataclass(frozen=True, slots=True, kw_only=True)
class CarpoolRow:
    """A trip as stored. `origin`, `destination` and the route are exact: the API shows them
    to the driver and, near a departure they booked, to passengers only. Searches never compare
    anything with them (they read the `public_*` columns), and the areas shown to strangers are
    those of `public_origin` and `public_destination` (displaced 150–400 m, drawn once)."""

    id: int
    household_id: int
    origin: LngLat
    destination: LngLat
    public_origin: LngLat
    public_destination: LngLat
    route_geojson: str | None
    departs_at: datetime | None
    weekdays: tuple[int, ...] | None
    departure_time: time | None
    timezone: str
    seats_total: int
    description: str
    created_at: datetime


class BookingOutcome(Enum):
    BOOKED = "BOOKED"
    FULL = "FULL"
    ALREADY_BOOKED = "ALREADY_BOOKED"


CARPOOL_COLUMNS = (
    Carpool.id,
    Carpool.household_id,
    Carpool.departs_at,
    Carpool.weekdays,
    Carpool.departure_time,
    Carpool.timezone,
    Carpool.seats_total,
    Carpool.description,
    Carpool.created_at,
    func.ST_X(Carpool.origin).label("origin_lng"),
    func.ST_Y(Carpool.origin).label("origin_lat"),
    func.ST_X(Carpool.destination).label("destination_lng"),
    func.ST_Y(Carpool.destination).label("destination_lat"),
    func.ST_X(Carpool.public_origin).label("public_origin_lng"),
    func.ST_Y(Carpool.public_origin).label("public_origin_lat"),
    func.ST_X(Carpool.public_destination).label("public_destination_lng"),
    func.ST_Y(Carpool.public_destination).label("public_destination_lat"),
    func.ST_AsGeoJSON(Carpool.route, 6).label("route_geojson"),
)


def to_row(row: Row[Any]) -> CarpoolRow:
    """Times come back in the trip's own time zone (7:45+01:00, not 6:45Z), as people read them."""
    m = row._mapping
    zone = ZoneInfo(m["timezone"])
    return CarpoolRow(
        id=m["id"],
        household_id=m["household_id"],
        origin=LngLat(lng=m["origin_lng"], lat=m["origin_lat"]),
        destination=LngLat(lng=m["destination_lng"], lat=m["destination_lat"]),
        public_origin=LngLat(lng=m["public_origin_lng"], lat=m["public_origin_lat"]),
        public_destination=LngLat(lng=m["public_destination_lng"], lat=m["public_destination_lat"]),
        route_geojson=m["route_geojson"],
        departs_at=m["departs_at"].astimezone(zone) if m["departs_at"] else None,
        weekdays=tuple(m["weekdays"]) if m["weekdays"] is not None else None,
        departure_time=m["departure_time"],
        timezone=m["timezone"],
        seats_total=m["seats_total"],
        description=m["description"],
        created_at=m["created_at"],
    )


def departure_at(row: CarpoolRow, day: date) -> datetime | None:
    """When the trip leaves on local date `day`, or None when it does not run that day.

    Weekly times are wall-clock times in the trip's time zone, so 7:45 stays 7:45 across the
    daylight-saving change (as PostgreSQL's `AT TIME ZONE` in the matching query).
    """
    zone = ZoneInfo(row.timezone)
    if row.departs_at is not None:
        return row.departs_at if row.departs_at.astimezone(zone).date() == day else None
    assert row.weekdays is not None and row.departure_time is not None, "CHECK one_schedule"
    if day.isoweekday() not in row.weekdays:
        return None
    return datetime.combine(day, row.departure_time, tzinfo=zone)


def local_date(row: CarpoolRow, moment: datetime) -> date:
    """The date of `moment` where the trip runs: bookings are counted per local date."""
    return moment.astimezone(ZoneInfo(row.timezone)).date()


async def create_carpool(
    conn: AsyncConnection,
    household_id: int,
    *,
    origin: LngLat,
    destination: LngLat,
    route: LineString | None,
    departs_at: datetime | None,
    weekdays: Sequence[int] | None,
    departure_time: time | None,
    seats_total: int,
    description: str,
) -> CarpoolRow:
    """Insert a trip with its public places, drawn here once by `geo.routes.trip_to_public`
    (ends displaced 150–400 m, route clipped around the exact ends): matching reads only those."""
    public = trip_to_public(origin, destination, route)
    result = await conn.execute(
        insert(Carpool)
        .values(
            household_id=household_id,
            origin=point_param(origin),
            destination=point_param(destination),
            route=from_shape(route, srid=4326) if route is not None else None,
            bearing_deg=initial_bearing_deg(origin, destination),
            public_origin=point_param(public.origin),
            public_destination=point_param(public.destination),
            public_route=from_shape(public.route, srid=4326) if public.route is not None else None,
            public_bearing_deg=public.bearing_deg,
            departs_at=departs_at,
            weekdays=sorted(set(weekdays)) if weekdays is not None else None,
            departure_time=departure_time,
            seats_total=seats_total,
            description=description,
        )
        .returning(*CARPOOL_COLUMNS)
    )
    return to_row(result.one())


async def carpools_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, CarpoolRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*CARPOOL_COLUMNS).where(Carpool.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


ENSURE_DEPARTURE = text(
    """
    INSERT INTO carpool_departures (carpool_id, departs_on, seats_total)
    SELECT id, :departs_on, seats_total FROM carpools WHERE id = :carpool_id
    ON CONFLICT (carpool_id, departs_on) DO NOTHING
    """
)


async def book_seat(
    conn: AsyncConnection, carpool_id: int, household_id: int, departs_on: date
) -> tuple[BookingOutcome, int]:
    """Book one seat for the household on local date `departs_on`; the outcome and seats left.

    The departure's counter row is locked (`FOR UPDATE`) before counting, so concurrent
    bookings of one departure run one after the other and the last seat goes to exactly one of
    them; the others see it taken and get FULL. The booking's insert trigger then bumps the
    counter, whose CHECK (`seats_booked <= seats_total`) would refuse an overbooking even from
    a writer that skipped this lock. Nothing is written unless the outcome is BOOKED (the
    counter row is only ever new when no seat of that date was booked yet).
    """
    keys = {"carpool_id": carpool_id, "departs_on": departs_on}
    await conn.execute(ENSURE_DEPARTURE, keys)
    counter = (
        await conn.execute(
            select(CarpoolDeparture.seats_total, CarpoolDeparture.seats_booked)
            .where(
                CarpoolDeparture.carpool_id == carpool_id,
                CarpoolDeparture.departs_on == departs_on,
            )
            .with_for_update()
        )
    ).one()
    seats_left = int(counter.seats_total) - int(counter.seats_booked)
    booked = await conn.execute(
        select(CarpoolBooking.id).where(
            CarpoolBooking.carpool_id == carpool_id,
            CarpoolBooking.departs_on == departs_on,
            CarpoolBooking.household_id == household_id,
        )
    )
    if booked.first() is not None:
        return BookingOutcome.ALREADY_BOOKED, seats_left
    if seats_left <= 0:
        return BookingOutcome.FULL, 0
    await conn.execute(
        insert(CarpoolBooking).values(
            carpool_id=carpool_id, departs_on=departs_on, household_id=household_id
        )
    )
    return BookingOutcome.BOOKED, seats_left - 1


async def booked_dates_by_key(
    conn: AsyncConnection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], tuple[date, ...]]:
    """Dates each (carpool_id, household_id) pair booked, in order; absent: no booking."""
    if not keys:
        return {}
    result = await conn.execute(
        select(CarpoolBooking.carpool_id, CarpoolBooking.household_id, CarpoolBooking.departs_on)
        .where(tuple_(CarpoolBooking.carpool_id, CarpoolBooking.household_id).in_(list(keys)))
        .order_by(CarpoolBooking.departs_on)
    )
    out: dict[tuple[int, int], tuple[date, ...]] = {}
    for carpool_id, household_id, departs_on in result.all():
        key = (int(carpool_id), int(household_id))
        out[key] = (*out.get(key, ()), departs_on)
    return out


async def seats_booked_by_key(
    conn: AsyncConnection, keys: Sequence[tuple[int, date]]
) -> dict[tuple[int, date], int]:
    """Seats booked on each (carpool_id, local date) pair; absent pairs have none booked."""
    if not keys:
        return {}
    result = await conn.execute(
        select(
            CarpoolDeparture.carpool_id, CarpoolDeparture.departs_on, CarpoolDeparture.seats_booked
        ).where(tuple_(CarpoolDeparture.carpool_id, CarpoolDeparture.departs_on).in_(list(keys)))
    )
    booked = {(int(cid), day): int(count) for cid, day, count in result.all()}
    return {key: booked.get(key, 0) for key in keys}


async def cancel_booking(
    conn: AsyncConnection, carpool_id: int, household_id: int, departs_on: date
) -> bool:
    """Delete the household's seat on that departure; False when it had none. The bookings'
    delete trigger gives the seat back to the departure's counter in the same transaction."""
    result = await conn.execute(
        delete(CarpoolBooking)
        .where(
            CarpoolBooking.carpool_id == carpool_id,
            CarpoolBooking.household_id == household_id,
            CarpoolBooking.departs_on == departs_on,
        )
        .returning(CarpoolBooking.id)
    )
    return result.first() is not None


async def lock_carpool(conn: AsyncConnection, carpool_id: int) -> CarpoolRow | None:
    """The trip, its row locked until the transaction ends (a cancellation and a booking of
    the same trip then run one after the other: no seat is booked on a cancelled trip)."""
    result = await conn.execute(
        select(*CARPOOL_COLUMNS).where(Carpool.id == carpool_id).with_for_update(of=Carpool)
    )
    row = result.first()
    return to_row(row) if row is not None else None


async def passengers_from(
    conn: AsyncConnection, carpool_id: int, since: date
) -> list[tuple[int, date]]:
    """(household_id, local date) of every seat booked on the trip from `since` on, by date."""
    result = await conn.execute(
        select(CarpoolBooking.household_id, CarpoolBooking.departs_on)
        .where(CarpoolBooking.carpool_id == carpool_id, CarpoolBooking.departs_on >= since)
        .order_by(CarpoolBooking.departs_on, CarpoolBooking.id)
    )
    return [(int(household_id), day) for household_id, day in result.all()]


async def delete_carpool(conn: AsyncConnection, carpool_id: int) -> None:
    """Delete the trip; its departures and bookings go with it (ON DELETE CASCADE)."""
    await conn.execute(delete(Carpool).where(Carpool.id == carpool_id))


DRIVER = "DRIVER"
PASSENGER = "PASSENGER"


async def household_carpools(
    conn: AsyncConnection, household_id: int, *, limit: int, after_id: int | None
) -> list[tuple[CarpoolRow, str]]:
    """(trip, DRIVER or PASSENGER) for the trips the household drives or has a seat on (any
    date), newest trip first, keyset-paged on the trip id: one statement per page."""
    booked = select(CarpoolBooking.carpool_id).where(CarpoolBooking.household_id == household_id)
    conditions = [or_(Carpool.household_id == household_id, Carpool.id.in_(booked))]
    if after_id is not None:
        conditions.append(Carpool.id < after_id)
    role = case((Carpool.household_id == household_id, DRIVER), else_=PASSENGER).label("role")
    result = await conn.execute(
        select(*CARPOOL_COLUMNS, role).where(*conditions).order_by(Carpool.id.desc()).limit(limit)
    )
    return [(to_row(row), str(row.role)) for row in result]


@dataclass(frozen=True, slots=True)
class PassengerRow:
    carpool_id: int
    departs_on: date
    household_name: str


async def passengers_by_carpool(
    conn: AsyncConnection, carpool_ids: Sequence[int], *, since: date
) -> dict[int, list[PassengerRow]]:
    """Who booked each trip's departures from `since` on (household names), by date then
    booking: for the driver. One statement for any number of trips."""
    if not carpool_ids:
        return {}
    result = await conn.execute(
        select(CarpoolBooking.carpool_id, CarpoolBooking.departs_on, Household.name)
        .join(Household, Household.id == CarpoolBooking.household_id)
        .where(CarpoolBooking.carpool_id.in_(carpool_ids), CarpoolBooking.departs_on >= since)
        .order_by(CarpoolBooking.carpool_id, CarpoolBooking.departs_on, CarpoolBooking.id)
    )
    out: dict[int, list[PassengerRow]] = {int(ident): [] for ident in carpool_ids}
    for carpool_id, departs_on, name in result.all():
        out[int(carpool_id)].append(PassengerRow(int(carpool_id), departs_on, name))
    return out


async def update_carpool(
    conn: AsyncConnection,
    current: CarpoolRow,
    *,
    origin: LngLat,
    destination: LngLat,
    route: LineString | None,
    departs_at: datetime | None,
    weekdays: Sequence[int] | None,
    departure_time: time | None,
    seats_total: int,
    description: str,
) -> CarpoolRow:
    """Replace a trip (the caller holds its row lock and checked its driver). Its public
    places are drawn again, as at creation, only when an end or the route changed (drawing
    them anew for nothing would hand a new random sample of the same place to whoever watches
    the searches)."""
    same_route = (route is None and current.route_geojson is None) or (
        route is not None
        and current.route_geojson is not None
        and shape(json.loads(current.route_geojson)).equals_exact(route, 1e-6)
    )
    same_places = origin == current.origin and destination == current.destination and same_route
    values: dict[str, Any] = {
        "departs_at": departs_at,
        "weekdays": sorted(set(weekdays)) if weekdays is not None else None,
        "departure_time": departure_time,
        "seats_total": seats_total,
        "description": description,
    }
    if not same_places:
        public = trip_to_public(origin, destination, route)
        values |= {
            "origin": point_param(origin),
            "destination": point_param(destination),
            "route": from_shape(route, srid=4326) if route is not None else None,
            "bearing_deg": initial_bearing_deg(origin, destination),
            "public_origin": point_param(public.origin),
            "public_destination": point_param(public.destination),
            "public_route": from_shape(public.route, srid=4326)
            if public.route is not None
            else None,
            "public_bearing_deg": public.bearing_deg,
        }
    result = await conn.execute(
        update(Carpool).where(Carpool.id == current.id).values(**values).returning(*CARPOOL_COLUMNS)
    )
    return to_row(result.one())


async def most_booked_from(
    conn: AsyncConnection, carpool_id: int, since: date
) -> tuple[int, date | None]:
    """The most seats booked on one departure from `since` on, and that departure's date."""
    result = await conn.execute(
        select(CarpoolDeparture.seats_booked, CarpoolDeparture.departs_on)
        .where(CarpoolDeparture.carpool_id == carpool_id, CarpoolDeparture.departs_on >= since)
        .order_by(CarpoolDeparture.seats_booked.desc(), CarpoolDeparture.departs_on)
        .limit(1)
    )
    row = result.first()
    return (int(row[0]), row[1]) if row is not None else (0, None)


async def set_departure_seats(
    conn: AsyncConnection, carpool_id: int, seats_total: int, since: date
) -> None:
    """Give the departures from `since` on the trip's new number of seats (checked by the
    caller to hold their bookings; the CHECK on the counters refuses otherwise)."""
    await conn.execute(
        update(CarpoolDeparture)
        .where(CarpoolDeparture.carpool_id == carpool_id, CarpoolDeparture.departs_on >= since)
        .values(seats_total=seats_total)
    )

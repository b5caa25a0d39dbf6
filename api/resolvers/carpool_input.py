"""Inputs of the carpool resolvers and their checks, turned into `UserError`s with stable codes.

Times must carry a UTC offset, except a weekly trip's wall-clock `departureTime` (Europe/Paris).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import strawberry
from shapely import LineString

from api.errors import ErrorCode, UserError
from api.horizons import CARPOOL_HORIZON, check_not_after
from api.inputs import LocationInput
from api.scalars import GeoJSON
from api.settings import Settings
from api.validation import aware, clean_text
from db.queries.carpools import CarpoolRow, departure_at, local_date
from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.errors import GeoValidationError
from geo.routes import check_route_ends, geojson_to_linestring

DEFAULT_RADIUS_M = 2_000
MAX_RADIUS_M = 20_000
"""Beyond 20 km from your door a lift is no longer a neighbour's."""
MIN_TRIP_M = 1_000
MAX_TRIP_M = 500_000
MAX_WINDOW = timedelta(days=31)
MAX_SEATS = 8


@strawberry.input(
    description="A trip to offer: one-off (departsAt) or weekly (weekdays and departureTime)."
)
class CreateCarpoolInput:
    origin: LocationInput = strawberry.field(
        description="The meeting place where you pick passengers up (not necessarily your "
        "home). Others see only its area until they book a seat."
    )
    destination: LocationInput = strawberry.field(
        description="Where the trip ends, at least 1 km from the origin; shown as the origin."
    )
    route: GeoJSON | None = strawberry.field(
        default=None,
        description="Optional GeoJSON LineString (lng/lat) of the way you drive, from the "
        "origin to the destination (within 500 m), at most 2,000 positions: passengers "
        "anywhere along it then match.",
    )
    departs_at: datetime | None = strawberry.field(
        default=None,
        description="One-off trip: when you leave, with a UTC offset, at most 183 days ahead "
        "(DATE_TOO_FAR beyond).",
    )
    weekdays: list[int] | None = strawberry.field(
        default=None,
        description="Weekly trip: the days you drive, 1 = Monday … 7 = Sunday.",
    )
    departure_time: time | None = strawberry.field(
        default=None,
        description="Weekly trip: when you leave, wall-clock time in Europe/Paris (07:45:00).",
    )
    seats_total: int = strawberry.field(description="Seats you offer on each departure, 1 to 8.")
    description: str = strawberry.field(default="", description="Notes, up to 1,000 chars.")


@strawberry.input(
    description="A trip's new details, all of them, checked exactly as createCarpool's."
)
class UpdateCarpoolInput(CreateCarpoolInput):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanTrip:
    origin: LngLat
    destination: LngLat
    route: LineString | None
    departs_at: datetime | None
    weekdays: list[int] | None
    departure_time: time | None
    seats_total: int
    description: str


def clean_trip(input: CreateCarpoolInput, *, now: datetime) -> CleanTrip:
    origin = input.origin.to_lnglat()
    destination = input.destination.to_lnglat()
    check_trip_length(origin, destination, argument="destination")
    route = clean_route(input.route, origin, destination) if input.route is not None else None
    weekly = input.weekdays is not None or input.departure_time is not None
    if weekly == (input.departs_at is not None):
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "Give `departsAt` for a one-off trip, or `weekdays` and `departureTime` for a "
            "weekly one.",
            argument="departsAt",
        )
    departs_at = aware(input.departs_at, "departsAt")
    if departs_at is not None and not now < departs_at:
        raise UserError(
            ErrorCode.BAD_USER_INPUT, "`departsAt` must be in the future.", argument="departsAt"
        )
    if departs_at is not None:
        check_not_after(departs_at, now=now, limit=CARPOOL_HORIZON, argument="departsAt")
    if weekly:
        check_weekly(input.weekdays, input.departure_time)
    if not 1 <= input.seats_total <= MAX_SEATS:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`seatsTotal` must be between 1 and {MAX_SEATS}.",
            argument="seatsTotal",
        )
    return CleanTrip(
        origin=origin,
        destination=destination,
        route=route,
        departs_at=departs_at,
        weekdays=input.weekdays,
        departure_time=input.departure_time,
        seats_total=input.seats_total,
        description=clean_text(
            input.description, argument="description", max_length=1000, min_length=0
        ),
    )


def check_weekly(weekdays: list[int] | None, departure_time: time | None) -> None:
    if not weekdays or not all(1 <= day <= 7 for day in weekdays):
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "`weekdays` lists the days the trip runs, 1 = Monday … 7 = Sunday.",
            argument="weekdays",
        )
    if departure_time is None or departure_time.tzinfo is not None:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "A weekly trip needs `departureTime`, a wall-clock time without offset (07:45:00).",
            argument="departureTime",
        )


def clean_route(value: object, origin: LngLat, destination: LngLat) -> LineString:
    try:
        line = geojson_to_linestring(value)
        check_route_ends(line, origin=origin, destination=destination)
    except GeoValidationError as error:
        raise UserError(error.code, error.message, argument="route") from None
    return line


def check_trip_length(start: LngLat, end: LngLat, *, argument: str) -> None:
    """A trip needs a direction (its two ends apart) and stays a local, car-length one."""
    distance_m = great_circle_m(start, end)
    if not MIN_TRIP_M <= distance_m <= MAX_TRIP_M:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"The two ends of a trip must be {MIN_TRIP_M:,} m to {MAX_TRIP_M // 1000} km apart.",
            argument=argument,
        )


def check_radius(radius_m: int | None, settings: Settings) -> int:
    """The match radius: 2 km by default, never below the proximity floor (privacy: a tiny
    radius asked from many points would pin meeting places down), at most 20 km."""
    if radius_m is None:
        return DEFAULT_RADIUS_M
    floor_m, ceiling_m = settings.proximity_floor_m, min(MAX_RADIUS_M, settings.search_ceiling_m)
    if not floor_m <= radius_m <= ceiling_m:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`radiusMeters` must be between {floor_m} and {ceiling_m}: radii below {floor_m} m "
            f"are refused to protect drivers' meeting places; got {radius_m}.",
            argument="radiusMeters",
        )
    return radius_m


def check_window(after: datetime, before: datetime) -> None:
    if not after < before <= after + MAX_WINDOW:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "`departBefore` must come after `departAfter`, at most 31 days later.",
            argument="departBefore",
        )


def booking_departure(row: CarpoolRow, day: date | None, *, now: datetime) -> tuple[date, datetime]:
    """The (local date, departure time) a booking is for; refuses days the trip does not run."""
    if day is None:
        if row.departs_at is None:
            raise UserError(
                ErrorCode.BAD_USER_INPUT,
                "This trip runs weekly: give the `date` of the departure you want.",
                argument="date",
            )
        day = local_date(row, row.departs_at)
    departs_at = departure_at(row, day)
    if departs_at is None:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"This trip does not leave on {day.isoformat()}.",
            argument="date",
        )
    if departs_at <= now:
        raise UserError(
            ErrorCode.BAD_USER_INPUT, "This departure has already left.", argument="date"
        )
    check_not_after(departs_at, now=now, limit=CARPOOL_HORIZON, argument="date")
    return day, departs_at

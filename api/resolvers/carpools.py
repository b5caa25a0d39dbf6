"""Carpools: offering trips, booking seats, and `carpoolMatches`. Thin: validate, call db, wrap.

Matching rules live in `db.queries.carpool_matches` (SQL) and `geo.routes` (bearings), input
checks in `api.resolvers.carpool_input`; this module authorises, pages with id-only cursors and
wraps results.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    ForbiddenError,
    MutationError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
)
from api.horizons import PARIS
from api.inputs import LocationInput
from api.pagination import decode_id_cursor, encode_cursor, keyset_page_info, page_size
from api.resolvers.carpool_input import (
    CreateCarpoolInput,
    UpdateCarpoolInput,
    booking_departure,
    check_radius,
    check_trip_length,
    check_window,
    clean_trip,
)
from api.resolvers.household_access import acting_household
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.service_errors import refusal_error
from api.types.carpool import (
    Carpool,
    CarpoolDeparture,
    CarpoolMatchConnection,
    CarpoolMatchEdge,
    CarpoolRole,
    MyCarpoolConnection,
    MyCarpoolEdge,
)
from api.types.loan import AlreadyBookedError
from api.validation import aware, decode_node_id
from db.queries import carpool_matches as match_queries
from db.queries import carpools as carpool_queries
from db.queries.carpool_matches import MatchRequest
from db.queries.carpools import BookingOutcome
from geo.distance import round_distance_m
from services import carpools as carpool_service
from services.errors import Refusal

Info = strawberry.Info[Context, None]

CURSOR_KIND = "c"
MINE_CURSOR_KIND = "mc"


@strawberry.type(description="The trip is offered.")
class CreateCarpoolSuccess:
    carpool: Carpool


@strawberry.type(
    description="A seat is yours. The pick-up point is shown to you from 2 days before the "
    "departure (carpool.exactPlacesAvailableFrom)."
)
class BookSeatSuccess:
    carpool: Carpool
    local_date: date = strawberry.field(description="The departure's date in Europe/Paris.")
    departs_at: datetime = strawberry.field(description="When it leaves.")
    seats_left: int = strawberry.field(description="Seats still free on it after yours.")


@strawberry.type(description="Every seat of this departure is taken; nothing was booked.")
class NoSeatsLeftError(MutationError):
    pass


CreateCarpoolResult = Annotated[
    CreateCarpoolSuccess | ValidationError | UnauthenticatedError | ForbiddenError,
    strawberry.union("CreateCarpoolResult"),
]
BookSeatResult = Annotated[
    BookSeatSuccess
    | NoSeatsLeftError
    | AlreadyBookedError
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | ForbiddenError,
    strawberry.union("BookSeatResult"),
]


@strawberry.type(description="Your seat is given back; the driver is notified (SEAT_CANCELLED).")
class CancelSeatSuccess:
    carpool: Carpool = strawberry.field(description="The trip, as it is now.")
    local_date: date = strawberry.field(description="The departure's date in Europe/Paris.")


@strawberry.type(
    description="The trip is cancelled and deleted with its bookings; every household booked "
    "on a departure still to come is notified (SEAT_CANCELLED)."
)
class CancelCarpoolSuccess:
    cancelled_carpool_id: relay.GlobalID = strawberry.field(description="Global ID it had.")
    passengers_notified: int = strawberry.field(
        description="Households that had a seat on a departure from today on, each told once."
    )


@strawberry.type(
    description="The trip is changed. Seats on dates it no longer runs are cancelled "
    "(SEAT_CANCELLED to their households); every other household still to ride is notified "
    "(CARPOOL_CHANGED)."
)
class UpdateCarpoolSuccess:
    carpool: Carpool = strawberry.field(description="The trip as it is now.")
    passengers_notified: int = strawberry.field(
        description="Households still to ride that were told of the change, each once."
    )
    seats_cancelled: int = strawberry.field(
        description="Seats booked on dates the trip no longer runs, now cancelled."
    )


UpdateCarpoolResult = Annotated[
    UpdateCarpoolSuccess | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("UpdateCarpoolResult"),
]
CancelSeatResult = Annotated[
    CancelSeatSuccess | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("CancelSeatResult"),
]
CancelCarpoolResult = Annotated[
    CancelCarpoolSuccess | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("CancelCarpoolResult"),
]


@strawberry.type
class CarpoolQuery:
    @strawberry.field(
        description="Trips you could ride on, least added distance first. A trip matches when "
        "its origin is within radiusMeters of `from` and its destination within radiusMeters "
        "of `to` and it heads your way (within 45°), or when its route line passes within "
        "radiusMeters of both with `from` before `to` along it; and it has a departure with a "
        "free seat between departAfter and departBefore (weekly trips on their weekdays)."
    )
    async def carpool_matches(
        self,
        info: Info,
        from_: Annotated[
            LocationInput,
            strawberry.argument(name="from", description="Where you want to be picked up."),
        ],
        to: Annotated[LocationInput, strawberry.argument(description="Where you want to go.")],
        depart_after: Annotated[
            datetime, strawberry.argument(description="Earliest departure, with a UTC offset.")
        ],
        depart_before: Annotated[
            datetime,
            strawberry.argument(description="Latest departure; at most 31 days after departAfter."),
        ],
        radius_meters: Annotated[
            int | None,
            strawberry.argument(
                description="How far from your points a trip may pass, in metres: at least the "
                "proximity floor (500 by default), at most 20,000; default 2,000."
            ),
        ] = None,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page, same arguments."),
        ] = None,
    ) -> CarpoolMatchConnection:
        settings = info.context.settings
        pickup, dropoff = from_.to_lnglat(), to.to_lnglat()
        check_trip_length(pickup, dropoff, argument="to")
        request = MatchRequest(
            pickup=pickup,
            dropoff=dropoff,
            depart_after=aware(depart_after, "departAfter"),
            depart_before=aware(depart_before, "departBefore"),
            radius_m=check_radius(radius_meters, settings),
        )
        check_window(request.depart_after, request.depart_before)
        limit = page_size(first, settings.max_page_size)
        after_id = decode_id_cursor(after, CURSOR_KIND)
        async with info.context.reader.connect() as conn:
            anchor = None
            if after_id is not None:
                gap_m = await match_queries.carpool_added_distance_m(conn, request, after_id)
                if gap_m is None:
                    raise UserError(
                        ErrorCode.INVALID_CURSOR,
                        "The trip this cursor points at no longer matches: start again.",
                    )
                anchor = (gap_m, after_id)
            rows = await match_queries.carpool_matches(conn, request, limit=limit + 1, after=anchor)
        edges = [
            CarpoolMatchEdge(
                node=Carpool.from_row(match.carpool),
                cursor=encode_cursor(CURSOR_KIND, match.carpool.id),
                added_distance_meters=round_distance_m(match.added_distance_m),
                departures=[CarpoolDeparture.from_row(row) for row in match.departures],
            )
            for match in rows[:limit]
        ]
        return CarpoolMatchConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=anchor),
            radius_meters=int(request.radius_m),
        )

    @strawberry.field(
        description="Trips your household drives or has a seat on, newest first, with your "
        "role; the driver also sees each trip's passengers. Signed in, with a household. "
        "Two statements per page whatever its size."
    )
    async def my_carpools(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> MyCarpoolConnection:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            raise UserError(household_id.code, household_id.message)
        limit = page_size(first, info.context.settings.max_page_size)
        after_id = decode_id_cursor(after, MINE_CURSOR_KIND)
        mine = await carpool_service.my_carpools(
            info.context.reader,
            household_id,
            limit=limit + 1,
            after_id=after_id,
            today=datetime.now(PARIS).date(),
        )
        edges = []
        for row, role in mine.trips[:limit]:
            carpool = Carpool.from_row(row)
            carpool.known_passengers = mine.passengers.get(row.id)
            edges.append(
                MyCarpoolEdge(
                    node=carpool,
                    role=CarpoolRole(role),
                    cursor=encode_cursor(MINE_CURSOR_KIND, row.id),
                )
            )
        return MyCarpoolConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(mine.trips), limit=limit, after=after_id),
        )


@strawberry.type
class CarpoolMutation:
    @strawberry.mutation(
        description="Offer a trip your household drives (signed in, with a household)."
    )
    async def create_carpool(self, info: Info, input: CreateCarpoolInput) -> CreateCarpoolResult:
        viewer = info.context.viewer
        household_id = acting_household(viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            trip = clean_trip(input, now=datetime.now(UTC))
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row = await carpool_queries.create_carpool(
                conn,
                household_id,
                origin=trip.origin,
                destination=trip.destination,
                route=trip.route,
                departs_at=trip.departs_at,
                weekdays=trip.weekdays,
                departure_time=trip.departure_time,
                seats_total=trip.seats_total,
                description=trip.description,
            )
        return CreateCarpoolSuccess(carpool=Carpool.from_row(row))

    @strawberry.mutation(
        description="Book one seat for your household on a trip's departure; `date` is the "
        "local date (required for weekly trips). Never more seats than offered, even when "
        "several people book the last one at once. The pick-up point is shown to you from 2 days "
        "before the departure. DATE_TOO_FAR beyond 183 days ahead."
    )
    async def book_seat(
        self,
        info: Info,
        carpool_id: relay.GlobalID,
        day: Annotated[
            date | None,
            strawberry.argument(name="date", description="Departure date in Europe/Paris."),
        ] = None,
    ) -> BookSeatResult:
        viewer = info.context.viewer
        household_id = acting_household(viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            ident = decode_carpool_id(carpool_id)
        except UserError as error:
            return validation_error(error)
        row = await info.context.loaders.carpool_by_id.load(ident)
        if row is None:
            return NotFoundError(code=ErrorCode.NOT_FOUND, message="No carpool has this ID.")
        if row.household_id == household_id:
            return forbidden("You drive this trip: seats are for passengers.")
        try:
            departs_on, departs_at = booking_departure(row, day, now=datetime.now(UTC))
        except UserError as error:
            return validation_error(error)
        booked = await carpool_service.book_seat(info.context.engine, row, household_id, departs_on)
        if isinstance(booked, Refusal):
            return refusal_error(booked)  # type: ignore[return-value]
        outcome, seats_left = booked
        if outcome is BookingOutcome.ALREADY_BOOKED:
            return AlreadyBookedError(
                code=ErrorCode.ALREADY_BOOKED,
                message="Your household already has a seat on this departure; nothing changed.",
            )
        if outcome is BookingOutcome.FULL:
            return NoSeatsLeftError(
                code=ErrorCode.NO_SEATS_LEFT,
                message=f"Every seat of the {departs_on.isoformat()} departure is taken.",
            )
        return BookSeatSuccess(
            carpool=Carpool.from_row(row),
            local_date=departs_on,
            departs_at=departs_at,
            seats_left=seats_left,
        )

    @strawberry.mutation(
        description="Change a trip your household drives (driver only): every detail at once, "
        "checked exactly as createCarpool's; nothing is written when one is refused, nor when "
        "seatsTotal is below the seats already booked on a departure still to come "
        "(BAD_USER_INPUT on seatsTotal). Seats on dates it no longer runs are cancelled and "
        "their households told; every other passenger still to ride is notified."
    )
    async def update_carpool(
        self, info: Info, id: relay.GlobalID, input: UpdateCarpoolInput
    ) -> UpdateCarpoolResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        now = datetime.now(UTC)
        try:
            ident = decode_node_id(
                id, "Carpool", argument="id", message="This is not a carpool ID."
            )
            trip = clean_trip(input, now=now)
        except UserError as error:
            return validation_error(error)
        details = carpool_service.TripDetails(
            origin=trip.origin,
            destination=trip.destination,
            route=trip.route,
            departs_at=trip.departs_at,
            weekdays=trip.weekdays,
            departure_time=trip.departure_time,
            seats_total=trip.seats_total,
            description=trip.description,
        )
        done = await carpool_service.update_carpool(
            info.context.engine, household_id=household_id, carpool_id=ident, trip=details, now=now
        )
        if isinstance(done, Refusal):
            return refusal_error(done)  # type: ignore[return-value]
        return UpdateCarpoolSuccess(
            carpool=Carpool.from_row(done.carpool),
            passengers_notified=done.passengers_notified,
            seats_cancelled=done.seats_cancelled,
        )

    @strawberry.mutation(
        description="Give back your household's seat on one departure still to come; `date` is "
        "the local date (required for weekly trips). The driver is notified (SEAT_CANCELLED). "
        "NOT_FOUND when your household has no seat on that departure; BAD_USER_INPUT once it "
        "has left."
    )
    async def cancel_seat(
        self,
        info: Info,
        carpool_id: relay.GlobalID,
        day: Annotated[
            date | None,
            strawberry.argument(name="date", description="Departure date in Europe/Paris."),
        ] = None,
    ) -> CancelSeatResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            ident = decode_carpool_id(carpool_id)
        except UserError as error:
            return validation_error(error)
        done = await carpool_service.cancel_seat(
            info.context.engine,
            household_id=household_id,
            carpool_id=ident,
            departs_on=day,
            now=datetime.now(UTC),
        )
        if isinstance(done, Refusal):
            return refusal_error(done)  # type: ignore[return-value]
        return CancelSeatSuccess(carpool=Carpool.from_row(done.carpool), local_date=done.departs_on)

    @strawberry.mutation(
        description="Cancel a trip your household drives (driver only): the trip and its "
        "bookings are deleted, and every household booked on a departure from today on is "
        "notified (SEAT_CANCELLED)."
    )
    async def cancel_carpool(self, info: Info, id: relay.GlobalID) -> CancelCarpoolResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            ident = decode_node_id(
                id, "Carpool", argument="id", message="This is not a carpool ID."
            )
        except UserError as error:
            return validation_error(error)
        done = await carpool_service.cancel_carpool(
            info.context.engine, household_id=household_id, carpool_id=ident, now=datetime.now(UTC)
        )
        if isinstance(done, Refusal):
            return refusal_error(done)  # type: ignore[return-value]
        return CancelCarpoolSuccess(
            cancelled_carpool_id=id, passengers_notified=done.passengers_notified
        )


def decode_carpool_id(value: relay.GlobalID) -> int:
    return decode_node_id(
        value, "Carpool", argument="carpoolId", message="This is not a carpool ID."
    )

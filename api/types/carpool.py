"""The public Carpool type and its match connection, built explicitly from `CarpoolRow`.

Privacy rule: the origin is a meeting place the driver chose, which may still be their door, and
the destination may be their workplace. Strangers see each end as the centre of its area (an H3
cell of about 36 km², `geo.routes.lnglat_to_area_centre`, holding the trip's public, displaced
end: never the exact end's cell) and distances rounded (measured to those public places); the
exact pick-up and drop-off points and the route line are shown to the driver and, from
`EXACT_PLACE_LEAD` (2 days) before a departure they booked until `EXACT_PLACE_GRACE` (12 hours)
after it, to that departure's passengers (`api.horizons`). A seat booked months ahead shows
nothing until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.horizons import EXACT_PLACE_GRACE, EXACT_PLACE_LEAD
from api.inputs import Location
from api.pagination import PageInfo
from api.scalars import GeoJSON
from api.types.neighbour import Neighbour
from api.validation import node_keys
from db.queries.carpool_matches import DepartureRow
from db.queries.carpools import CarpoolRow, PassengerRow, departure_at, local_date
from geo.routes import lnglat_to_area_centre
from services import carpools as carpool_service

Info = strawberry.Info[Context, None]


@strawberry.type(
    description="A trip a household drives and offers seats on: one-off (departsAt) or weekly "
    "(weekdays at departureTime, wall-clock time in `timezone`)."
)
class Carpool(relay.Node):
    id: relay.NodeID[int]
    seats_total: int = strawberry.field(description="Seats offered on each departure, 1 to 8.")
    description: str = strawberry.field(description="Driver's notes, up to 1,000 characters.")
    departs_at: datetime | None = strawberry.field(
        description="One-off trips: when it leaves. Null for weekly trips."
    )
    weekdays: list[int] | None = strawberry.field(
        description="Weekly trips: the days it runs, 1 = Monday … 7 = Sunday (ISO 8601)."
    )
    departure_time: time | None = strawberry.field(
        description="Weekly trips: the departure's wall-clock time in `timezone`."
    )
    timezone: str = strawberry.field(description="IANA time zone of the trip: Europe/Paris.")
    created_at: datetime = strawberry.field(description="When the trip was offered.")
    row: strawberry.Private[CarpoolRow]
    known_passengers: strawberry.Private[list[PassengerRow] | None] = None
    """Set by `myCarpools` for the trips the viewer drives (fetched with the page)."""

    @classmethod
    def from_row(cls, row: CarpoolRow) -> Carpool:
        return cls(
            id=row.id,
            seats_total=row.seats_total,
            description=row.description,
            departs_at=row.departs_at,
            weekdays=list(row.weekdays) if row.weekdays is not None else None,
            departure_time=row.departure_time,
            timezone=row.timezone,
            created_at=row.created_at,
            row=row,
        )

    async def booked_dates(self, info: Info) -> tuple[date, ...]:
        household_id = info.context.viewer.household_id
        if household_id is None:
            return ()
        loader = info.context.loaders.booked_dates_by_carpool_household
        return await loader.load((self.row.id, household_id)) or ()

    async def shows_exact_places(self, info: Info) -> bool:
        """The driver; a passenger only around a departure they booked (see the module)."""
        if info.context.viewer.household_id == self.row.household_id:
            return True
        shown_from = await self.exact_places_shown_from(info)
        return shown_from is not None and shown_from <= datetime.now(UTC)

    async def exact_places_shown_from(self, info: Info) -> datetime | None:
        """Start of the viewer's next reveal window not yet over (None: no such booking)."""
        now = datetime.now(UTC)
        starts = [
            departs_at - EXACT_PLACE_LEAD
            for day in await self.booked_dates(info)
            if (departs_at := departure_at(self.row, day)) is not None
            and now <= departs_at + EXACT_PLACE_GRACE
        ]
        return min(starts, default=None)

    @strawberry.field(description="The household that drives: name and neighbourhood.")
    async def driver(self, info: Info) -> Neighbour:
        return await Neighbour.load(info, self.row.household_id)

    @strawberry.field(
        description="Roughly where the trip starts: the centre of the area (about 6 km "
        "across) holding the trip's public origin (the meeting place moved 150 to 400 m, once). "
        "The same for every trip whose public origin lies in that area."
    )
    def approximate_origin(self) -> Location:
        # From the public point: the exact point's own cell, beside a public point searches
        # give away, would say on which side of a cell's edge the meeting place lies
        # (tests/security/test_approximate_places.py).
        return Location.from_lnglat(lnglat_to_area_centre(self.row.public_origin))

    @strawberry.field(description="Roughly where the trip ends, as approximateOrigin.")
    def approximate_destination(self) -> Location:
        return Location.from_lnglat(lnglat_to_area_centre(self.row.public_destination))

    @strawberry.field(
        description="The exact meeting place. Always shown to the driver; to a passenger from "
        "2 days before a departure their household booked (bookSeat) until 12 hours after it "
        "(see exactPlacesAvailableFrom); null otherwise."
    )
    async def pickup_point(self, info: Info) -> Location | None:
        if not await self.shows_exact_places(info):
            return None
        return Location.from_lnglat(self.row.origin)

    @strawberry.field(description="The exact destination; shown as pickupPoint.")
    async def drop_off_point(self, info: Info) -> Location | None:
        if not await self.shows_exact_places(info):
            return None
        return Location.from_lnglat(self.row.destination)

    @strawberry.field(
        description="The route as a GeoJSON LineString (lng/lat), if the driver gave one; "
        "shown as pickupPoint, as it starts at the meeting place."
    )
    async def route(self, info: Info) -> GeoJSON | None:
        if self.row.route_geojson is None or not await self.shows_exact_places(info):
            return None
        return GeoJSON(self.row.route_geojson)

    @strawberry.field(
        description="When pickupPoint, dropOffPoint and route are shown to you: 2 days before "
        "the next departure your household booked (a past moment while they are shown). Null "
        "for the driver (who always sees them) and without an upcoming booking."
    )
    async def exact_places_available_from(self, info: Info) -> datetime | None:
        if info.context.viewer.household_id == self.row.household_id:
            return None
        return await self.exact_places_shown_from(info)

    @strawberry.field(
        description="The local dates (Europe/Paris) your household booked a seat on, in order."
    )
    async def my_booked_dates(self, info: Info) -> list[date]:
        return list(await self.booked_dates(info))

    @strawberry.field(
        description="Who rides, for the driver only (null for everyone else): each booked seat "
        "on a departure from today on, by date, with the passenger household's name."
    )
    async def passengers(self, info: Info) -> list[CarpoolPassenger] | None:
        if info.context.viewer.household_id != self.row.household_id:
            return None
        rows = self.known_passengers
        if rows is None:
            rows = await carpool_service.passengers(
                info.context.reader,
                household_id=info.context.viewer.household_id,
                carpool=self.row,
                today=local_date(self.row, datetime.now(UTC)),
            )
        return [
            CarpoolPassenger(local_date=row.departs_on, household_name=row.household_name)
            for row in rows or []
        ]

    @strawberry.field(
        description="Seats still free on a departure date (local, Europe/Paris). Defaults to a "
        "one-off trip's date; null when the trip does not run that day."
    )
    async def seats_left(
        self,
        info: Info,
        day: Annotated[
            date | None,
            strawberry.argument(name="date", description="Local date; see the field's text."),
        ] = None,
    ) -> int | None:
        if day is None and self.row.departs_at is not None:
            day = local_date(self.row, self.row.departs_at)
        if day is None or departure_at(self.row, day) is None:
            return None
        booked = await info.context.loaders.seats_booked_by_carpool_date.load((self.row.id, day))
        return self.row.seats_total - (booked or 0)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Carpool | None]:
        rows = await info.context.loaders.carpool_by_id.load_many(node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="One departure of a trip, with seats still free.")
class CarpoolDeparture:
    departs_at: datetime = strawberry.field(description="When it leaves.")
    local_date: date = strawberry.field(
        description="Its date in Europe/Paris: the `date` to pass to bookSeat."
    )
    seats_left: int = strawberry.field(description="Seats still free on it, at least 1.")

    @classmethod
    def from_row(cls, row: DepartureRow) -> CarpoolDeparture:
        return cls(departs_at=row.departs_at, local_date=row.departs_on, seats_left=row.seats_left)


@strawberry.type(description="A trip that suits you, with how far off your way it is.")
class CarpoolMatchEdge:
    node: Carpool
    cursor: str = strawberry.field(description="Pass as `after` to continue after this trip.")
    added_distance_meters: int = strawberry.field(
        description="How far the trip is from your points: pick-up gap + drop-off gap, in "
        "metres on the sphere (to its ends, or to its route line when that is closer), a "
        "stand-in for the driver's detour. Rounded: to 100 m below 2 km, to 500 m above."
    )
    departures: list[CarpoolDeparture] = strawberry.field(
        description="Its departures within your window that still have a seat, in time order."
    )


@strawberry.type(description="Trips that suit a passenger, smallest added distance first.")
class CarpoolMatchConnection:
    edges: list[CarpoolMatchEdge]
    page_info: PageInfo
    radius_meters: int = strawberry.field(description="The radius the search used, in metres.")


@strawberry.type(description="A household with a seat on one departure, as its driver sees it.")
class CarpoolPassenger:
    local_date: date = strawberry.field(description="The departure's date in Europe/Paris.")
    household_name: str = strawberry.field(description="The passenger household's name.")


@strawberry.enum(description="How your household takes part in a trip.")
class CarpoolRole(Enum):
    DRIVER = strawberry.enum_value("DRIVER", description="Your household drives it.")
    PASSENGER = strawberry.enum_value(
        "PASSENGER", description="Your household has (or had) a seat on it."
    )


@strawberry.type(description="A trip your household drives or rides.")
class MyCarpoolEdge:
    node: Carpool = strawberry.field(description="The trip.")
    role: CarpoolRole = strawberry.field(description="Driver or passenger.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this trip.")


@strawberry.type(description="Trips your household drives or rides, newest first.")
class MyCarpoolConnection:
    edges: list[MyCarpoolEdge] = strawberry.field(description="This page, newest trip first.")
    page_info: PageInfo = strawberry.field(description="Whether there is a next page, and cursors.")

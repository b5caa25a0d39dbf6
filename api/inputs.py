"""Input types shared by several resolvers, and their conversion to `geo` values."""

from __future__ import annotations

from contextvars import ContextVar

import strawberry

from api.errors import UserError
from geo.coords import LngLat, lnglat_from_values
from geo.errors import GeoValidationError
from geo.service_area import FRANCE, ServiceArea, check_served

SERVICE_AREA: ContextVar[ServiceArea] = ContextVar("voisinage_service_area", default=FRANCE)
"""The territory of the request being served, set by the app's context getter from
`Settings.service_area`. A context variable rather than an argument because `to_lnglat` is
called by every resolver that takes a location (a dozen modules): the check then cannot be
forgotten by one of them. The default is the production one, France."""


@strawberry.input(
    description="A point in WGS 84 degrees. Longitude (x, east) and latitude (y, north) are "
    "named, so the axis order cannot be mixed up: Chavenay is {lng: 1.99, lat: 48.85}. A point "
    "outside the territory served (France by default: metropolitan France and the overseas "
    "départements) is refused with OUTSIDE_SERVICE_AREA, whose message asks 'Latitude and "
    "longitude swapped?' when the point with its axes exchanged is inside."
)
class LocationInput:
    lng: float = strawberry.field(description="Longitude in degrees, in [-180, 180].")
    lat: float = strawberry.field(description="Latitude in degrees, in [-90, 90].")

    def to_lnglat(self) -> LngLat:
        """The validated point, inside the service area.

        Raises:
            UserError: INVALID_COORDINATES or OUTSIDE_SERVICE_AREA.
        """
        try:
            point = lnglat_from_values(lng=self.lng, lat=self.lat)
            return check_served(SERVICE_AREA.get(), point)
        except GeoValidationError as error:
            raise UserError(error.code, error.message) from None


@strawberry.type(description="A point in WGS 84 degrees (longitude, latitude).")
class Location:
    lng: float = strawberry.field(description="Longitude in degrees.")
    lat: float = strawberry.field(description="Latitude in degrees.")

    @classmethod
    def from_lnglat(cls, point: LngLat) -> Location:
        return cls(lng=point.lng, lat=point.lat)

"""Input types shared by several resolvers, and their conversion to `geo` values."""

from __future__ import annotations

from contextvars import ContextVar

import strawberry

from api.communes import commune_by_code
from api.errors import ErrorCode, UserError
from geo.coords import LngLat, lnglat_from_values
from geo.errors import GeoValidationError
from geo.service_area import FRANCE, ServiceArea, check_served

SERVICE_AREA: ContextVar[ServiceArea] = ContextVar("voisinage_service_area", default=FRANCE)
"""The territory of the request being served, set by the app's context getter from
`Settings.service_area`. A context variable rather than an argument because `to_lnglat` is
called by every resolver that takes a location (a dozen modules): the check then cannot be
forgotten by one of them. The default is the production one, France."""


@strawberry.input(
    description="A point in WGS 84 degrees, or a commune. Longitude (x, east) and latitude (y, "
    "north) are named, so the axis order cannot be mixed up: Chavenay is {lng: 1.99, lat: 48.85}. "
    'Searches may instead name a commune by its INSEE code, {communeCode: "78152"}: the search '
    "starts from its town hall (docs/partners.md); a home (registerHousehold, moveHousehold) "
    "needs its point. A point outside the territory served (France by default: metropolitan "
    "France and the overseas départements) is refused with OUTSIDE_SERVICE_AREA, whose message "
    "asks 'Latitude and longitude swapped?' when the point with its axes exchanged is inside."
)
class LocationInput:
    lng: float | None = strawberry.field(
        default=None, description="Longitude in degrees, in [-180, 180]; with `lat`."
    )
    lat: float | None = strawberry.field(
        default=None, description="Latitude in degrees, in [-90, 90]; with `lng`."
    )
    commune_code: str | None = strawberry.field(
        default=None,
        description="Instead of lng/lat: a commune's INSEE code (5 characters, e.g. 78152 for "
        "Chavenay, 2A004 for Ajaccio); the point is its town hall.",
    )

    def to_lnglat(self) -> LngLat:
        """The validated point (a commune's town hall for `communeCode`), inside the service area.

        Raises:
            UserError: INVALID_COORDINATES, BAD_USER_INPUT (commune) or OUTSIDE_SERVICE_AREA.
        """
        if self.commune_code is not None:
            if self.lng is not None or self.lat is not None:
                raise UserError(
                    ErrorCode.BAD_USER_INPUT, "Give either lng and lat, or communeCode: not both."
                )
            commune = commune_by_code(self.commune_code)
            if commune is None:
                raise UserError(
                    ErrorCode.BAD_USER_INPUT,
                    f"No commune has the INSEE code {self.commune_code[:12]!r}.",
                )
            return self._served(commune.point)
        return self.to_exact_lnglat()

    def to_exact_lnglat(self) -> LngLat:
        """The point itself, refusing a commune: for a home, whose assignment needs the door."""
        if self.commune_code is not None:
            raise UserError(
                ErrorCode.BAD_USER_INPUT,
                "A home needs its exact point (lng and lat), not a commune: it stays private.",
            )
        if self.lng is None or self.lat is None:
            raise UserError(
                ErrorCode.INVALID_COORDINATES, "Give both lng and lat (or communeCode to search)."
            )
        try:
            point = lnglat_from_values(lng=self.lng, lat=self.lat)
        except GeoValidationError as error:
            raise UserError(error.code, error.message) from None
        return self._served(point)

    @staticmethod
    def _served(point: LngLat) -> LngLat:
        try:
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

"""Input types shared by several resolvers, and their conversion to `geo` values."""

from __future__ import annotations

import strawberry

from api.errors import UserError
from geo.coords import LngLat, lnglat_from_values
from geo.errors import GeoValidationError


@strawberry.input(
    description="A point in WGS 84 degrees. Longitude (x, east) and latitude (y, north) are "
    "named, so the axis order cannot be mixed up: Chavenay is {lng: 1.99, lat: 48.85}."
)
class LocationInput:
    lng: float = strawberry.field(description="Longitude in degrees, in [-180, 180].")
    lat: float = strawberry.field(description="Latitude in degrees, in [-90, 90].")

    def to_lnglat(self) -> LngLat:
        try:
            return lnglat_from_values(lng=self.lng, lat=self.lat)
        except GeoValidationError as error:
            raise UserError(error.code, error.message) from None


@strawberry.type(description="A point in WGS 84 degrees (longitude, latitude).")
class Location:
    lng: float = strawberry.field(description="Longitude in degrees.")
    lat: float = strawberry.field(description="Latitude in degrees.")

    @classmethod
    def from_lnglat(cls, point: LngLat) -> Location:
        return cls(lng=point.lng, lat=point.lat)

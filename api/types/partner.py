"""Partner API keys as admins see them, and the aggregate figures partners may read."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry import relay

from api.context import Context
from api.scalars import GeoJSON
from api.types.household import Household
from api.types.neighbourhood import Neighbourhood
from db.queries.partners import PartnerKeyRow
from db.queries.stats import MonthFigures
from services import partners as partner_service


@strawberry.enum(description="What a partner key may read (and, with POST_ON_BEHALF, write).")
class PartnerScope(Enum):
    READ_PUBLIC = strawberry.enum_value(
        "READ_PUBLIC", description="Public data: searches, neighbourhoods, live posts near a point."
    )
    READ_NEIGHBOURHOODS = strawberry.enum_value(
        "READ_NEIGHBOURHOODS",
        description="Members' content (posts, households, skills, live feed) of the granted "
        "neighbourhoods and of those in the key's territory; read-only.",
    )
    READ_AGGREGATES = strawberry.enum_value(
        "READ_AGGREGATES",
        description="Monthly figures (new households, posts, loans) of those neighbourhoods, "
        "not people.",
    )
    POST_ON_BEHALF = strawberry.enum_value(
        "POST_ON_BEHALF",
        description="Write posts (createPost with onBehalfOf) for households that authorised "
        "this key (authorisePartner); reads nothing more.",
    )


@strawberry.type(description="A partner app's key (the secret itself is shown only once).")
class PartnerKey:
    id: relay.GlobalID
    name: str
    scopes: list[PartnerScope]
    safelist_only: bool = strawberry.field(
        description="Only registered (persisted) operations are accepted from this key."
    )
    has_territory: bool
    created_at: datetime
    revoked_at: datetime | None
    previous_secret_valid_until: datetime | None = strawberry.field(
        description="After a rotation, the old secret keeps working until then."
    )

    key_id: strawberry.Private[int]

    def shown_to_key(self, info: strawberry.Info[Context, None]) -> bool:
        return info.context.viewer.partner_key_id == self.key_id

    @strawberry.field(
        description="The neighbourhoods this key reads (granted by ID, or inside its territory). "
        "Shown to the key itself (currentPartnerKey); null for anyone else."
    )
    async def neighbourhoods(
        self, info: strawberry.Info[Context, None]
    ) -> list[Neighbourhood] | None:
        if not self.shown_to_key(info):
            return None
        granted = sorted(info.context.viewer.partner_neighbourhoods)
        rows = await info.context.loaders.neighbourhood_by_id.load_many(granted)
        return [Neighbourhood.from_row(row) for row in rows if row is not None]

    @strawberry.field(
        description="The key's territory as a GeoJSON (Multi)Polygon (lng/lat), null if it has "
        "none. Shown to the key itself and to admins."
    )
    async def territory(self, info: strawberry.Info[Context, None]) -> GeoJSON | None:
        if not (self.shown_to_key(info) or info.context.viewer.is_admin):
            return None
        value = await partner_service.key_territory(info.context.reader, self.key_id)
        return GeoJSON(json.loads(value)) if value is not None else None

    @strawberry.field(
        description="The households that authorise this key to post on their behalf now "
        "(authorisePartner), oldest grant first: names only, homes stay private. Shown to the "
        "key itself; null for anyone else."
    )
    async def authorising_households(
        self, info: strawberry.Info[Context, None]
    ) -> list[Household] | None:
        if not self.shown_to_key(info):
            return None
        rows = await partner_service.authorising_households(info.context.reader, self.key_id)
        return [Household.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: PartnerKeyRow) -> PartnerKey:
        return cls(
            key_id=row.id,
            id=relay.GlobalID("PartnerKey", str(row.id)),
            name=row.name,
            scopes=[PartnerScope[scope] for scope in row.scopes],
            safelist_only=row.safelist_only,
            has_territory=row.has_territory,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            previous_secret_valid_until=row.previous_valid_until,
        )


@strawberry.type(description="A key and its secret: store the secret now, it is never shown again.")
class PartnerKeySecret:
    key: PartnerKey
    secret: str = strawberry.field(description="Send as the `X-API-Key` header.")


@strawberry.type(description="One calendar month of a neighbourhood's activity.")
class MonthlyFigures:
    month: date = strawberry.field(description="First day of the month.")
    new_households: int
    posts: int
    loans: int

    @classmethod
    def from_row(cls, row: MonthFigures) -> MonthlyFigures:
        return cls(
            month=row.month, new_households=row.new_households, posts=row.posts, loans=row.loans
        )


@strawberry.type(description="Aggregate figures of a neighbourhood: counts, never people.")
class NeighbourhoodStats:
    member_count: int
    months: list[MonthlyFigures] = strawberry.field(description="Oldest month first.")

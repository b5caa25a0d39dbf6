"""Queries and mutations about neighbourhoods and households. Thin: validate, call db, wrap."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    unauthenticated,
)
from api.inputs import LocationInput
from api.pagination import (
    decode_distance_cursor,
    encode_cursor,
    keyset_page_info,
    page_size,
)
from api.resolvers.invitation_codes import redeem_on_registration
from api.scalars import GeoJSON, H3Cell
from api.types.household import Household
from api.types.neighbourhood import (
    Neighbourhood,
    NeighbourhoodConnection,
    NeighbourhoodEdge,
    NeighbourhoodKind,
    NeighbourhoodLookup,
)
from api.validation import clean_boundary, clean_commune_code, clean_text, decode_node_id
from db.queries import accounts as account_queries
from db.queries import households as household_queries
from db.queries import neighbourhoods as neighbourhood_queries
from db.rows import NeighbourhoodRow, Reassignment
from geo.cells import lnglat_to_cell
from geo.distance import round_distance_m

Info = strawberry.Info[Context, None]


def validation_error(error: UserError) -> ValidationError:
    return ValidationError(
        code=ErrorCode(error.code), message=error.message, field=error.extensions.get("argument")
    )


@strawberry.input(description="A new household and where its home is.")
class RegisterHouseholdInput:
    name: str = strawberry.field(description="Display name, 1 to 80 characters.")
    location: LocationInput = strawberry.field(
        description="The exact home location. Private: used for assignment only."
    )
    invitation_code: str | None = strawberry.field(
        default=None,
        description="An ambassador's invitation (inviteNeighbour): the household is approved "
        "at once if the home is in that neighbourhood; any other case is refused.",
    )


@strawberry.type(description="The household was registered and assigned to its neighbourhood.")
class RegisterHouseholdSuccess:
    household: Household
    neighbourhood: Neighbourhood


RegisterHouseholdResult = Annotated[
    RegisterHouseholdSuccess | ValidationError | UnauthenticatedError,
    strawberry.union("RegisterHouseholdResult"),
]


@strawberry.input(description="A neighbourhood network drawn by its residents.")
class CreateNeighbourhoodInput:
    name: str = strawberry.field(description="Display name, 1 to 120 characters.")
    boundary: GeoJSON = strawberry.field(
        description="GeoJSON Polygon or MultiPolygon, lng/lat, closed rings, valid."
    )
    commune_code: str | None = strawberry.field(
        default=None, description="INSEE code of the commune it matches, if any."
    )


@strawberry.type(description="A boundary was drawn or changed and households reassigned.")
class NeighbourhoodChanged:
    neighbourhood: Neighbourhood
    households_moved_in: int = strawberry.field(description="Households that joined it.")
    households_moved_out: int = strawberry.field(description="Households that left it.")

    @classmethod
    def build(cls, row: NeighbourhoodRow, moves: Reassignment) -> NeighbourhoodChanged:
        return cls(
            neighbourhood=Neighbourhood.from_row(row),
            households_moved_in=moves.moved_in,
            households_moved_out=moves.moved_out,
        )


CreateNeighbourhoodResult = Annotated[
    NeighbourhoodChanged | ValidationError | UnauthenticatedError,
    strawberry.union("CreateNeighbourhoodResult"),
]
UpdateNeighbourhoodBoundaryResult = Annotated[
    NeighbourhoodChanged | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("UpdateNeighbourhoodBoundaryResult"),
]


def decode_neighbourhood_id(value: relay.GlobalID) -> int:
    return decode_node_id(
        value, "Neighbourhood", argument="id", message="This is not a neighbourhood ID."
    )


@strawberry.type
class NeighbourhoodQuery:
    @strawberry.field(description="Which neighbourhood a home at this point would join.")
    async def neighbourhood_at(self, info: Info, location: LocationInput) -> NeighbourhoodLookup:
        point = location.to_lnglat()
        cell = lnglat_to_cell(point, info.context.settings.h3_resolution)
        async with info.context.reader.connect() as conn:
            row = await neighbourhood_queries.neighbourhood_at(conn, point, cell)
        if row is None:
            return NeighbourhoodLookup(
                neighbourhood=None, kind=NeighbourhoodKind.H3_CELL, h3_cell=H3Cell(cell)
            )
        return NeighbourhoodLookup(
            neighbourhood=Neighbourhood.from_row(row),
            kind=NeighbourhoodKind(row.kind),
            h3_cell=H3Cell(cell),
        )

    @strawberry.field(description="One neighbourhood by its global ID (null if none).")
    async def neighbourhood(self, info: Info, id: relay.GlobalID) -> Neighbourhood | None:
        row = await info.context.loaders.neighbourhood_by_id.load(decode_neighbourhood_id(id))
        return Neighbourhood.from_row(row) if row else None

    @strawberry.field(description="Neighbourhoods nearest first from a point, across borders.")
    async def neighbourhoods(
        self,
        info: Info,
        near: LocationInput,
        first: int | None = None,
        after: str | None = None,
    ) -> NeighbourhoodConnection:
        origin = near.to_lnglat()
        limit = page_size(first, info.context.settings.max_page_size)
        cursor = decode_distance_cursor(after)
        async with info.context.reader.connect() as conn:
            rows = await neighbourhood_queries.nearest_neighbourhoods(
                conn, origin, limit=limit + 1, after=cursor
            )
        edges = [
            NeighbourhoodEdge(
                node=Neighbourhood.from_row(row),
                cursor=encode_cursor("d", distance_m, row.id),
                distance_meters=round_distance_m(distance_m),
            )
            for row, distance_m in rows[:limit]
        ]
        return NeighbourhoodConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=cursor),
        )


@strawberry.type
class NeighbourhoodMutation:
    @strawberry.mutation(
        description="Register your household (signed in, not yet in one); it joins its "
        "neighbourhood at once and your account becomes its member."
    )
    async def register_household(
        self, info: Info, input: RegisterHouseholdInput
    ) -> RegisterHouseholdResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        if viewer.household_id is not None:
            return ValidationError(
                code=ErrorCode.ALREADY_IN_HOUSEHOLD,
                message="Your account already belongs to a household.",
                field=None,
            )
        try:
            name = clean_text(input.name, argument="name", max_length=80)
            home = input.location.to_lnglat()
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            registration = await household_queries.register_account_household(
                conn,
                account_id=viewer.account_id,
                name=name,
                home=home,
                resolution=info.context.settings.h3_resolution,
            )
            # Memberships (docs/memberships.md): an approved newcomer without a code has no
            # invitation to redeem, which spares the common case a round trip.
            refused = None
            if input.invitation_code is not None or registration.membership_status != "APPROVED":
                refused = await redeem_on_registration(
                    conn,
                    account_id=viewer.account_id,
                    code=input.invitation_code,
                    household_id=registration.household.id,
                    neighbourhood_id=registration.neighbourhood.id,
                )
            if refused is not None:
                await conn.rollback()
                return refused
        household, neighbourhood = registration.household, registration.neighbourhood
        # The rows just written answer `household { neighbourhood }` and `node(id:)` too.
        info.context.loaders.neighbourhood_by_id.prime(neighbourhood.id, neighbourhood)
        info.context.loaders.household_by_id.prime(household.id, household)
        return RegisterHouseholdSuccess(
            household=Household.from_row(household, shown_to_itself=True),
            neighbourhood=Neighbourhood.from_row(neighbourhood),
        )

    @strawberry.mutation(
        description="Draw a neighbourhood network (signed in); households inside move in and "
        "you become its ambassador."
    )
    async def create_neighbourhood(
        self, info: Info, input: CreateNeighbourhoodInput
    ) -> CreateNeighbourhoodResult:
        settings = info.context.settings
        account_id = info.context.viewer.account_id
        if account_id is None:
            return unauthenticated()
        try:
            name = clean_text(input.name, argument="name", max_length=120)
            commune_code = clean_commune_code(input.commune_code)
            boundary = clean_boundary(
                input.boundary, max_area_m2=settings.max_neighbourhood_area_m2
            )
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row, moves = await neighbourhood_queries.create_polygon_neighbourhood(
                conn, name=name, boundary=boundary, commune_code=commune_code
            )
            await account_queries.grant_ambassador(conn, account_id, row.id)
        return NeighbourhoodChanged.build(row, moves)

    @strawberry.mutation(
        description="Change a drawn boundary (its ambassadors or an admin); households are "
        "reassigned in the same transaction."
    )
    async def update_neighbourhood_boundary(
        self, info: Info, id: relay.GlobalID, boundary: GeoJSON
    ) -> UpdateNeighbourhoodBoundaryResult:
        settings = info.context.settings
        viewer = info.context.viewer
        if viewer.is_anonymous:
            return unauthenticated()
        try:
            neighbourhood_id = decode_neighbourhood_id(id)
            shape = clean_boundary(boundary, max_area_m2=settings.max_neighbourhood_area_m2)
        except UserError as error:
            return validation_error(error)
        if not viewer.can_moderate(neighbourhood_id):
            return forbidden("Only this neighbourhood's ambassadors may change its boundary.")
        async with info.context.engine.begin() as conn:
            changed = await neighbourhood_queries.update_neighbourhood_boundary(
                conn, neighbourhood_id, shape
            )
        if changed is None:
            return NotFoundError(
                code=ErrorCode.NOT_FOUND, message="No drawn (POLYGON) neighbourhood has this ID."
            )
        return NeighbourhoodChanged.build(*changed)

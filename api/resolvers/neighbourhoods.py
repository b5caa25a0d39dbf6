"""Queries and mutations about neighbourhoods and households. Thin: validate, call db, wrap."""

from __future__ import annotations

from typing import Annotated

import strawberry
from shapely.geometry import MultiPolygon
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
from api.settings import Settings
from api.types.household import Household
from api.types.neighbourhood import (
    Neighbourhood,
    NeighbourhoodConnection,
    NeighbourhoodEdge,
    NeighbourhoodKind,
    NeighbourhoodLookup,
    NeighbourhoodMove,
    coarse_count,
)
from api.validation import clean_boundary, clean_commune_code, clean_text, decode_node_id
from db.queries import accounts as account_queries
from db.queries import households as household_queries
from db.queries import neighbourhoods as neighbourhood_queries
from db.queries.neighbourhoods import BoundaryChange, MoveDecision
from geo.boundaries import check_drawn_parts
from geo.cells import lnglat_to_cell
from geo.distance import round_distance_m
from geo.errors import GeoValidationError

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


@strawberry.type(
    description="A boundary was drawn or changed. Nobody else moved: the households the new "
    "boundary would take (or leave out) were invited to move and decide themselves "
    "(acceptNeighbourhoodMove); only your own household moved at once, if the rule says so."
)
class NeighbourhoodChanged:
    neighbourhood: Neighbourhood
    households_moved_in: int = strawberry.field(
        description="Households that joined it by this change: only yours can (others are "
        "invited), so 0 or 1."
    )
    households_moved_out: int = strawberry.field(
        description="Households that left it by this change: only yours can, so 0 or 1."
    )
    households_invited: int | None = strawberry.field(
        description="Roughly how many other households live inside and are not members yet: "
        "counted on their public locations (each 150-400 m from the home), rounded down to a "
        "multiple of 5, null when fewer than 5. It never tells where one home is."
    )

    @classmethod
    def build(cls, change: BoundaryChange) -> NeighbourhoodChanged:
        """For the drawer: its ambassador (or an admin), who reads the network."""
        return cls(
            neighbourhood=Neighbourhood.from_row(change.neighbourhood, shown_to_reader=True),
            households_moved_in=change.moves.moved_in,
            households_moved_out=change.moves.moved_out,
            households_invited=coarse_count(change.public_points_inside),
        )


CreateNeighbourhoodResult = Annotated[
    NeighbourhoodChanged | ValidationError | UnauthenticatedError,
    strawberry.union("CreateNeighbourhoodResult"),
]
QUOTA_DAYS = 30
UpdateNeighbourhoodBoundaryResult = Annotated[
    NeighbourhoodChanged | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("UpdateNeighbourhoodBoundaryResult"),
]


@strawberry.type(description="Your household moved to the network it was invited to.")
class NeighbourhoodMoveAccepted:
    household: Household
    neighbourhood: Neighbourhood = strawberry.field(description="Your network now.")


@strawberry.type(description="You stay in your network; this move will not be proposed again.")
class NeighbourhoodMoveDeclined:
    neighbourhood: Neighbourhood = strawberry.field(description="Your network, unchanged.")


AcceptNeighbourhoodMoveResult = Annotated[
    NeighbourhoodMoveAccepted | NotFoundError | ValidationError | UnauthenticatedError,
    strawberry.union("AcceptNeighbourhoodMoveResult"),
]
DeclineNeighbourhoodMoveResult = Annotated[
    NeighbourhoodMoveDeclined | NotFoundError | ValidationError | UnauthenticatedError,
    strawberry.union("DeclineNeighbourhoodMoveResult"),
]
EXPECTED_ID = strawberry.argument(
    description="The neighbourhood you were shown (myNeighbourhoodMove): refused with "
    "INVALID_TRANSITION if the proposal changed meanwhile. Omit it for a new H3_CELL network."
)


def decode_neighbourhood_id(value: relay.GlobalID, argument: str = "id") -> int:
    return decode_node_id(
        value, "Neighbourhood", argument=argument, message="This is not a neighbourhood ID."
    )


def drawn_boundary(value: object, settings: Settings) -> MultiPolygon:
    """A boundary drawn through the API: valid, not too large, no part too small."""
    shape = clean_boundary(value, max_area_m2=settings.max_neighbourhood_area_m2)
    try:
        check_drawn_parts(shape, min_part_area_m2=settings.min_neighbourhood_area_m2)
    except GeoValidationError as error:
        raise UserError(error.code, error.message, argument="boundary") from None
    return shape


def expected_neighbourhood_id(value: relay.GlobalID | None) -> int | None:
    return None if value is None else decode_neighbourhood_id(value, "neighbourhoodId")


def no_pending_move() -> NotFoundError:
    return NotFoundError(
        code=ErrorCode.NOT_FOUND, message="Your household has no pending move to decide."
    )


def move_changed() -> ValidationError:
    return ValidationError(
        code=ErrorCode.INVALID_TRANSITION,
        message="The proposed move changed since you saw it: read myNeighbourhoodMove again.",
        field="neighbourhoodId",
    )


def decided(
    decision: MoveDecision,
) -> NotFoundError | ValidationError | None:
    if decision.status == "NONE":
        return no_pending_move()
    if decision.status == "CHANGED":
        return move_changed()
    return None


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

    @strawberry.field(
        description="The move a boundary change proposes to your household, if one is waiting "
        "for your answer (null otherwise, and when signed out or without a household)."
    )
    async def my_neighbourhood_move(self, info: Info) -> NeighbourhoodMove | None:
        household_id = info.context.viewer.household_id
        if household_id is None:
            return None
        async with info.context.engine.connect() as conn:
            move = await neighbourhood_queries.pending_move(conn, household_id)
        if move is None:
            return None
        row = None
        if move.to_neighbourhood_id is not None:
            row = await info.context.loaders.neighbourhood_by_id.load(move.to_neighbourhood_id)
        return NeighbourhoodMove(
            neighbourhood=Neighbourhood.from_row(row) if row else None,
            kind=NeighbourhoodKind(row.kind) if row else NeighbourhoodKind.H3_CELL,
            h3_cell=H3Cell(move.h3_cell),
            proposed_at=move.proposed_at,
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
            home = input.location.to_exact_lnglat()
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
        description="Draw a neighbourhood network (signed in; each part at least "
        "MIN_NEIGHBOURHOOD_AREA_KM2, 0.5 km² by default; 3 networks per account in 30 days). "
        "You become its ambassador; your own household moves in if its home is inside; the "
        "other households inside are invited to move and decide themselves."
    )
    async def create_neighbourhood(
        self, info: Info, input: CreateNeighbourhoodInput
    ) -> CreateNeighbourhoodResult:
        settings = info.context.settings
        viewer = info.context.viewer
        account_id = viewer.account_id
        if account_id is None:
            return unauthenticated()
        try:
            name = clean_text(input.name, argument="name", max_length=120)
            commune_code = clean_commune_code(input.commune_code)
            boundary = drawn_boundary(input.boundary, settings)
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            # Under the exclusive boundary lock: two concurrent drawings cannot both pass.
            await neighbourhood_queries.lock_boundaries(conn, exclusive=True)
            drawn = await neighbourhood_queries.recently_drawn(conn, account_id, days=QUOTA_DAYS)
            if not viewer.is_admin and drawn >= settings.max_drawn_neighbourhoods:
                return ValidationError(
                    code=ErrorCode.TOO_MANY_NEIGHBOURHOODS,
                    message=f"You drew {drawn} networks in the last {QUOTA_DAYS} days, the "
                    "most an account may: change one of their boundaries instead.",
                    field=None,
                )
            change = await neighbourhood_queries.create_polygon_neighbourhood(
                conn,
                name=name,
                boundary=boundary,
                commune_code=commune_code,
                created_by_account_id=account_id,
                own_household_id=viewer.household_id,
            )
            await account_queries.grant_ambassador(conn, account_id, change.neighbourhood.id)
        return NeighbourhoodChanged.build(change)

    @strawberry.mutation(
        description="Change a drawn boundary (its ambassadors or an admin). Your own household "
        "moves at once if the rule says so; every other household the change concerns is "
        "invited to move (in or out) and keeps its network until it accepts."
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
            shape = drawn_boundary(boundary, settings)
        except UserError as error:
            return validation_error(error)
        if not viewer.can_moderate(neighbourhood_id):
            return forbidden("Only this neighbourhood's ambassadors may change its boundary.")
        async with info.context.engine.begin() as conn:
            changed = await neighbourhood_queries.update_neighbourhood_boundary(
                conn, neighbourhood_id, shape, own_household_id=viewer.household_id
            )
        if changed is None:
            return NotFoundError(
                code=ErrorCode.NOT_FOUND, message="No drawn (POLYGON) neighbourhood has this ID."
            )
        return NeighbourhoodChanged.build(changed)

    @strawberry.mutation(
        description="Accept the move a boundary change proposed to your household "
        "(myNeighbourhoodMove): it joins that network now, as if it had just arrived (under "
        "an APPROVAL policy it waits for an ambassador)."
    )
    async def accept_neighbourhood_move(
        self,
        info: Info,
        neighbourhood_id: Annotated[relay.GlobalID | None, EXPECTED_ID] = None,
    ) -> AcceptNeighbourhoodMoveResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            expected = expected_neighbourhood_id(neighbourhood_id)
        except UserError as error:
            return validation_error(error)
        if viewer.household_id is None:
            return no_pending_move()
        async with info.context.engine.begin() as conn:
            decision = await neighbourhood_queries.accept_move(
                conn, viewer.household_id, expected_neighbourhood_id=expected
            )
            household = (await household_queries.households_by_id(conn, [viewer.household_id]))[
                viewer.household_id
            ]
        refused = decided(decision)
        if refused is not None or decision.neighbourhood is None:
            return refused or no_pending_move()
        return NeighbourhoodMoveAccepted(
            household=Household.from_row(household, shown_to_itself=True),
            neighbourhood=Neighbourhood.from_row(decision.neighbourhood),
        )

    @strawberry.mutation(
        description="Decline the move a boundary change proposed to your household: it stays "
        "in its network, and the same move is not proposed again."
    )
    async def decline_neighbourhood_move(
        self,
        info: Info,
        neighbourhood_id: Annotated[relay.GlobalID | None, EXPECTED_ID] = None,
    ) -> DeclineNeighbourhoodMoveResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            expected = expected_neighbourhood_id(neighbourhood_id)
        except UserError as error:
            return validation_error(error)
        if viewer.household_id is None or viewer.neighbourhood_id is None:
            return no_pending_move()
        async with info.context.engine.begin() as conn:
            decision = await neighbourhood_queries.decline_move(
                conn, viewer.household_id, expected_neighbourhood_id=expected
            )
            current = await neighbourhood_queries.neighbourhoods_by_id(
                conn, [viewer.neighbourhood_id]
            )
        refused = decided(decision)
        if refused is not None:
            return refused
        return NeighbourhoodMoveDeclined(
            neighbourhood=Neighbourhood.from_row(current[viewer.neighbourhood_id])
        )

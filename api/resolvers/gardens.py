"""Gardens, their waiting lists, and `gardensNear`. Thin: validate, authorise, call db, wrap.

The proximity search is `nearestLenders`' (`api.proximity`): the radius floor, the widening
radii, rounded distances and cursors that hold an id only.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
)
from api.inputs import LocationInput
from api.pagination import decode_id_cursor, encode_cursor, keyset_page_info, page_size
from api.proximity import MaxDistanceMeters, NearestSearch, SearchAfter, SearchOrigin
from api.resolvers.household_access import acting_household
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.service_errors import refusal_error
from api.scalars import GeoJSON
from api.types.garden import (
    Garden,
    GardenConnection,
    GardenEdge,
    GardenKind,
    GardenSearchConnection,
    GardenSearchEdge,
    WaitlistPlace,
    WaitlistPlaceConnection,
    WaitlistPlaceEdge,
)
from api.validation import clean_boundary, clean_text, decode_node_id
from db.queries import gardens as garden_queries
from db.queries.gardens import GardenRow
from services import gardens as garden_service
from services.errors import Refusal

Info = strawberry.Info[Context, None]

CURSOR_KIND = "g"
MINE_CURSOR_KIND = "mg"
PLACES_CURSOR_KIND = "mw"
MAX_GARDEN_AREA_M2 = 200_000.0
"""20 ha: a large allotment site; anything bigger is more likely a mistake or a whole park."""
MAX_PLOTS = 1_000


@strawberry.input(description="A garden to share: at a point, or drawn as a boundary.")
class CreateGardenInput:
    kind: GardenKind = strawberry.field(description="COMMUNITY (a public place) or PRIVATE.")
    name: str = strawberry.field(description="Display name, 1 to 120 characters.")
    description: str = strawberry.field(default="", description="Details, up to 2,000 chars.")
    location: LocationInput | None = strawberry.field(
        default=None,
        description="The garden's point. Give this or `boundary`, not both. For a PRIVATE "
        "garden only your household sees it; others see the centre of its area.",
    )
    boundary: GeoJSON | None = strawberry.field(
        default=None,
        description="GeoJSON Polygon or MultiPolygon (lng/lat) of the garden, at most 20 ha; "
        "its point is then taken on its surface. Give this or `location`, not both.",
    )
    plots_total: int = strawberry.field(description="Number of plots, 1 to 1,000.")
    plots_free: int | None = strawberry.field(
        default=None, description="How many are free now, 0 to plotsTotal; default all."
    )


@strawberry.type(description="The garden is listed.")
class CreateGardenSuccess:
    garden: Garden


@strawberry.type(
    description="Your household is on the waiting list (joining twice keeps your place)."
)
class JoinGardenWaitlistSuccess:
    garden: Garden
    position: int = strawberry.field(description="Your place on the list, 1 = next in line.")


@strawberry.type(description="Your household left the waiting list; those behind moved up.")
class LeaveGardenWaitlistSuccess:
    garden: Garden


@strawberry.input(
    description="A garden's new details, all of them, checked as createGarden's. Its kind and "
    "place stay: withdraw it (deleteGarden) and list it again to move it."
)
class UpdateGardenInput:
    name: str = strawberry.field(description="Display name, 1 to 120 characters.")
    description: str = strawberry.field(default="", description="Details, up to 2,000 chars.")
    plots_total: int = strawberry.field(description="Number of plots, 1 to 1,000.")
    plots_free: int = strawberry.field(description="How many are free now, 0 to plotsTotal.")


@strawberry.type(description="The garden's details are replaced.")
class UpdateGardenSuccess:
    garden: Garden = strawberry.field(description="The garden as it is now.")


@strawberry.type(
    description="The garden is withdrawn: deleted with its waiting list, and every household "
    "that waited is notified (GARDEN_WITHDRAWN)."
)
class DeleteGardenSuccess:
    deleted_garden_id: relay.GlobalID = strawberry.field(description="Global ID it had.")
    households_notified: int = strawberry.field(description="Households that were waiting.")


@strawberry.type(
    description="The first household in line has the plot: it left the waiting list, plotsFree "
    "went down by one, and it is notified (GARDEN_PLOT_OFFERED)."
)
class OfferPlotSuccess:
    garden: Garden = strawberry.field(description="The garden as it is now.")
    household_name: str = strawberry.field(description="The household that got the plot.")


GardenChangeErrors = ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError
UpdateGardenResult = Annotated[
    UpdateGardenSuccess | GardenChangeErrors, strawberry.union("UpdateGardenResult")
]
DeleteGardenResult = Annotated[
    DeleteGardenSuccess | GardenChangeErrors, strawberry.union("DeleteGardenResult")
]
OfferPlotResult = Annotated[
    OfferPlotSuccess | GardenChangeErrors, strawberry.union("OfferPlotResult")
]

CreateGardenResult = Annotated[
    CreateGardenSuccess | ValidationError | UnauthenticatedError | ForbiddenError,
    strawberry.union("CreateGardenResult"),
]
JoinGardenWaitlistResult = Annotated[
    JoinGardenWaitlistSuccess
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | ForbiddenError,
    strawberry.union("JoinGardenWaitlistResult"),
]
LeaveGardenWaitlistResult = Annotated[
    LeaveGardenWaitlistSuccess
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | ForbiddenError,
    strawberry.union("LeaveGardenWaitlistResult"),
]


@strawberry.type
class GardenQuery:
    @strawberry.field(
        description="Gardens nearest first from a point, across neighbourhood borders. Without "
        "maxDistanceMeters the search widens (2, 5, 10, 25 km, then the ceiling) until a page "
        "is full; searchedRadiusMeters tells how far it looked. Distances are rounded and "
        "measured to each garden's point, a PRIVATE garden's owner's public (displaced) one."
    )
    async def gardens_near(
        self,
        info: Info,
        near: SearchOrigin,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: SearchAfter = None,
        max_distance_meters: MaxDistanceMeters = None,
    ) -> GardenSearchConnection:
        search = NearestSearch.from_arguments(
            near,
            first=first,
            max_distance_meters=max_distance_meters,
            cursor_kind=CURSOR_KIND,
            noun="garden",
            settings=info.context.settings,
        )
        page = await search.run(
            info.context.reads,
            after,
            distance_m=garden_queries.garden_distance_m,
            rows=garden_queries.nearest_gardens,
        )
        return page.connection(GardenSearchConnection, GardenSearchEdge, Garden.from_row)

    @strawberry.field(
        description="The gardens your household offers, newest first (signed in, with a "
        "household). One statement per page."
    )
    async def my_gardens(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> GardenConnection:
        household_id = signed_in_household(info)
        limit = page_size(first, info.context.settings.max_page_size)
        after_id = decode_id_cursor(after, MINE_CURSOR_KIND)
        rows = await garden_service.my_gardens(
            info.context.reader, household_id, limit=limit + 1, after_id=after_id
        )
        edges = [
            GardenEdge(node=Garden.from_row(row), cursor=encode_cursor(MINE_CURSOR_KIND, row.id))
            for row in rows[:limit]
        ]
        return GardenConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=after_id),
        )

    @strawberry.field(
        description="The waiting lists your household is on, with its place on each, latest "
        "joined first (signed in, with a household). One statement per page."
    )
    async def my_waitlist_places(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> WaitlistPlaceConnection:
        household_id = signed_in_household(info)
        limit = page_size(first, info.context.settings.max_page_size)
        after_id = decode_id_cursor(after, PLACES_CURSOR_KIND)
        places = await garden_service.my_waitlist_places(
            info.context.reader, household_id, limit=limit + 1, after_id=after_id
        )
        edges = [
            WaitlistPlaceEdge(
                node=WaitlistPlace(
                    garden=Garden.from_row(place.garden),
                    position=place.position,
                    joined_at=place.joined_at,
                ),
                cursor=encode_cursor(PLACES_CURSOR_KIND, place.entry_id),
            )
            for place in places[:limit]
        ]
        return WaitlistPlaceConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(places), limit=limit, after=after_id),
        )


@strawberry.type
class GardenMutation:
    @strawberry.mutation(
        description="List a garden your household offers or runs (signed in, with a household)."
    )
    async def create_garden(self, info: Info, input: CreateGardenInput) -> CreateGardenResult:
        viewer = info.context.viewer
        household_id = acting_household(viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            name = clean_text(input.name, argument="name", max_length=120)
            description = clean_text(
                input.description, argument="description", max_length=2000, min_length=0
            )
            if (input.location is None) == (input.boundary is None):
                raise UserError(
                    ErrorCode.BAD_USER_INPUT,
                    "Give exactly one of the garden's `location` and `boundary`.",
                    argument="location",
                )
            location = input.location.to_lnglat() if input.location else None
            boundary = (
                clean_boundary(input.boundary, max_area_m2=MAX_GARDEN_AREA_M2)
                if input.boundary is not None
                else None
            )
            plots_total, plots_free = clean_plots(input.plots_total, input.plots_free)
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row = await garden_queries.create_garden(
                conn,
                household_id,
                kind=input.kind.name,
                name=name,
                description=description,
                location=location,
                boundary=boundary,
                plots_total=plots_total,
                plots_free=plots_free,
            )
        return CreateGardenSuccess(garden=Garden.from_row(row))

    @strawberry.mutation(
        description="Put your household on a garden's waiting list for a plot (not your own "
        "garden's). Joining again keeps your place."
    )
    async def join_garden_waitlist(
        self, info: Info, garden_id: relay.GlobalID
    ) -> JoinGardenWaitlistResult:
        viewer = info.context.viewer
        found = await waitlist_garden(info, viewer, garden_id)
        if not isinstance(found, GardenRow):
            return found
        assert viewer.household_id is not None, "waitlist_garden checked it"
        async with info.context.engine.begin() as conn:
            position = await garden_queries.join_waitlist(conn, found.id, viewer.household_id)
        return JoinGardenWaitlistSuccess(garden=Garden.from_row(found), position=position)

    @strawberry.mutation(description="Take your household off a garden's waiting list.")
    async def leave_garden_waitlist(
        self, info: Info, garden_id: relay.GlobalID
    ) -> LeaveGardenWaitlistResult:
        viewer = info.context.viewer
        found = await waitlist_garden(info, viewer, garden_id)
        if not isinstance(found, GardenRow):
            return found
        assert viewer.household_id is not None, "waitlist_garden checked it"
        async with info.context.engine.begin() as conn:
            left = await garden_queries.leave_waitlist(conn, found.id, viewer.household_id)
        if not left:
            return NotFoundError(
                code=ErrorCode.NOT_FOUND,
                message="Your household is not on this garden's waiting list.",
            )
        return LeaveGardenWaitlistSuccess(garden=Garden.from_row(found))

    @strawberry.mutation(
        description="Change your household's garden (owner only): name, description and plots, "
        "checked as createGarden's; nothing is written when one is refused."
    )
    async def update_garden(
        self, info: Info, id: relay.GlobalID, input: UpdateGardenInput
    ) -> UpdateGardenResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            garden_id = decode_node_id(
                id, "Garden", argument="id", message="This is not a garden ID."
            )
            name = clean_text(input.name, argument="name", max_length=120)
            description = clean_text(
                input.description, argument="description", max_length=2000, min_length=0
            )
            plots_total, plots_free = clean_plots(input.plots_total, input.plots_free)
            details = garden_service.GardenDetails(
                name=name,
                description=description,
                plots_total=plots_total,
                plots_free=plots_free,
            )
        except UserError as error:
            return validation_error(error)
        row = await garden_service.update_garden(
            info.context.engine, household_id=household_id, garden_id=garden_id, details=details
        )
        if isinstance(row, Refusal):
            return refusal_error(row)  # type: ignore[return-value]
        return UpdateGardenSuccess(garden=Garden.from_row(row))

    @strawberry.mutation(
        description="Withdraw your household's garden (owner only): it is deleted with its "
        "waiting list, and each household that waited is notified (GARDEN_WITHDRAWN)."
    )
    async def delete_garden(self, info: Info, id: relay.GlobalID) -> DeleteGardenResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            garden_id = decode_node_id(
                id, "Garden", argument="id", message="This is not a garden ID."
            )
        except UserError as error:
            return validation_error(error)
        done = await garden_service.withdraw_garden(
            info.context.engine, household_id=household_id, garden_id=garden_id
        )
        if isinstance(done, Refusal):
            return refusal_error(done)  # type: ignore[return-value]
        return DeleteGardenSuccess(
            deleted_garden_id=id, households_notified=done.households_notified
        )

    @strawberry.mutation(
        description="Give a free plot of your household's garden to the first household in line "
        "(owner only): it leaves the waiting list, plotsFree goes down by one and it is notified "
        "(GARDEN_PLOT_OFFERED). BAD_USER_INPUT when no plot is free; NOT_FOUND when nobody waits."
    )
    async def offer_plot(self, info: Info, garden_id: relay.GlobalID) -> OfferPlotResult:
        household_id = acting_household(info.context.viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            ident = decode_garden_id(garden_id)
        except UserError as error:
            return validation_error(error)
        done = await garden_service.offer_plot(
            info.context.engine, household_id=household_id, garden_id=ident
        )
        if isinstance(done, Refusal):
            return refusal_error(done)  # type: ignore[return-value]
        name = await info.context.loaders.lender_by_household_id.load(done.household_id)
        return OfferPlotSuccess(
            garden=Garden.from_row(done.garden), household_name=name.name if name else ""
        )


def signed_in_household(info: Info) -> int:
    """The viewer's household for the `my*` lists; an error (not an empty list) otherwise."""
    household_id = acting_household(info.context.viewer)
    if not isinstance(household_id, int):
        raise UserError(household_id.code, household_id.message)
    return household_id


async def waitlist_garden(
    info: Info, viewer: Viewer, garden_id: relay.GlobalID
) -> GardenRow | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError:
    """The garden whose list the viewer's household may join or leave, or why it may not."""
    household_id = acting_household(viewer)
    if not isinstance(household_id, int):
        return household_id
    try:
        ident = decode_garden_id(garden_id)
    except UserError as error:
        return validation_error(error)
    row = await info.context.loaders.garden_by_id.load(ident)
    if row is None:
        return NotFoundError(code=ErrorCode.NOT_FOUND, message="No garden has this ID.")
    if row.household_id == household_id:
        return forbidden("This is your household's garden: its waiting list is for others.")
    return row


def decode_garden_id(value: relay.GlobalID) -> int:
    return decode_node_id(value, "Garden", argument="gardenId", message="This is not a garden ID.")


def clean_plots(plots_total: int, plots_free: int | None) -> tuple[int, int]:
    if not 1 <= plots_total <= MAX_PLOTS:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`plotsTotal` must be between 1 and {MAX_PLOTS}.",
            argument="plotsTotal",
        )
    free = plots_total if plots_free is None else plots_free
    if not 0 <= free <= plots_total:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`plotsFree` must be between 0 and plotsTotal ({plots_total}).",
            argument="plotsFree",
        )
    return plots_total, free

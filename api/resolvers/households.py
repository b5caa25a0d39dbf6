"""Mutations on your own household: move, rename, invite another account, join, leave. Thin:
validate, call `services.households`, map the result."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.context import Context
from api.errors import (
    ErrorCode,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    unauthenticated,
)
from api.inputs import LocationInput
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.service_errors import refusal_error
from api.types.household import Household
from api.types.neighbourhood import Neighbourhood
from api.validation import clean_text
from services import households as household_service
from services.errors import Refusal

Info = strawberry.Info[Context, None]


@strawberry.type(
    description="Your household moved: it is in the network of its new home (under an APPROVAL "
    "policy it waits for an ambassador there), with a new public location drawn 150-400 m from "
    "the new home. Any move a boundary change had proposed is withdrawn."
)
class MoveHouseholdSuccess:
    household: Household
    neighbourhood: Neighbourhood = strawberry.field(description="Your network now.")
    changed_neighbourhood: bool = strawberry.field(
        description="False when the new home is in the same network (the membership is kept)."
    )


@strawberry.type(description="Your household's new name.")
class RenameHouseholdSuccess:
    household: Household


@strawberry.type(description="Your account left its household.")
class LeaveHouseholdSuccess:
    dissolved: bool = strawberry.field(
        description="You were its last member: the household is erased as when its last "
        "account is deleted (docs/accounts.md): its offers withdrawn, its name and place "
        "anonymised; loans and reviews stay, anonymous."
    )


@strawberry.type(
    description="A code for one more account to join your household (joinHousehold). Shown "
    "once: only its digest is stored. Single use; expires after 48 hours."
)
class HouseholdInvitationCode:
    invitation_code: str = strawberry.field(
        description="Give it to the person joining, privately (joinHousehold(code:))."
    )
    expires_at: datetime = strawberry.field(description="When it stops working.")


@strawberry.type(description="Your account is now a member of this household.")
class JoinHouseholdSuccess:
    household: Household


MoveHouseholdResult = Annotated[
    MoveHouseholdSuccess | ValidationError | NotFoundError | UnauthenticatedError,
    strawberry.union("MoveHouseholdResult"),
]
RenameHouseholdResult = Annotated[
    RenameHouseholdSuccess | ValidationError | NotFoundError | UnauthenticatedError,
    strawberry.union("RenameHouseholdResult"),
]
LeaveHouseholdResult = Annotated[
    LeaveHouseholdSuccess | NotFoundError | UnauthenticatedError,
    strawberry.union("LeaveHouseholdResult"),
]
InviteToHouseholdResult = Annotated[
    HouseholdInvitationCode | NotFoundError | UnauthenticatedError,
    strawberry.union("InviteToHouseholdResult"),
]
JoinHouseholdResult = Annotated[
    JoinHouseholdSuccess | ValidationError | UnauthenticatedError,
    strawberry.union("JoinHouseholdResult"),
]


def refused(refusal: Refusal) -> ValidationError | NotFoundError | UnauthenticatedError:
    error = refusal_error(refusal)
    assert isinstance(error, ValidationError | NotFoundError | UnauthenticatedError), refusal
    return error


@strawberry.type
class HouseholdMutation:
    @strawberry.mutation(
        description="Move your household to a new address: the same assignment rule as "
        "registration (the smallest drawn network covering the home, else its H3 cell's). The "
        "old network's membership ends; the new one starts per its policy. Refused with "
        "OUTSIDE_SERVICE_AREA outside the territory served."
    )
    async def move_household(self, info: Info, location: LocationInput) -> MoveHouseholdResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            home = location.to_exact_lnglat()
        except UserError as error:
            return ValidationError(
                code=ErrorCode(error.code), message=error.message, field="location"
            )
        moved = await household_service.move_household(
            info.context.engine,
            viewer.household_id,
            home=home,
            resolution=info.context.settings.h3_resolution,
        )
        if isinstance(moved, Refusal):
            return refused(moved)
        return MoveHouseholdSuccess(
            household=Household.from_row(moved.household, shown_to_itself=True),
            neighbourhood=Neighbourhood.from_row(moved.neighbourhood),
            changed_neighbourhood=moved.neighbourhood.id != moved.previous_neighbourhood_id,
        )

    @strawberry.mutation(description="Rename your household (1 to 80 characters).")
    async def rename_household(self, info: Info, name: str) -> RenameHouseholdResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            clean = clean_text(name, argument="name", max_length=80)
        except UserError as error:
            return validation_error(error)
        renamed = await household_service.rename_household(
            info.context.engine, viewer.household_id, clean
        )
        if isinstance(renamed, Refusal):
            return refused(renamed)
        return RenameHouseholdSuccess(household=Household.from_row(renamed, shown_to_itself=True))

    @strawberry.mutation(
        description="Your account leaves its household (then it may register or join another). "
        "The last member leaving dissolves it, as deleting the last account would."
    )
    async def leave_household(self, info: Info) -> LeaveHouseholdResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        left = await household_service.leave_household(
            info.context.engine, viewer.account_id, viewer.household_id
        )
        if isinstance(left, Refusal):
            result = refused(left)
            assert not isinstance(result, ValidationError)
            return result
        return LeaveHouseholdSuccess(dissolved=left.dissolved)

    @strawberry.mutation(
        description="A single-use code (48 hours) for another account to join your household: "
        "several accounts, one home, one vote in reviews."
    )
    async def invite_to_household(self, info: Info) -> InviteToHouseholdResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        invitation = await household_service.invite_to_household(
            info.context.engine, viewer.account_id, viewer.household_id
        )
        if isinstance(invitation, Refusal):
            result = refused(invitation)
            assert not isinstance(result, ValidationError)
            return result
        return HouseholdInvitationCode(
            invitation_code=invitation.code, expires_at=invitation.expires_at
        )

    @strawberry.mutation(
        description="Join a household with its code (inviteToHousehold); your account must not "
        "have one (leaveHousehold first). INVITATION_INVALID, INVITATION_EXPIRED or "
        "INVITATION_USED otherwise, and nothing changes."
    )
    async def join_household(self, info: Info, code: str) -> JoinHouseholdResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        joined = await household_service.join_household(
            info.context.engine, viewer.account_id, viewer.household_id, code.strip()
        )
        if isinstance(joined, Refusal):
            result = refused(joined)
            assert not isinstance(result, NotFoundError)
            return result
        return JoinHouseholdSuccess(household=Household.from_row(joined, shown_to_itself=True))

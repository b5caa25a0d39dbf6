"""Membership approval and invitations as ambassadors and newcomers see them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from api.context import Context
from api.pagination import PageInfo
from api.types.neighbourhood import Neighbourhood
from db.queries.invitations import InvitationRow
from db.queries.memberships import MembershipRow

Info = strawberry.Info[Context, None]


@strawberry.enum(description="A household's standing in the neighbourhood it lives in now.")
class MembershipStatus(Enum):
    APPROVED = strawberry.enum_value("APPROVED", description="A member: reads members' content.")
    PENDING = strawberry.enum_value(
        "PENDING", description="Waiting for an ambassador; sees public data and its own household."
    )
    DECLINED = strawberry.enum_value(
        "DECLINED", description="An ambassador declined; an ambassador may still approve later."
    )


@strawberry.enum(description="Where an invitation stands.")
class InvitationStatus(Enum):
    OPEN = "OPEN"
    USED = "USED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="A household's membership of its current neighbourhood.")
class Membership:
    household_id: relay.GlobalID = strawberry.field(description="The household (Household ID).")
    household_name: str = strawberry.field(description="Its display name.")
    status: MembershipStatus
    requested_at: datetime = strawberry.field(
        description="When the household arrived in this neighbourhood (registration or move)."
    )
    decided_at: datetime | None = strawberry.field(
        description="When an ambassador (or an invitation) decided; null while pending."
    )
    decline_reason: str | None = strawberry.field(
        description="Why it was declined, as the ambassador wrote it (DECLINED only)."
    )
    neighbourhood_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: MembershipRow) -> Membership:
        return cls(
            household_id=relay.GlobalID("Household", str(row.household_id)),
            household_name=row.household_name,
            status=MembershipStatus(row.status),
            requested_at=row.requested_at,
            decided_at=row.decided_at,
            decline_reason=row.decline_reason,
            neighbourhood_id=row.neighbourhood_id,
        )

    @strawberry.field(description="The neighbourhood this membership is about.")
    async def neighbourhood(self, info: Info) -> Neighbourhood:
        row = await info.context.loaders.neighbourhood_by_id.load(self.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)


@strawberry.type(description="A pending household and its cursor.")
class MembershipEdge:
    node: Membership
    cursor: str


@strawberry.type(description="Households waiting for approval, oldest request first.")
class MembershipConnection:
    edges: list[MembershipEdge]
    page_info: PageInfo


@strawberry.type(
    description="An ambassador's invitation to join a neighbourhood. The code itself is shown "
    "once, when it is created (InviteNeighbourSuccess.invitationCode)."
)
class Invitation:
    id: relay.GlobalID
    email: str | None = strawberry.field(description="Who it was meant for, if given.")
    message: str = strawberry.field(description="The ambassador's word to the invitee.")
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime = strawberry.field(description="After this the code no longer works.")

    @classmethod
    def from_row(cls, row: InvitationRow) -> Invitation:
        if row.revoked_at is not None:
            status = InvitationStatus.REVOKED
        elif row.used_at is not None:
            status = InvitationStatus.USED
        elif row.expired:
            status = InvitationStatus.EXPIRED
        else:
            status = InvitationStatus.OPEN
        return cls(
            id=relay.GlobalID("Invitation", str(row.id)),
            email=row.email,
            message=row.message,
            status=status,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )


@strawberry.type(description="An invitation and its cursor.")
class InvitationEdge:
    node: Invitation
    cursor: str


@strawberry.type(description="A neighbourhood's invitations, oldest first.")
class InvitationConnection:
    edges: list[InvitationEdge]
    page_info: PageInfo

"""Ambassadors animate their network: membership policy, approving or declining newcomers,
appointing other ambassadors (invitations: `api.resolvers.invitations`). Thin: validate,
authorise, call db, wrap.

Every mutation here is for the neighbourhood's ambassadors and admins (`Viewer.can_moderate`);
an ambassador of A acting on B gets FORBIDDEN and nothing is written. Households are notified
(`notificationReceived`) by NOTIFY inside the transaction, delivered only if it commits.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
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
from api.pagination import (
    decode_time_cursor,
    encode_time_cursor,
    keyset_page_info,
    page_size,
)
from api.resolvers.neighbourhoods import decode_neighbourhood_id, validation_error
from api.types.membership import Membership, MembershipConnection, MembershipEdge
from api.types.neighbourhood import MembershipPolicy, Neighbourhood
from api.validation import clean_text, decode_node_id
from db.queries import memberships as queries
from db.queries import neighbourhoods as neighbourhood_queries
from db.queries.events import notify_household
from db.queries.memberships import MembershipRow
from db.rows import NeighbourhoodRow
from services import moderation

Info = strawberry.Info[Context, None]
PENDING_CURSOR = "mp"
MAX_REASON = 500
APPROVED_MESSAGE = "Bienvenue ! Un ambassadeur a validé votre adhésion au réseau de voisinage."
DECLINED_MESSAGE = "Votre demande d'adhésion n'a pas été acceptée. Motif : {reason}"


@strawberry.type(
    description="A network you animate (you are one of its ambassadors) and what waits for you."
)
class AnimatedNetwork:
    neighbourhood_id: strawberry.Private[int]
    open_reports: int = strawberry.field(
        description="Reports in its moderation queue not resolved yet (moderationQueue)."
    )
    pending_memberships: int = strawberry.field(
        description="Households waiting for an ambassador's approval (pendingMemberships)."
    )

    @strawberry.field(description="The network.")
    async def neighbourhood(self, info: Info) -> Neighbourhood:
        row = await info.context.loaders.neighbourhood_by_id.load(self.neighbourhood_id)
        assert row is not None, "a role's foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)


async def animated_networks(info: Info) -> list[AnimatedNetwork]:
    """`me.animates`: the viewer's networks as an ambassador (not every network for admins)."""
    rows = await moderation.animated_networks(
        info.context.engine, account_id=info.context.viewer.account_id
    )
    return [
        AnimatedNetwork(
            neighbourhood_id=row.neighbourhood_id,
            open_reports=row.open_reports,
            pending_memberships=row.pending_households,
        )
        for row in rows
    ]


@strawberry.type(description="The neighbourhood's membership policy was set.")
class MembershipPolicyChanged:
    neighbourhood: Neighbourhood
    policy: MembershipPolicy
    households_approved: int = strawberry.field(
        description="Pending households approved because the policy became OPEN."
    )


@strawberry.type(description="The ambassador's decision is recorded and the household notified.")
class MembershipDecided:
    membership: Membership


@strawberry.type(description="Every account of the household is now an ambassador.")
class AppointAmbassadorSuccess:
    membership: Membership
    accounts_appointed: int = strawberry.field(description="Accounts of that household.")


Refusals = ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError
SetMembershipPolicyResult = Annotated[
    MembershipPolicyChanged | Refusals, strawberry.union("SetMembershipPolicyResult")
]
MembershipDecisionResult = Annotated[
    MembershipDecided | Refusals, strawberry.union("MembershipDecisionResult")
]
AppointAmbassadorResult = Annotated[
    AppointAmbassadorSuccess | Refusals, strawberry.union("AppointAmbassadorResult")
]


def decode_household_id(value: relay.GlobalID) -> int:
    return decode_node_id(value, "Household", argument="householdId")


def require_moderator(info: Info, neighbourhood_id: int) -> None:
    """Raise UNAUTHENTICATED or FORBIDDEN unless the viewer animates this neighbourhood."""
    viewer = info.context.viewer
    if viewer.is_anonymous:
        raise UserError(ErrorCode.UNAUTHENTICATED, "Sign in as an ambassador of this network.")
    if not viewer.can_moderate(neighbourhood_id):
        raise UserError(
            ErrorCode.FORBIDDEN, "Only this neighbourhood's ambassadors and admins may do this."
        )


def refusal(error: UserError) -> Refusals:
    if error.code == ErrorCode.UNAUTHENTICATED.value:
        return unauthenticated()
    if error.code == ErrorCode.FORBIDDEN.value:
        return forbidden(error.message)
    return validation_error(error)


async def moderated_membership(info: Info, household_id: int) -> MembershipRow:
    """The household's membership, if the viewer animates its neighbourhood; FORBIDDEN for any
    other (existing or not), so IDs reveal nothing to ambassadors of other networks."""
    async with info.context.reader.connect() as conn:
        row = await queries.membership_of(conn, household_id)
    require_moderator(info, row.neighbourhood_id if row else -1)
    assert row is not None, "require_moderator refuses unknown households"
    return row


@strawberry.type
class MembershipQuery:
    @strawberry.field(
        description="Your household's membership of its neighbourhood (null without one)."
    )
    async def my_membership(self, info: Info) -> Membership | None:
        household_id = info.context.viewer.household_id
        if household_id is None:
            return None
        async with info.context.reader.connect() as conn:
            row = await queries.membership_of(conn, household_id)
        return Membership.from_row(row) if row else None

    @strawberry.field(
        description="Households waiting for approval in a neighbourhood, oldest first "
        "(its ambassadors and admins)."
    )
    async def pending_memberships(
        self,
        info: Info,
        neighbourhood_id: relay.GlobalID,
        first: int | None = None,
        after: str | None = None,
    ) -> MembershipConnection:
        nid = decode_neighbourhood_id(neighbourhood_id)
        require_moderator(info, nid)
        limit = page_size(first, info.context.settings.max_page_size)
        cursor = decode_time_cursor(after, PENDING_CURSOR)
        async with info.context.reader.connect() as conn:
            rows = await queries.pending_memberships(conn, nid, limit=limit + 1, after=cursor)
        edges = [
            MembershipEdge(
                node=Membership.from_row(row),
                cursor=encode_time_cursor(PENDING_CURSOR, row.requested_at, row.household_id),
            )
            for row in rows[:limit]
        ]
        return MembershipConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=cursor),
        )


@strawberry.type
class MembershipMutation:
    @strawberry.mutation(
        description="Choose who becomes a member (ambassadors, admins). Switching to APPROVAL "
        "keeps current members; back to OPEN approves every pending household."
    )
    async def set_membership_policy(
        self, info: Info, neighbourhood_id: relay.GlobalID, policy: MembershipPolicy
    ) -> SetMembershipPolicyResult:
        try:
            nid = decode_neighbourhood_id(neighbourhood_id)
            require_moderator(info, nid)
        except UserError as error:
            return refusal(error)
        account_id = info.context.viewer.account_id
        assert account_id is not None, "require_moderator refuses anonymous callers"
        async with info.context.engine.begin() as conn:
            approved = await queries.set_membership_policy(
                conn, nid, policy.name, account_id=account_id
            )
            for household_id in approved or ():
                await notify_approved(conn, household_id)
            rows = await neighbourhood_row(conn, nid)
        if approved is None or rows is None:
            return NotFoundError(code=ErrorCode.NOT_FOUND, message="No neighbourhood has this ID.")
        return MembershipPolicyChanged(
            neighbourhood=Neighbourhood.from_row(rows),
            policy=policy,
            households_approved=len(approved),
        )

    @strawberry.mutation(
        description="Approve a pending (or declined) household of your neighbourhood: it "
        "becomes a member at once and is notified (MEMBERSHIP_APPROVED)."
    )
    async def approve_membership(
        self, info: Info, household_id: relay.GlobalID
    ) -> MembershipDecisionResult:
        return await decide(info, household_id, approve=True, reason=None)

    @strawberry.mutation(
        description="Decline a pending household of your neighbourhood with a reason it is "
        "shown (MEMBERSHIP_DECLINED); it keeps seeing public data only."
    )
    async def decline_membership(
        self, info: Info, household_id: relay.GlobalID, reason: str
    ) -> MembershipDecisionResult:
        try:
            why = clean_text(reason, argument="reason", max_length=MAX_REASON)
        except UserError as error:
            return validation_error(error)
        return await decide(info, household_id, approve=False, reason=why)

    @strawberry.mutation(
        description="Make an approved member household's accounts ambassadors of your "
        "neighbourhood too (ambassadors, admins)."
    )
    async def appoint_ambassador(
        self, info: Info, household_id: relay.GlobalID
    ) -> AppointAmbassadorResult:
        try:
            membership = await moderated_membership(info, decode_household_id(household_id))
        except UserError as error:
            return refusal(error)
        async with info.context.engine.begin() as conn:
            count = await queries.appoint_household_ambassadors(
                conn, membership.household_id, neighbourhood_id=membership.neighbourhood_id
            )
        if count is None:
            return ValidationError(
                code=ErrorCode.NOT_A_MEMBER,
                message="Only an approved member household can become ambassador.",
                field="householdId",
            )
        return AppointAmbassadorSuccess(
            membership=Membership.from_row(membership), accounts_appointed=count
        )


async def neighbourhood_row(conn: AsyncConnection, nid: int) -> NeighbourhoodRow | None:
    return (await neighbourhood_queries.neighbourhoods_by_id(conn, [nid])).get(nid)


async def decide(
    info: Info, household_id: relay.GlobalID, *, approve: bool, reason: str | None
) -> MembershipDecisionResult:
    try:
        membership = await moderated_membership(info, decode_household_id(household_id))
    except UserError as error:
        return refusal(error)
    account_id = info.context.viewer.account_id
    assert account_id is not None, "require_moderator refuses anonymous callers"
    async with info.context.engine.begin() as conn:
        row = await queries.decide_membership(
            conn,
            membership.household_id,
            neighbourhood_id=membership.neighbourhood_id,
            approve=approve,
            account_id=account_id,
            reason=reason,
        )
        if row is not None and approve:
            await notify_approved(conn, row.household_id)
        elif row is not None:
            await notify_household(
                conn,
                row.household_id,
                kind="MEMBERSHIP_DECLINED",
                subject_type="Household",
                subject_id=row.household_id,
                message=DECLINED_MESSAGE.format(reason=reason),
            )
    if row is None:
        return ValidationError(
            code=ErrorCode.INVALID_TRANSITION,
            message="This household is not waiting for this decision (already decided, or "
            "it moved).",
            field="householdId",
        )
    return MembershipDecided(membership=Membership.from_row(row))


async def notify_approved(conn: AsyncConnection, household_id: int) -> None:
    await notify_household(
        conn,
        household_id,
        kind="MEMBERSHIP_APPROVED",
        subject_type="Household",
        subject_id=household_id,
        message=APPROVED_MESSAGE,
    )

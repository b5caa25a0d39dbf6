"""Invitations (ambassadors invite neighbours): create, list, revoke. Redemption at sign-up and
registration is in `api.resolvers.invitation_codes`. Thin: validate, authorise, call db, wrap."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import ErrorCode, NotFoundError, UserError, ValidationError
from api.pagination import (
    decode_time_cursor,
    encode_time_cursor,
    keyset_page_info,
    page_size,
)
from api.resolvers.accounts import clean_email
from api.resolvers.invitation_codes import new_code
from api.resolvers.memberships import Refusals, neighbourhood_row, refusal, require_moderator
from api.resolvers.neighbourhoods import decode_neighbourhood_id
from api.types.membership import Invitation, InvitationConnection, InvitationEdge
from api.validation import clean_text, decode_node_id
from db.queries import invitations as queries

Info = strawberry.Info[Context, None]
INVITATION_CURSOR = "mi"
MAX_MESSAGE = 500


@strawberry.type(description="The invitation exists; give the code to the neighbour now.")
class InviteNeighbourSuccess:
    invitation: Invitation
    invitation_code: str = strawberry.field(
        description="The one-time code (signUp or registerHousehold `invitationCode`). Shown "
        "only here: the server keeps only its hash."
    )


@strawberry.type(description="The invitation no longer works.")
class RevokeInvitationSuccess:
    invitation: Invitation


InviteNeighbourResult = Annotated[
    InviteNeighbourSuccess | Refusals, strawberry.union("InviteNeighbourResult")
]
RevokeInvitationResult = Annotated[
    RevokeInvitationSuccess | Refusals, strawberry.union("RevokeInvitationResult")
]


@strawberry.type
class InvitationQuery:
    @strawberry.field(
        description="A neighbourhood's invitations, oldest first (its ambassadors and admins)."
    )
    async def invitations(
        self,
        info: Info,
        neighbourhood_id: relay.GlobalID,
        first: int | None = None,
        after: str | None = None,
    ) -> InvitationConnection:
        nid = decode_neighbourhood_id(neighbourhood_id)
        require_moderator(info, nid)
        limit = page_size(first, info.context.settings.max_page_size)
        cursor = decode_time_cursor(after, INVITATION_CURSOR)
        async with info.context.reader.connect() as conn:
            rows = await queries.invitations_of(conn, nid, limit=limit + 1, after=cursor)
        edges = [
            InvitationEdge(
                node=Invitation.from_row(row),
                cursor=encode_time_cursor(INVITATION_CURSOR, row.created_at, row.id),
            )
            for row in rows[:limit]
        ]
        return InvitationConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=cursor),
        )


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(
        description="Invite a neighbour into your neighbourhood (ambassadors, admins): returns "
        "a one-time code, valid `validDays` days. Whoever signs up or registers with it and "
        "lives in this neighbourhood is approved at once."
    )
    async def invite_neighbour(
        self,
        info: Info,
        neighbourhood_id: relay.GlobalID,
        email: str | None = None,
        message: str | None = None,
        valid_days: int = 14,
    ) -> InviteNeighbourResult:
        try:
            nid = decode_neighbourhood_id(neighbourhood_id)
            require_moderator(info, nid)
            to = clean_email(email) if email is not None else None
            note = (
                clean_text(message, argument="message", max_length=MAX_MESSAGE)
                if message is not None
                else ""
            )
            if not 1 <= valid_days <= 90:
                raise UserError(
                    ErrorCode.BAD_USER_INPUT, "`validDays` must be 1 to 90.", argument="validDays"
                )
        except UserError as error:
            return refusal(error)
        account_id = info.context.viewer.account_id
        assert account_id is not None, "require_moderator refuses anonymous callers"
        code = new_code()
        async with info.context.engine.begin() as conn:
            if await neighbourhood_row(conn, nid) is None:
                return NotFoundError(
                    code=ErrorCode.NOT_FOUND, message="No neighbourhood has this ID."
                )
            row = await queries.create_invitation(
                conn,
                nid,
                code,
                email=to,
                message=note,
                account_id=account_id,
                lifetime=timedelta(days=valid_days),
            )
        return InviteNeighbourSuccess(invitation=Invitation.from_row(row), invitation_code=code)

    @strawberry.mutation(description="Withdraw an unused invitation (its network's ambassadors).")
    async def revoke_invitation(self, info: Info, id: relay.GlobalID) -> RevokeInvitationResult:
        try:
            ident = decode_node_id(id, "Invitation", argument="id")
            async with info.context.reader.connect() as conn:
                found = await queries.invitation_by_id(conn, ident)
            require_moderator(info, found.neighbourhood_id if found else -1)
        except UserError as error:
            return refusal(error)
        async with info.context.engine.begin() as conn:
            row = await queries.revoke_invitation(conn, ident)
        if row is None:
            return ValidationError(
                code=ErrorCode.INVALID_TRANSITION,
                message="This invitation was already used or revoked.",
                field="id",
            )
        return RevokeInvitationSuccess(invitation=Invitation.from_row(row))

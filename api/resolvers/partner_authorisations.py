"""Households authorising a partner app to post on their behalf, and the partner's side.

A member of a household grants or withdraws the authorisation for one partner key (the partner
shows its key ID, from `currentPartnerKey`, in its own app). The key then needs the
POST_ON_BEHALF scope to call `createPost(onBehalfOf: <household ID>)`; see `api.resolvers.posts`.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    NotAMemberError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    not_a_member,
    unauthenticated,
)
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.partners import decode_key_id
from api.types.partner import PartnerKey
from api.types.partner_authorisation import PartnerAuthorisation
from db.queries import partners as partner_queries

Info = strawberry.Info[Context, None]


@strawberry.type(description="Your household's authorisation for this partner, as it stands now.")
class PartnerAuthorisationChanged:
    authorisation: PartnerAuthorisation


PartnerAuthorisationResult = Annotated[
    PartnerAuthorisationChanged
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | NotAMemberError,
    strawberry.union("PartnerAuthorisationResult"),
]


def household_of_viewer(info: Info) -> tuple[int, int]:
    """(account id, household id) of the signed-in viewer, or a UserError to send back."""
    viewer = info.context.viewer
    if viewer.account_id is None:
        raise UserError(ErrorCode.UNAUTHENTICATED, "Sign in first.")
    if viewer.household_id is None:
        raise UserError(ErrorCode.NOT_A_MEMBER, "Register your household first.")
    return viewer.account_id, viewer.household_id


def refusal(error: UserError) -> ValidationError | UnauthenticatedError | NotAMemberError:
    if error.code == ErrorCode.UNAUTHENTICATED.value:
        return unauthenticated()
    if error.code == ErrorCode.NOT_A_MEMBER.value:
        return not_a_member(error.message)
    return validation_error(error)


@strawberry.type
class PartnerAuthorisationQuery:
    @strawberry.field(
        description="Partners your household lets post on its behalf (its members only; "
        "empty otherwise), in force first."
    )
    async def my_partner_authorisations(self, info: Info) -> list[PartnerAuthorisation]:
        household_id = info.context.viewer.household_id
        if household_id is None:
            return []
        async with info.context.reader.connect() as conn:
            rows = await partner_queries.partner_authorisations_of(conn, household_id)
        return [PartnerAuthorisation.from_row(row) for row in rows]

    @strawberry.field(
        description="The partner key making this request (X-API-Key), null otherwise: a "
        "partner shows its ID to households so they can authorise it."
    )
    async def current_partner_key(self, info: Info) -> PartnerKey | None:
        key_id = info.context.viewer.partner_key_id
        if key_id is None:
            return None
        async with info.context.reader.connect() as conn:
            row = await partner_queries.partner_key_by_id(conn, key_id)
        return PartnerKey.from_row(row) if row else None


@strawberry.type
class PartnerAuthorisationMutation:
    @strawberry.mutation(
        description="Let a partner (a live key with the POST_ON_BEHALF scope) post on your "
        "household's behalf. It gains no read access to your neighbourhood."
    )
    async def authorise_partner(
        self, info: Info, partner_key_id: relay.GlobalID
    ) -> PartnerAuthorisationResult:
        try:
            account_id, household_id = household_of_viewer(info)
            key_id = decode_key_id(partner_key_id)
        except UserError as error:
            return refusal(error)
        async with info.context.engine.begin() as conn:
            row = await partner_queries.authorise_partner(
                conn, household_id, key_id, account_id=account_id
            )
        if row is None:
            return NotFoundError(
                code=ErrorCode.NOT_FOUND,
                message="No live partner key with the POST_ON_BEHALF scope has this ID.",
            )
        return PartnerAuthorisationChanged(authorisation=PartnerAuthorisation.from_row(row))

    @strawberry.mutation(
        description="Withdraw your household's authorisation: the partner's next post on its "
        "behalf is refused (FORBIDDEN)."
    )
    async def revoke_partner_authorisation(
        self, info: Info, partner_key_id: relay.GlobalID
    ) -> PartnerAuthorisationResult:
        try:
            _, household_id = household_of_viewer(info)
            key_id = decode_key_id(partner_key_id)
        except UserError as error:
            return refusal(error)
        async with info.context.engine.begin() as conn:
            row = await partner_queries.revoke_partner_authorisation(conn, household_id, key_id)
        if row is None:
            return NotFoundError(
                code=ErrorCode.NOT_FOUND,
                message="Your household has no authorisation in force for this partner key.",
            )
        return PartnerAuthorisationChanged(authorisation=PartnerAuthorisation.from_row(row))

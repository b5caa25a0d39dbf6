"""A partner app posting for a household that authorised it (scope POST_ON_BEHALF).

The partner acts for the household in this one write only: its viewer stays a partner viewer,
so reading back the post's comments, author or feed still follows the key's own grants. The
authorisation row is locked (FOR SHARE) in the posting transaction: a revocation either lands
first (the post is refused) or waits for the post to commit; never a post after a revocation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ForbiddenError,
    NotAMemberError,
    UserError,
    ValidationError,
    forbidden,
    not_a_member,
)
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.post_input import CreatePostInput, clean_post
from api.validation import decode_node_id
from db.queries import live as live_queries
from db.queries import memberships as membership_queries
from db.queries import partners as partner_queries
from db.queries import posts as post_queries
from db.rows import PostRow

Info = strawberry.Info[Context, None]
SCOPE = "POST_ON_BEHALF"


async def create_post_on_behalf(
    info: Info, input: CreatePostInput, on_behalf_of: relay.GlobalID
) -> PostRow | ForbiddenError | ValidationError | NotAMemberError:
    """The post written, or why not (nothing is written then)."""
    viewer = info.context.viewer
    key_id = viewer.partner_key_id
    if key_id is None or not viewer.is_anonymous:
        return forbidden("`onBehalfOf` is for partner apps: send only their X-API-Key header.")
    if SCOPE not in viewer.partner_scopes:
        return forbidden("This partner key lacks the POST_ON_BEHALF scope.")
    try:
        household_id = decode_node_id(on_behalf_of, "Household", argument="onBehalfOf")
        clean = clean_post(input, now=datetime.now(UTC))
    except UserError as error:
        return validation_error(error)
    async with info.context.engine.begin() as conn:
        partner_name = await partner_queries.authorised_partner_name(conn, household_id, key_id)
        if partner_name is None:
            return forbidden(
                "This household has not authorised your partner key to post on its behalf "
                "(or has withdrawn it)."
            )
        membership = await membership_queries.membership_of(conn, household_id)
        if membership is None or membership.status != "APPROVED":
            return not_a_member("This household is not an approved member of its neighbourhood.")
        row = await post_queries.create_post(
            conn,
            household_id,
            account_id=None,
            kind=input.kind.name,
            title=clean.title,
            body=clean.body,
            expires_at=clean.expires_at,
            starts_at=clean.starts_at,
            ends_at=clean.ends_at,
            place_name=clean.place_name,
            place=clean.place,
        )
        assert row is not None, "the authorisation row's foreign key keeps the household"
        await partner_queries.mark_posted_via(conn, row.id, key_id, partner_name)
        await live_queries.notify_post_created(conn, row.id)
    return replace(row, posted_via=partner_name)

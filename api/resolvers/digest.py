"""`setDigestSubscription` (signed in) and `unsubscribeDigest(token)` (the e-mail's link, no
sign-in). Thin: the rules are in `services.digest`; see docs/live.md, "The weekly digest"."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import Context
from api.errors import ErrorCode, UnauthenticatedError, ValidationError, unauthenticated
from api.unsubscribe import digest_secret
from services import digest
from services.errors import Refusal

Info = strawberry.Info[Context, None]


@strawberry.type(description="Whether you now receive the weekly digest.")
class DigestSubscription:
    enabled: bool = strawberry.field(
        description="True: a French e-mail each week with what is new in your network."
    )


SetDigestSubscriptionResult = Annotated[
    DigestSubscription | UnauthenticatedError, strawberry.union("SetDigestSubscriptionResult")
]
UnsubscribeDigestResult = Annotated[
    DigestSubscription | ValidationError, strawberry.union("UnsubscribeDigestResult")
]


@strawberry.type
class DigestMutation:
    @strawberry.mutation(
        description="Receive (or stop receiving) the weekly e-mail \"ce qu'il s'est passé "
        'cette semaine dans votre voisinage": new posts, events and items of your network. '
        "Off until you turn it on. Each e-mail has a one-click unsubscribe link."
    )
    async def set_digest_subscription(
        self,
        info: Info,
        enabled: Annotated[bool, strawberry.argument(description="True to receive it.")],
    ) -> SetDigestSubscriptionResult:
        outcome = await digest.set_subscription(
            info.context.engine, account_id=info.context.viewer.account_id, enabled=enabled
        )
        if isinstance(outcome, Refusal):
            return unauthenticated()
        return DigestSubscription(enabled=outcome)

    @strawberry.mutation(
        description="Stop the weekly digest with the token of its unsubscribe link "
        "(`/desabonnement?token=…`), signed in or not. ValidationError (INVALID_TOKEN) for a "
        "token this server did not sign."
    )
    async def unsubscribe_digest(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The link's `token`.")],
    ) -> UnsubscribeDigestResult:
        key = digest_secret(info.context.settings)
        outcome = await digest.unsubscribe(info.context.engine, key, token)
        if isinstance(outcome, Refusal):
            return ValidationError(
                code=ErrorCode(outcome.code), message=outcome.message, field=outcome.field
            )
        return DigestSubscription(enabled=False)

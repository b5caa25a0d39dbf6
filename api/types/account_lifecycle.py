"""Answers of the account lifecycle mutations (docs/accounts.md)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON


@strawberry.type(
    description="Sign-up received: a link to confirm the address was e-mailed to it (valid 48 "
    "h), and the account can sign in once it is followed (verifyEmail). The same answer is "
    "given when the address already has an account (its owner is told by e-mail instead), "
    "so this answer never reveals who is registered."
)
class SignUpSuccess:
    email: str = strawberry.field(description="The address the link was sent to, lower-cased.")


@strawberry.type(description="The address is confirmed: sign in with logIn.")
class VerifyEmailSuccess:
    email: str = strawberry.field(description="The confirmed address.")


@strawberry.type(
    description="If the address has an account, a reset link (valid 1 h, single use) is on its "
    "way; the answer is the same when it has none."
)
class RequestPasswordResetSuccess:
    email: str = strawberry.field(description="The address as understood, lower-cased.")


@strawberry.type(
    description="Password changed. Sessions revoked: all of them after a reset link, the "
    "others (not this one) after changePassword; the owner is told by e-mail."
)
class PasswordChangedSuccess:
    revoked_tokens: int = strawberry.field(description="How many sessions stopped working.")


@strawberry.type(
    description="The account is erased; this token no longer works. What was kept, anonymised, "
    "is listed in docs/accounts.md."
)
class DeleteAccountSuccess:
    deleted_at: datetime = strawberry.field(description="When the erasure was committed.")


@strawberry.type(
    description="Everything the service holds about you and your household (GDPR art. 20), "
    "for the client to save as a JSON file."
)
class DataExport:
    generated_at: datetime = strawberry.field(description="When this snapshot was taken.")
    data: JSON = strawberry.field(
        description="One JSON object: format, account, household (with its exact location), "
        "items, loans, posts, comments, reviewsWritten, skills, carpools, carpoolBookings, "
        "gardens, gardenWaitlist, reportsFiled, feedback. Rows as stored, snake_case columns, "
        "geometries as GeoJSON (lng, lat); other households appear only as ids."
    )

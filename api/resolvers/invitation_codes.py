"""Invitation codes: made, cleaned, reserved at sign-up (services.accounts) and redeemed at
registration.

A code is 80 random bits in Crockford-free base32, shown as `XXXX-XXXX-XXXX-XXXX` so it can be
read out over the phone; case, spaces and dashes do not matter. Only its SHA-256 is stored.
Each helper runs inside the caller's transaction and returns the error to send back; the caller
rolls back, so a refused code writes nothing.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import ErrorCode, ValidationError
from db.queries import invitations

CODE_BYTES = 10
MAX_CODE_CHARS = 64
PROBLEMS = {
    "UNKNOWN": (ErrorCode.INVITATION_INVALID, "No invitation has this code: check it."),
    "REVOKED": (ErrorCode.INVITATION_REVOKED, "This invitation was withdrawn by its ambassador."),
    "USED": (ErrorCode.INVITATION_USED, "This invitation has already been used."),
    "EXPIRED": (ErrorCode.INVITATION_EXPIRED, "This invitation has expired: ask for a new one."),
}


def new_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_code(code: str) -> str:
    """The canonical form hashed in the database: upper case, grouped by dashes."""
    raw = "".join(char for char in code.upper() if char.isalnum())[:MAX_CODE_CHARS]
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def refusal(problem: str) -> ValidationError:
    code, message = PROBLEMS[problem]
    return ValidationError(code=code, message=message, field="invitationCode")


async def redeem_on_registration(
    conn: AsyncConnection,
    *,
    account_id: int,
    code: str | None,
    household_id: int,
    neighbourhood_id: int,
) -> ValidationError | None:
    """Approve a household just registered with an invitation of its neighbourhood. A code
    given now must be usable and for this neighbourhood (else an error: the caller rolls back).
    Without one, an invitation the account signed up with applies if it is for this
    neighbourhood, and is left alone otherwise (the policy decides, as without invitation)."""
    if code is None:
        await invitations.admit_with_reserved_invitation(
            conn, account_id, household_id, neighbourhood_id=neighbourhood_id
        )
        return None
    row = await invitations.invitation_for_code(conn, normalise_code(code))
    problem = invitations.invitation_problem(row, account_id)
    if problem is not None or row is None:
        return refusal(problem or "UNKNOWN")
    if row.neighbourhood_id != neighbourhood_id or not await invitations.admit_with_invitation(
        conn, row.id, household_id, neighbourhood_id=neighbourhood_id
    ):
        return ValidationError(
            code=ErrorCode.INVITATION_WRONG_NEIGHBOURHOOD,
            message="This invitation is for another neighbourhood than the one your home is in.",
            field="invitationCode",
        )
    return None

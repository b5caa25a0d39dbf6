"""Households: moving home, renaming, several accounts sharing one home, leaving.

Each use case owns its transaction and returns either its result or a `Refusal`. Moving re-runs
the registration's assignment rule under the shared boundary lock, so a move and a boundary change
cannot interleave; leaving reuses the account deletion's rule (docs/accounts.md): the last member
to go turns the household into an anonymous tombstone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import account_data
from db.queries import households as household_queries
from db.queries.households import HouseholdMember, Move
from db.rows import HouseholdRow
from geo.coords import LngLat
from services.errors import Refusal

INVITATION_VALID_HOURS = 48
"""Long enough to hand a code to a partner or a flatmate, short enough that a lost one dies."""


def no_household() -> Refusal:
    return Refusal("NOT_FOUND", "Your account has no household: register one or join one.")


async def household_members(
    engine: AsyncEngine, household_ids: list[int]
) -> dict[int, list[HouseholdMember]]:
    """The accounts of each household; the caller shows them to that household only."""
    async with engine.connect() as conn:
        return await household_queries.members_by_household_id(conn, household_ids)


async def move_household(
    engine: AsyncEngine, household_id: int | None, *, home: LngLat, resolution: int
) -> Move | Refusal:
    """A new address: assigned like a registration, with a new public point; the old network's
    membership ends, the new one starts per its policy (the arrival trigger)."""
    if household_id is None:
        return no_household()
    async with engine.begin() as conn:
        moved = await household_queries.move_household(
            conn, household_id, home=home, resolution=resolution
        )
    return moved if moved is not None else no_household()


async def rename_household(
    engine: AsyncEngine, household_id: int | None, name: str
) -> HouseholdRow | Refusal:
    if household_id is None:
        return no_household()
    async with engine.begin() as conn:
        if not await household_queries.rename_household(conn, household_id, name):
            return no_household()
        rows = await household_queries.households_by_id(conn, [household_id])
    return rows[household_id]


@dataclass(frozen=True, slots=True)
class Left:
    household_id: int
    dissolved: bool
    """The account was its last member: the household is now an anonymous tombstone."""


async def leave_household(
    engine: AsyncEngine, account_id: int, household_id: int | None
) -> Left | Refusal:
    """The account leaves its household; the last one out erases it, as `deleteAccount` does
    (same function, same lock on the household row against two members leaving at once)."""
    if household_id is None:
        return no_household()
    async with engine.begin() as conn:
        others = await account_data.other_members(conn, household_id, account_id)
        if not others:
            await account_data.erase_household(conn, household_id)
        await household_queries.leave_household(conn, account_id)
    return Left(household_id=household_id, dissolved=not others)


@dataclass(frozen=True, slots=True)
class HouseholdInvitation:
    code: str
    """Given once; only its SHA-256 digest is stored."""
    expires_at: datetime


def new_invitation_code() -> str:
    """128 random bits, URL-safe, prefixed so that a code pasted in the wrong field is obvious."""
    return "foyer_" + secrets.token_urlsafe(16)


async def invite_to_household(
    engine: AsyncEngine, account_id: int, household_id: int | None
) -> HouseholdInvitation | Refusal:
    if household_id is None:
        return no_household()
    code = new_invitation_code()
    async with engine.begin() as conn:
        expires_at = await household_queries.create_household_invitation(
            conn,
            household_id=household_id,
            account_id=account_id,
            code=code,
            valid_hours=INVITATION_VALID_HOURS,
        )
    return HouseholdInvitation(code=code, expires_at=expires_at)


ALREADY_IN_HOUSEHOLD = Refusal(
    "ALREADY_IN_HOUSEHOLD",
    "Your account already belongs to a household: leave it first (leaveHousehold).",
)
REDEMPTION_REFUSALS = {
    "ALREADY": ALREADY_IN_HOUSEHOLD,
    "UNKNOWN": Refusal("INVITATION_INVALID", "This household code is unknown.", "code"),
    "EXPIRED": Refusal(
        "INVITATION_EXPIRED", "This household code has expired: ask for a new one.", "code"
    ),
    "USED": Refusal("INVITATION_USED", "This household code was already used.", "code"),
}


async def join_household(
    engine: AsyncEngine, account_id: int, current_household_id: int | None, code: str
) -> HouseholdRow | Refusal:
    """Join the household of `code` (an account without a household only: leave yours first)."""
    if current_household_id is not None:
        return ALREADY_IN_HOUSEHOLD
    if not code or len(code) > 100:
        return REDEMPTION_REFUSALS["UNKNOWN"]
    async with engine.begin() as conn:
        redemption = await household_queries.redeem_household_invitation(
            conn, code=code, account_id=account_id
        )
        if redemption.household_id is None:
            return REDEMPTION_REFUSALS[redemption.status]
        rows = await household_queries.households_by_id(conn, [redemption.household_id])
    return rows[redemption.household_id]

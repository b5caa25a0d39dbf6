"""Invitations to a neighbourhood: one-time codes stored only as their SHA-256 digest.

An ambassador creates one; an account may reserve it at sign-up; a household registered with it
in its neighbourhood is approved at once. Redemption is an UPDATE ... WHERE still usable (and the
code's row is locked when read), so two registrations with one code cannot both succeed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household, NeighbourhoodInvitation

Cursor = tuple[datetime, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class InvitationRow:
    id: int
    neighbourhood_id: int
    email: str | None
    message: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    used_at: datetime | None
    reserved_by_account_id: int | None
    expired: bool
    """`expires_at` has passed, by the database clock."""


INVITATION_COLUMNS = (
    NeighbourhoodInvitation.id,
    NeighbourhoodInvitation.neighbourhood_id,
    NeighbourhoodInvitation.email,
    NeighbourhoodInvitation.message,
    NeighbourhoodInvitation.created_at,
    NeighbourhoodInvitation.expires_at,
    NeighbourhoodInvitation.revoked_at,
    NeighbourhoodInvitation.used_at,
    NeighbourhoodInvitation.reserved_by_account_id,
    (NeighbourhoodInvitation.expires_at <= func.now()).label("expired"),
)


def code_digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


def to_invitation(row: Row[*tuple[Any, ...]]) -> InvitationRow:
    return InvitationRow(**row._mapping)


async def create_invitation(
    conn: AsyncConnection,
    neighbourhood_id: int,
    code: str,
    *,
    email: str | None,
    message: str,
    account_id: int,
    lifetime: timedelta,
) -> InvitationRow:
    result = await conn.execute(
        insert(NeighbourhoodInvitation)
        .values(
            neighbourhood_id=neighbourhood_id,
            code_hash=code_digest(code),
            email=email,
            message=message,
            created_by_account_id=account_id,
            expires_at=func.now() + lifetime,
        )
        .returning(*INVITATION_COLUMNS)
    )
    return to_invitation(result.one())


async def invitations_of(
    conn: AsyncConnection, neighbourhood_id: int, *, limit: int, after: Cursor | None = None
) -> list[InvitationRow]:
    """A neighbourhood's invitations, oldest first, keyset-paged on (created_at, id)."""
    query = select(*INVITATION_COLUMNS).where(
        NeighbourhoodInvitation.neighbourhood_id == neighbourhood_id
    )
    if after is not None:
        at, ident = after
        query = query.where(
            or_(
                NeighbourhoodInvitation.created_at > at,
                and_(NeighbourhoodInvitation.created_at == at, NeighbourhoodInvitation.id > ident),
            )
        )
    query = query.order_by(NeighbourhoodInvitation.created_at, NeighbourhoodInvitation.id)
    return [to_invitation(row) for row in await conn.execute(query.limit(limit))]


async def invitation_by_id(conn: AsyncConnection, invitation_id: int) -> InvitationRow | None:
    result = await conn.execute(
        select(*INVITATION_COLUMNS).where(NeighbourhoodInvitation.id == invitation_id)
    )
    row = result.one_or_none()
    return to_invitation(row) if row else None


async def revoke_invitation(conn: AsyncConnection, invitation_id: int) -> InvitationRow | None:
    """Revoke an unused invitation (None: unknown, used or already revoked)."""
    result = await conn.execute(
        update(NeighbourhoodInvitation)
        .where(
            NeighbourhoodInvitation.id == invitation_id,
            NeighbourhoodInvitation.revoked_at.is_(None),
            NeighbourhoodInvitation.used_at.is_(None),
        )
        .values(revoked_at=func.now())
        .returning(*INVITATION_COLUMNS)
    )
    row = result.one_or_none()
    return to_invitation(row) if row else None


async def invitation_for_code(conn: AsyncConnection, code: str) -> InvitationRow | None:
    """The invitation behind a code, locked until the transaction ends (a concurrent
    redemption or revocation waits, then sees the outcome)."""
    result = await conn.execute(
        select(*INVITATION_COLUMNS)
        .where(NeighbourhoodInvitation.code_hash == code_digest(code))
        .with_for_update()
    )
    row = result.one_or_none()
    return to_invitation(row) if row else None


def invitation_problem(row: InvitationRow | None, account_id: int) -> str | None:
    """Why this invitation cannot be used by this account now: UNKNOWN, REVOKED, USED (or
    reserved by another account) or EXPIRED; None when it can."""
    if row is None:
        return "UNKNOWN"
    if row.revoked_at is not None:
        return "REVOKED"
    if row.used_at is not None or row.reserved_by_account_id not in (None, account_id):
        return "USED"
    if row.expired:
        return "EXPIRED"
    return None


async def reserve_invitation(conn: AsyncConnection, invitation_id: int, account_id: int) -> None:
    await conn.execute(
        update(NeighbourhoodInvitation)
        .where(NeighbourhoodInvitation.id == invitation_id)
        .values(reserved_by_account_id=account_id)
    )


async def admit_with_reserved_invitation(
    conn: AsyncConnection, account_id: int, household_id: int, *, neighbourhood_id: int
) -> bool:
    """Redeem the live invitation of `neighbourhood_id` this account signed up with, if any:
    one UPDATE, so a registration without invitation pays a single index probe."""
    used = await conn.execute(
        update(NeighbourhoodInvitation)
        .where(
            NeighbourhoodInvitation.reserved_by_account_id == account_id,
            NeighbourhoodInvitation.neighbourhood_id == neighbourhood_id,
            NeighbourhoodInvitation.used_at.is_(None),
            NeighbourhoodInvitation.revoked_at.is_(None),
            NeighbourhoodInvitation.expires_at > func.now(),
        )
        .values(used_at=func.now(), used_by_household_id=household_id)
        .returning(NeighbourhoodInvitation.created_by_account_id)
    )
    invited_by = used.first()
    if invited_by is None:
        return False
    await approve_invited(conn, household_id, neighbourhood_id, invited_by[0])
    return True


async def approve_invited(
    conn: AsyncConnection, household_id: int, neighbourhood_id: int, invited_by: int | None
) -> None:
    await conn.execute(
        update(Household)
        .where(Household.id == household_id, Household.neighbourhood_id == neighbourhood_id)
        .values(
            membership_status="APPROVED",
            membership_decided_at=func.now(),
            membership_decided_by_account_id=invited_by,
        )
    )


async def admit_with_invitation(
    conn: AsyncConnection, invitation_id: int, household_id: int, *, neighbourhood_id: int
) -> bool:
    """Mark the invitation used by this household and approve it, if the household is in the
    invitation's neighbourhood; False (nothing written) otherwise."""
    used = await conn.execute(
        update(NeighbourhoodInvitation)
        .where(
            NeighbourhoodInvitation.id == invitation_id,
            NeighbourhoodInvitation.neighbourhood_id == neighbourhood_id,
            NeighbourhoodInvitation.used_at.is_(None),
            NeighbourhoodInvitation.revoked_at.is_(None),
        )
        .values(used_at=func.now(), used_by_household_id=household_id)
        .returning(NeighbourhoodInvitation.created_by_account_id)
    )
    invited_by = used.one_or_none()
    if invited_by is None:
        return False
    await approve_invited(conn, household_id, neighbourhood_id, invited_by[0])
    return True

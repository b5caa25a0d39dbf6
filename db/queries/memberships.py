"""Membership approval: ambassadors validate newcomers before they see members' content.

The status itself is kept by the database: a trigger (migration 0009) sets a household PENDING or
APPROVED whenever it arrives in a neighbourhood, from that neighbourhood's policy. Every decision
here is one conditional UPDATE that names the neighbourhood it was taken for, so a household
that moved meanwhile is never approved into a network it left.

Invitations, the other way in, are in `db.queries.invitations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Household, Neighbourhood, NeighbourhoodRole

Cursor = tuple[datetime, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipRow:
    """A household's standing in the neighbourhood it lives in now."""

    household_id: int
    household_name: str
    neighbourhood_id: int
    status: str
    requested_at: datetime
    decided_at: datetime | None
    decline_reason: str | None


MEMBERSHIP_COLUMNS = (
    Household.id.label("household_id"),
    Household.name.label("household_name"),
    Household.neighbourhood_id,
    Household.membership_status.label("status"),
    Household.membership_requested_at.label("requested_at"),
    Household.membership_decided_at.label("decided_at"),
    Household.membership_decline_reason.label("decline_reason"),
)


def to_membership(row: Row[*tuple[Any, ...]]) -> MembershipRow:
    return MembershipRow(**row._mapping)


async def membership_of(conn: AsyncConnection, household_id: int) -> MembershipRow | None:
    result = await conn.execute(select(*MEMBERSHIP_COLUMNS).where(Household.id == household_id))
    row = result.one_or_none()
    return to_membership(row) if row else None


async def set_membership_policy(
    conn: AsyncConnection, neighbourhood_id: int, policy: str, *, account_id: int
) -> list[int] | None:
    """Change the policy (None: no such neighbourhood). Back to OPEN, every PENDING household is
    approved (returned, to notify them); DECLINED ones stay declined: a decision stands until an
    ambassador approves. Members already approved stay members under APPROVAL."""
    result = await conn.execute(
        update(Neighbourhood)
        .where(Neighbourhood.id == neighbourhood_id)
        .values(membership_policy=policy)
        .returning(Neighbourhood.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    if policy != "OPEN":
        return []
    approved = await conn.execute(
        update(Household)
        .where(
            Household.neighbourhood_id == neighbourhood_id,
            Household.membership_status == "PENDING",
        )
        .values(
            membership_status="APPROVED",
            membership_decided_at=func.now(),
            membership_decided_by_account_id=account_id,
        )
        .returning(Household.id)
    )
    return [int(hid) for hid in approved.scalars().all()]


async def pending_memberships(
    conn: AsyncConnection, neighbourhood_id: int, *, limit: int, after: Cursor | None = None
) -> list[MembershipRow]:
    """Households waiting in a neighbourhood, oldest request first (partial index
    `ix_households_pending`), keyset-paged on (requested_at, id)."""
    query = select(*MEMBERSHIP_COLUMNS).where(
        Household.neighbourhood_id == neighbourhood_id, Household.membership_status == "PENDING"
    )
    if after is not None:
        at, ident = after
        query = query.where(
            or_(
                Household.membership_requested_at > at,
                and_(Household.membership_requested_at == at, Household.id > ident),
            )
        )
    query = query.order_by(Household.membership_requested_at, Household.id).limit(limit)
    return [to_membership(row) for row in await conn.execute(query)]


async def decide_membership(
    conn: AsyncConnection,
    household_id: int,
    *,
    neighbourhood_id: int,
    approve: bool,
    account_id: int,
    reason: str | None = None,
) -> MembershipRow | None:
    """Approve (from PENDING or DECLINED) or decline (from PENDING) a household of
    `neighbourhood_id`; None when it is not (or no longer) there in such a state."""
    allowed = ("PENDING", "DECLINED") if approve else ("PENDING",)
    result = await conn.execute(
        update(Household)
        .where(
            Household.id == household_id,
            Household.neighbourhood_id == neighbourhood_id,
            Household.membership_status.in_(allowed),
        )
        .values(
            membership_status="APPROVED" if approve else "DECLINED",
            membership_decided_at=func.now(),
            membership_decided_by_account_id=account_id,
            membership_decline_reason=None if approve else reason,
        )
        .returning(*MEMBERSHIP_COLUMNS)
    )
    row = result.one_or_none()
    return to_membership(row) if row else None


async def appoint_household_ambassadors(
    conn: AsyncConnection, household_id: int, *, neighbourhood_id: int
) -> int | None:
    """Make every account of an APPROVED household of `neighbourhood_id` its ambassador; None
    when the household is not an approved member there, else how many accounts it has."""
    member = await conn.execute(
        select(Household.id).where(
            Household.id == household_id,
            Household.neighbourhood_id == neighbourhood_id,
            Household.membership_status == "APPROVED",
        )
    )
    if member.scalar_one_or_none() is None:
        return None
    accounts = select(Account.id).where(Account.household_id == household_id)
    ids = [int(aid) for aid in (await conn.execute(accounts)).scalars().all()]
    if ids:
        await conn.execute(
            pg_insert(NeighbourhoodRole)
            .values(
                [
                    {"account_id": aid, "neighbourhood_id": neighbourhood_id, "role": "AMBASSADOR"}
                    for aid in ids
                ]
            )
            .on_conflict_do_nothing()
        )
    return len(ids)

"""Accounts and bearer tokens. Tokens are stored only as SHA-256 digests: a database leak does
not hand out sessions. Passwords are hashed by the caller (Argon2, in `api.auth`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import AccessToken, Account, Household, NeighbourhoodRole


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRow:
    id: int
    email: str
    display_name: str
    password_hash: str
    household_id: int | None
    is_admin: bool
    email_verified_at: datetime | None = None
    """None until the owner follows the e-mailed link; such an account cannot sign in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who a valid token belongs to, with what authorization needs in one query."""

    account_id: int
    household_id: int | None
    neighbourhood_id: int | None
    is_admin: bool
    ambassador_of: frozenset[int]
    membership_status: str | None = None
    """The household's standing in its neighbourhood (APPROVED, PENDING, DECLINED)."""


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


ACCOUNT_COLUMNS = (
    Account.id,
    Account.email,
    Account.display_name,
    Account.password_hash,
    Account.household_id,
    Account.is_admin,
    Account.email_verified_at,
)


async def create_account(
    conn: AsyncConnection,
    *,
    email: str,
    password_hash: str,
    display_name: str,
    verified: bool = False,
) -> AccountRow | None:
    """None when the e-mail is taken (the unique constraint decides, race-free). `verified`:
    only for accounts made by seeds and tools, whose address nobody has to prove."""
    result = await conn.execute(
        pg_insert(Account)
        .values(
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            email_verified_at=func.now() if verified else None,
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(*ACCOUNT_COLUMNS)
    )
    row = result.one_or_none()
    return AccountRow(**row._mapping) if row else None


async def account_by_email(conn: AsyncConnection, email: str) -> AccountRow | None:
    row = (await conn.execute(select(*ACCOUNT_COLUMNS).where(Account.email == email))).one_or_none()
    return AccountRow(**row._mapping) if row else None


async def update_password_hash(conn: AsyncConnection, account_id: int, password_hash: str) -> None:
    await conn.execute(
        update(Account).where(Account.id == account_id).values(password_hash=password_hash)
    )


async def issue_token(
    conn: AsyncConnection, account_id: int, token: str, *, lifetime: timedelta
) -> datetime:
    result = await conn.execute(
        insert(AccessToken)
        .values(
            account_id=account_id,
            token_hash=token_digest(token),
            expires_at=func.now() + lifetime,
        )
        .returning(AccessToken.expires_at)
    )
    expires_at: datetime = result.scalar_one()
    return expires_at


async def revoke_token(conn: AsyncConnection, token: str) -> bool:
    result = await conn.execute(
        update(AccessToken)
        .where(AccessToken.token_hash == token_digest(token), AccessToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return result.rowcount > 0


async def revoke_all_tokens(conn: AsyncConnection, account_id: int) -> int:
    result = await conn.execute(
        update(AccessToken)
        .where(AccessToken.account_id == account_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return int(result.rowcount)


async def principal_for_token(conn: AsyncConnection, token: str) -> Principal | None:
    """The account behind a live token (not expired, not revoked), or None."""
    ambassador_of = (
        select(func.array_agg(NeighbourhoodRole.neighbourhood_id))
        .where(NeighbourhoodRole.account_id == Account.id)
        .scalar_subquery()
    )
    query = (
        select(
            Account.id,
            Account.household_id,
            Household.neighbourhood_id,
            Household.membership_status,
            Account.is_admin,
            ambassador_of.label("ambassador_of"),
        )
        .select_from(AccessToken)
        .join(Account, Account.id == AccessToken.account_id)
        .outerjoin(Household, Household.id == Account.household_id)
        .where(
            AccessToken.token_hash == token_digest(token),
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > func.now(),
        )
    )
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    return Principal(
        account_id=row.id,
        household_id=row.household_id,
        neighbourhood_id=row.neighbourhood_id,
        is_admin=row.is_admin,
        ambassador_of=frozenset(row.ambassador_of or ()),
        membership_status=row.membership_status,
    )


async def attach_household(conn: AsyncConnection, account_id: int, household_id: int) -> None:
    await conn.execute(
        update(Account).where(Account.id == account_id).values(household_id=household_id)
    )


async def grant_ambassador(conn: AsyncConnection, account_id: int, neighbourhood_id: int) -> None:
    await conn.execute(
        pg_insert(NeighbourhoodRole)
        .values(account_id=account_id, neighbourhood_id=neighbourhood_id, role="AMBASSADOR")
        .on_conflict_do_nothing()
    )


async def account_by_id(conn: AsyncConnection, account_id: int) -> AccountRow | None:
    row = (
        await conn.execute(select(*ACCOUNT_COLUMNS).where(Account.id == account_id))
    ).one_or_none()
    return AccountRow(**row._mapping) if row else None


async def make_admin(conn: AsyncConnection, account_id: int) -> None:
    """Admins are appointed in the database (CLI or seed), never through the public API."""
    await conn.execute(update(Account).where(Account.id == account_id).values(is_admin=True))

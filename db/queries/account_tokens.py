"""One-time tokens e-mailed to an account's owner (verify the address, reset the password).

Like bearer tokens, only their SHA-256 digest is stored. Redemption is one UPDATE ... RETURNING
that checks purpose, expiry and single use at once, so two clicks racing on the same link
cannot both succeed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import AccessToken, Account, AccountToken
from db.queries.accounts import token_digest


async def issue_account_token(
    conn: AsyncConnection, account_id: int, token: str, *, purpose: str, lifetime: timedelta
) -> None:
    await conn.execute(
        insert(AccountToken).values(
            account_id=account_id,
            purpose=purpose,
            token_hash=token_digest(token),
            expires_at=func.now() + lifetime,
        )
    )


async def tokens_sent_since(
    conn: AsyncConnection, account_id: int, *, purpose: str, within: timedelta
) -> int:
    """How many links of this purpose the account was sent lately (the per-address limit)."""
    result = await conn.execute(
        select(func.count())
        .select_from(AccountToken)
        .where(
            AccountToken.account_id == account_id,
            AccountToken.purpose == purpose,
            AccountToken.created_at > func.now() - within,
        )
    )
    return int(result.scalar_one())


async def redeem_account_token(conn: AsyncConnection, token: str, *, purpose: str) -> int | None:
    """Use a live token once; the account it was sent to, or None (unknown, used, expired)."""
    result = await conn.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_digest(token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(AccountToken.account_id)
    )
    account_id = result.scalar_one_or_none()
    return int(account_id) if account_id is not None else None


async def discard_account_tokens(conn: AsyncConnection, account_id: int, *, purpose: str) -> None:
    """Retire the account's other live links of this purpose (a reset link used, the rest die)."""
    await conn.execute(
        update(AccountToken)
        .where(
            AccountToken.account_id == account_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=func.now())
    )


async def mark_email_verified(conn: AsyncConnection, account_id: int) -> None:
    """Idempotent: a second verification keeps the first date."""
    await conn.execute(
        update(Account)
        .where(Account.id == account_id, Account.email_verified_at.is_(None))
        .values(email_verified_at=func.now())
    )


async def revoke_other_sessions(conn: AsyncConnection, account_id: int, *, keep: str | None) -> int:
    """Revoke the account's bearer tokens but `keep` (the session changing the password)."""
    query = update(AccessToken).where(
        AccessToken.account_id == account_id, AccessToken.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AccessToken.token_hash != token_digest(keep))
    result = await conn.execute(query.values(revoked_at=func.now()))
    return int(result.rowcount)

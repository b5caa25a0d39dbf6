"""The account lifecycle: sign up, verify the address, reset or change the password, sign out
everywhere, delete the account, export its data.

Each function owns its transaction and sends its e-mail only after the commit. The answers that
an anonymous caller gets (signUp, requestPasswordReset) are the same whether or not the address
has an account; only the e-mail, which only the owner of the address reads, differs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.passwords import PasswordHashing
from db.queries import account_data, account_tokens, accounts, invitations
from services.errors import Refusal, invalid_token
from services.mail import RESET_PATH, VERIFY_PATH, Mailer

VERIFY_EMAIL = "VERIFY_EMAIL"
RESET_PASSWORD = "RESET_PASSWORD"  # noqa: S105 - a token purpose, not a secret
LIFETIMES = {VERIFY_EMAIL: timedelta(hours=48), RESET_PASSWORD: timedelta(hours=1)}
LINKS_PER_HOUR = 3
"""E-mails of one kind one address receives per hour at most; beyond, the answer is unchanged
but nothing is sent (so nobody can flood a stranger's inbox through signUp or a reset)."""


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class InvitationRefused:
    """The invitation code given at sign-up cannot be used (UNKNOWN, REVOKED, USED, EXPIRED)."""

    problem: str


async def _issue_link(
    conn: AsyncConnection, mailer: Mailer, account_id: int, purpose: str
) -> str | None:
    """A new one-time link of `purpose` for the account; None past the hourly limit."""
    recent = await account_tokens.tokens_sent_since(
        conn, account_id, purpose=purpose, within=timedelta(hours=1)
    )
    if recent >= LINKS_PER_HOUR:
        return None
    token = new_link_token()
    await account_tokens.issue_account_token(
        conn, account_id, token, purpose=purpose, lifetime=LIFETIMES[purpose]
    )
    return mailer.link(VERIFY_PATH if purpose == VERIFY_EMAIL else RESET_PATH, token)


async def sign_up(
    engine: AsyncEngine,
    mailer: Mailer,
    *,
    email: str,
    password_hash: str,
    display_name: str,
    invitation_code: str | None,
) -> InvitationRefused | None:
    """Create an unverified account and e-mail its verification link.

    When the address already has an account, nothing is created: its owner is told by e-mail
    (with a link to reset the password, or to verify the pending account), and the caller gets
    the same answer as for a new account. `invitation_code` is normalised by the caller.
    """
    mail: EmailMessage | None = None
    async with engine.begin() as conn:
        row = await accounts.create_account(
            conn, email=email, password_hash=password_hash, display_name=display_name
        )
        existing = None if row is not None else await accounts.account_by_email(conn, email)
        account = row or existing
        if account is None:  # deleted between the two statements: nothing to tell anyone
            return None
        if invitation_code is not None:
            invitation = await invitations.invitation_for_code(conn, invitation_code)
            problem = invitations.invitation_problem(invitation, account.id)
            if problem is not None or invitation is None:
                await conn.rollback()
                return InvitationRefused(problem or "UNKNOWN")
            if row is not None:
                await invitations.reserve_invitation(conn, invitation.id, row.id)
        if existing is None:
            link = await _issue_link(conn, mailer, account.id, VERIFY_EMAIL)
            if link is not None:
                mail = mailer.compose(email, "verify_email", name=display_name, link=link)
        elif existing.email_verified_at is not None:
            link = await _issue_link(conn, mailer, existing.id, RESET_PASSWORD)
            if link is not None:
                mail = mailer.compose(
                    email, "sign_up_attempt_verified", name=existing.display_name, reset_link=link
                )
        else:
            link = await _issue_link(conn, mailer, existing.id, VERIFY_EMAIL)
            if link is not None:
                mail = mailer.compose(
                    email, "sign_up_attempt_unverified", name=existing.display_name, link=link
                )
    if mail is not None:
        await mailer.send(mail)
    return None


async def verify_email(engine: AsyncEngine, token: str) -> str | Refusal:
    """Mark the address behind a verification link as verified; the address, or a refusal."""
    async with engine.begin() as conn:
        account_id = await account_tokens.redeem_account_token(conn, token, purpose=VERIFY_EMAIL)
        if account_id is None:
            return invalid_token()
        await account_tokens.mark_email_verified(conn, account_id)
        row = await accounts.account_by_id(conn, account_id)
    return row.email if row else invalid_token()


async def request_password_reset(engine: AsyncEngine, mailer: Mailer, email: str) -> None:
    """E-mail a reset link if the address has an account; the same (no) answer either way."""
    mail = None
    async with engine.begin() as conn:
        row = await accounts.account_by_email(conn, email)
        if row is not None:
            link = await _issue_link(conn, mailer, row.id, RESET_PASSWORD)
            if link is not None:
                mail = mailer.compose(email, "reset_password", name=row.display_name, link=link)
    if mail is not None:
        await mailer.send(mail)


async def reset_password(
    engine: AsyncEngine, mailer: Mailer, token: str, password_hash: str
) -> int | Refusal:
    """Set a new password from a reset link: single use; every session of the account ends
    (whoever knew the old password is signed out); the address counts as verified (the link
    reached it). Returns how many sessions were revoked."""
    async with engine.begin() as conn:
        account_id = await account_tokens.redeem_account_token(conn, token, purpose=RESET_PASSWORD)
        if account_id is None:
            return invalid_token()
        await account_tokens.discard_account_tokens(conn, account_id, purpose=RESET_PASSWORD)
        await accounts.update_password_hash(conn, account_id, password_hash)
        await account_tokens.mark_email_verified(conn, account_id)
        revoked = await accounts.revoke_all_tokens(conn, account_id)
        row = await accounts.account_by_id(conn, account_id)
    if row is not None:
        await mailer.send(mailer.compose(row.email, "password_changed", name=row.display_name))
    return revoked


async def _checked_account(
    engine: AsyncEngine, passwords: PasswordHashing, account_id: int, password: str
) -> accounts.AccountRow | None:
    """The account if `password` is its password. Checked outside any transaction: no pooled
    connection is held for the hash's 0.15 s (as logIn does)."""
    async with engine.connect() as conn:
        row = await accounts.account_by_id(conn, account_id)
    if row is None or not await passwords.verify_async(row.password_hash, password):
        return None
    return row


def wrong_password() -> Refusal:
    return Refusal("INVALID_CREDENTIALS", "This is not your current password.", "currentPassword")


async def change_password(
    engine: AsyncEngine,
    passwords: PasswordHashing,
    mailer: Mailer,
    *,
    account_id: int,
    current_token: str | None,
    current_password: str,
    new_password: str,
) -> int | Refusal:
    """Change the password of a signed-in account that proves it knows the current one; its
    other sessions end, the one making the change stays. Returns how many were revoked."""
    row = await _checked_account(engine, passwords, account_id, current_password)
    if row is None:
        return wrong_password()
    password_hash = await passwords.hash_async(new_password)
    async with engine.begin() as conn:
        await accounts.update_password_hash(conn, account_id, password_hash)
        revoked = await account_tokens.revoke_other_sessions(conn, account_id, keep=current_token)
        await account_tokens.discard_account_tokens(conn, account_id, purpose=RESET_PASSWORD)
    await mailer.send(mailer.compose(row.email, "password_changed", name=row.display_name))
    return revoked


async def delete_account(
    engine: AsyncEngine,
    passwords: PasswordHashing,
    mailer: Mailer,
    *,
    account_id: int,
    password: str,
) -> Refusal | None:
    """Erase the account (GDPR art. 17; what is kept, anonymised, is in docs/accounts.md).

    The password is asked again so that a stolen session alone cannot delete an account."""
    row = await _checked_account(engine, passwords, account_id, password)
    if row is None:
        return Refusal("INVALID_CREDENTIALS", "This is not your password.", "password")
    async with engine.begin() as conn:
        household_id = row.household_id
        if household_id is not None and not await account_data.other_members(
            conn, household_id, account_id
        ):
            await account_data.erase_household(conn, household_id)
        await account_data.delete_account_row(conn, account_id)
    await mailer.send(mailer.compose(row.email, "account_deleted", name=row.display_name))
    return None


async def export_my_data(engine: AsyncEngine, account_id: int) -> dict[str, Any] | None:
    """Everything about the account and its household, in one consistent snapshot (GDPR
    art. 20); of other households only their ids. None when the account is gone."""
    async with engine.connect() as conn, conn.begin():
        await conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        data = await account_data.export_account(conn, account_id)
    if data is None:
        return None
    return {
        "format": "voisinage-export/1",
        "generatedAt": datetime.now(UTC).isoformat(),
        **data,
    }

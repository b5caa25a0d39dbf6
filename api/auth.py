"""Authentication: Argon2 password hashes and opaque bearer tokens.

Tokens are random 256-bit strings given to the client once; the database keeps only their
SHA-256 digest. A failed sign-in costs the same whether or not the e-mail exists, so the timing
does not reveal who has an account.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.context import Viewer
from db.queries import accounts

HASHER = PasswordHasher()
# A real hash of a random password, verified when the e-mail is unknown (constant-time answer).
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if well-formed."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200 or not token.isascii():
        return None
    return token


async def viewer_for_token(engine: AsyncEngine, token: str | None) -> Viewer:
    """The viewer behind a token; anonymous for a missing, unknown, expired or revoked one."""
    if token is None:
        return Viewer()
    async with engine.connect() as conn:
        principal = await accounts.principal_for_token(conn, token)
    if principal is None:
        return Viewer()
    return Viewer(
        account_id=principal.account_id,
        household_id=principal.household_id,
        neighbourhood_id=principal.neighbourhood_id,
        is_admin=principal.is_admin,
        ambassador_of=principal.ambassador_of,
    )

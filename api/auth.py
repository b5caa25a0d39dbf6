"""Authentication: opaque bearer tokens (passwords are hashed in `db.passwords`).

Tokens are random 256-bit strings given to the client once; the database keeps only their
SHA-256 digest.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine

from api.context import Viewer
from db.queries import accounts, partners


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


def api_key(headers: Mapping[str, str]) -> str | None:
    """A partner's `X-API-Key` header, if well-formed."""
    value = headers.get("x-api-key", "").strip()
    if not value or len(value) > 200 or not value.isascii():
        return None
    return value


class InvalidApiKeyError(Exception):
    """A partner key was sent that is unknown, revoked or expired (HTTP 401, INVALID_API_KEY).

    Refusing instead of serving the request anonymously tells a partner at once that its key
    stopped working, rather than letting it read empty public results and blame the data.
    """

    MESSAGE = (
        "The X-API-Key is unknown, revoked or expired: ask the Voisinage operators for a "
        "valid key (docs/partners.md)."
    )


async def viewer_for(
    engine: AsyncEngine, token: str | None, key: str | None, *, refuse_invalid_key: bool = False
) -> Viewer:
    """The viewer behind a bearer token and/or a partner key.

    A bearer token decides who acts (a key beside a valid token is ignored); a partner key alone
    reads what its grant allows. An unknown key gives an anonymous viewer, or raises
    `InvalidApiKeyError` with `refuse_invalid_key` (HTTP requests; a live socket already
    open is closed by `api.live_access` instead).
    """
    viewer = await viewer_for_token(engine, token)
    if key is None or not viewer.is_anonymous:
        return viewer
    async with engine.connect() as conn:
        grant = await partners.partner_for_secret(conn, key)
    if grant is None:
        if refuse_invalid_key:
            raise InvalidApiKeyError(InvalidApiKeyError.MESSAGE)
        return viewer
    return Viewer(
        partner_key_id=grant.key_id,
        partner_scopes=grant.scopes,
        partner_neighbourhoods=grant.neighbourhood_ids,
        partner_safelist_only=grant.safelist_only,
    )


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
        membership_status=principal.membership_status or "APPROVED",
    )

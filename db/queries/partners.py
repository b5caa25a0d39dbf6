"""Partner API keys and their persisted operations.

A key's secret is shown once and stored as its SHA-256 digest. Rotation keeps the previous
digest valid for a grace period, so a partner deploys the new secret without downtime. The
neighbourhoods a key may read are the ones granted explicitly plus, when the key has a
territory (e.g. a town hall's commune polygon), every neighbourhood whose representative point
lies in it: the partner sees its commune's networks and nothing beyond.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import (
    PartnerAuthorisation,
    PartnerKey,
    PartnerKeyNeighbourhood,
    PersistedOperation,
    Post,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerKeyRow:
    id: int
    name: str
    scopes: tuple[str, ...]
    safelist_only: bool
    has_territory: bool
    created_at: datetime
    revoked_at: datetime | None
    previous_valid_until: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerGrant:
    """What a valid key may do, resolved once per request."""

    key_id: int
    scopes: frozenset[str]
    neighbourhood_ids: frozenset[int]
    safelist_only: bool


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def document_sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


KEY_COLUMNS = (
    PartnerKey.id,
    PartnerKey.name,
    PartnerKey.scopes,
    PartnerKey.safelist_only,
    PartnerKey.territory.isnot(None).label("has_territory"),
    PartnerKey.created_at,
    PartnerKey.revoked_at,
    PartnerKey.previous_valid_until,
)


def to_row(row: object) -> PartnerKeyRow:
    m = row._mapping  # type: ignore[attr-defined]
    return PartnerKeyRow(**{**m, "scopes": tuple(m["scopes"])})


async def create_partner_key(
    conn: AsyncConnection,
    *,
    name: str,
    scopes: Sequence[str],
    secret: str,
    neighbourhood_ids: Sequence[int],
    territory: MultiPolygon | None,
    safelist_only: bool,
    created_by_account_id: int | None,
) -> PartnerKeyRow:
    result = await conn.execute(
        insert(PartnerKey)
        .values(
            name=name,
            scopes=list(scopes),
            secret_hash=secret_digest(secret),
            territory=from_shape(territory, srid=4326) if territory is not None else None,
            safelist_only=safelist_only,
            created_by_account_id=created_by_account_id,
        )
        .returning(*KEY_COLUMNS)
    )
    row = to_row(result.one())
    if neighbourhood_ids:
        await conn.execute(
            pg_insert(PartnerKeyNeighbourhood)
            .values([{"key_id": row.id, "neighbourhood_id": nid} for nid in neighbourhood_ids])
            .on_conflict_do_nothing()
        )
    return row


async def rotate_partner_key(
    conn: AsyncConnection, key_id: int, new_secret: str, *, grace: timedelta
) -> PartnerKeyRow | None:
    result = await conn.execute(
        update(PartnerKey)
        .where(PartnerKey.id == key_id, PartnerKey.revoked_at.is_(None))
        .values(
            previous_secret_hash=PartnerKey.secret_hash,
            previous_valid_until=func.now() + grace,
            secret_hash=secret_digest(new_secret),
        )
        .returning(*KEY_COLUMNS)
    )
    row = result.one_or_none()
    return to_row(row) if row else None


async def revoke_partner_key(conn: AsyncConnection, key_id: int) -> PartnerKeyRow | None:
    result = await conn.execute(
        update(PartnerKey)
        .where(PartnerKey.id == key_id, PartnerKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(*KEY_COLUMNS)
    )
    row = result.one_or_none()
    return to_row(row) if row else None


async def partner_keys(conn: AsyncConnection) -> list[PartnerKeyRow]:
    result = await conn.execute(select(*KEY_COLUMNS).order_by(PartnerKey.id))
    return [to_row(row) for row in result]


GRANTED_NEIGHBOURHOODS = text(
    """
    SELECT neighbourhood_id FROM partner_key_neighbourhoods WHERE key_id = :key_id
    UNION
    SELECT n.id FROM neighbourhoods n, partner_keys k
     WHERE k.id = :key_id AND k.territory IS NOT NULL
       AND ST_Intersects(n.boundary, k.territory)
       AND ST_Covers(k.territory, ST_PointOnSurface(n.boundary))
    """
)


async def partner_for_secret(conn: AsyncConnection, secret: str) -> PartnerGrant | None:
    """The grant of a live key (current secret, or the previous one within its grace period)."""
    digest = secret_digest(secret)
    result = await conn.execute(
        select(PartnerKey.id, PartnerKey.scopes, PartnerKey.safelist_only).where(
            PartnerKey.revoked_at.is_(None),
            or_(
                PartnerKey.secret_hash == digest,
                (PartnerKey.previous_secret_hash == digest)
                & (PartnerKey.previous_valid_until > func.now()),
            ),
        )
    )
    row = result.one_or_none()
    if row is None:
        return None
    granted = (await conn.execute(GRANTED_NEIGHBOURHOODS, {"key_id": row.id})).scalars().all()
    return PartnerGrant(
        key_id=int(row.id),
        scopes=frozenset(row.scopes),
        neighbourhood_ids=frozenset(int(nid) for nid in granted),
        safelist_only=bool(row.safelist_only),
    )


async def register_persisted_operation(conn: AsyncConnection, key_id: int, document: str) -> str:
    sha256 = document_sha256(document)
    await conn.execute(
        pg_insert(PersistedOperation)
        .values(key_id=key_id, sha256=sha256, document=document)
        .on_conflict_do_nothing()
    )
    return sha256


async def persisted_document(conn: AsyncConnection, key_id: int, sha256: str) -> str | None:
    result = await conn.execute(
        select(PersistedOperation.document).where(
            PersistedOperation.key_id == key_id, PersistedOperation.sha256 == sha256
        )
    )
    document = result.scalar_one_or_none()
    return str(document) if document is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationRow:
    """A household's permission for a partner key to post on its behalf."""

    household_id: int
    key_id: int
    partner_name: str
    granted_at: datetime
    revoked_at: datetime | None


AUTHORISATION_COLUMNS = (
    PartnerAuthorisation.household_id,
    PartnerAuthorisation.key_id,
    PartnerKey.name.label("partner_name"),
    PartnerAuthorisation.granted_at,
    PartnerAuthorisation.revoked_at,
)


async def partner_key_by_id(conn: AsyncConnection, key_id: int) -> PartnerKeyRow | None:
    result = await conn.execute(select(*KEY_COLUMNS).where(PartnerKey.id == key_id))
    row = result.one_or_none()
    return to_row(row) if row else None


async def authorise_partner(
    conn: AsyncConnection, household_id: int, key_id: int, *, account_id: int
) -> AuthorisationRow | None:
    """Let a live key with POST_ON_BEHALF post for the household (None: no such key). Granting
    again after a revocation starts a new authorisation (`granted_at` now)."""
    key = await conn.execute(
        select(PartnerKey.id).where(
            PartnerKey.id == key_id,
            PartnerKey.revoked_at.is_(None),
            PartnerKey.scopes.contains(["POST_ON_BEHALF"]),
        )
    )
    if key.scalar_one_or_none() is None:
        return None
    await conn.execute(
        pg_insert(PartnerAuthorisation)
        .values(household_id=household_id, key_id=key_id, granted_by_account_id=account_id)
        .on_conflict_do_update(
            index_elements=["household_id", "key_id"],
            set_={
                "granted_by_account_id": account_id,
                "granted_at": func.now(),
                "revoked_at": None,
            },
            where=PartnerAuthorisation.revoked_at.isnot(None),
        )
    )
    return (await partner_authorisations_of(conn, household_id, key_id=key_id))[0]


async def revoke_partner_authorisation(
    conn: AsyncConnection, household_id: int, key_id: int
) -> AuthorisationRow | None:
    """Withdraw a live authorisation (None: there was none); takes effect for any post not yet
    committed, as posting locks the authorisation row (`authorised_partner_name`)."""
    result = await conn.execute(
        update(PartnerAuthorisation)
        .where(
            PartnerAuthorisation.household_id == household_id,
            PartnerAuthorisation.key_id == key_id,
            PartnerAuthorisation.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
        .returning(PartnerAuthorisation.household_id)
    )
    if result.scalar_one_or_none() is None:
        return None
    return (await partner_authorisations_of(conn, household_id, key_id=key_id))[0]


async def partner_authorisations_of(
    conn: AsyncConnection, household_id: int, *, key_id: int | None = None
) -> list[AuthorisationRow]:
    """A household's authorisations, live ones first, newest grant first."""
    query = (
        select(*AUTHORISATION_COLUMNS)
        .join(PartnerKey, PartnerKey.id == PartnerAuthorisation.key_id)
        .where(PartnerAuthorisation.household_id == household_id)
        .order_by(
            PartnerAuthorisation.revoked_at.is_not(None),
            PartnerAuthorisation.granted_at.desc(),
            PartnerAuthorisation.key_id,
        )
    )
    if key_id is not None:
        query = query.where(PartnerAuthorisation.key_id == key_id)
    return [AuthorisationRow(**row._mapping) for row in await conn.execute(query)]


async def authorised_partner_name(
    conn: AsyncConnection, household_id: int, key_id: int
) -> str | None:
    """The partner's name if the household authorises this live key now, else None. The
    authorisation row is locked (FOR SHARE) until the caller's transaction ends, so a
    concurrent revocation waits for the post to commit, or wins before it."""
    result = await conn.execute(
        select(PartnerKey.name)
        .select_from(PartnerAuthorisation)
        .join(PartnerKey, PartnerKey.id == PartnerAuthorisation.key_id)
        .where(
            PartnerAuthorisation.household_id == household_id,
            PartnerAuthorisation.key_id == key_id,
            PartnerAuthorisation.revoked_at.is_(None),
            PartnerKey.revoked_at.is_(None),
        )
        .with_for_update(read=True, of=PartnerAuthorisation)
    )
    name = result.scalar_one_or_none()
    return str(name) if name is not None else None


async def mark_posted_via(conn: AsyncConnection, post_id: int, key_id: int, name: str) -> None:
    await conn.execute(
        update(Post).where(Post.id == post_id).values(posted_via_key_id=key_id, posted_via=name)
    )


async def key_territory_geojson(conn: AsyncConnection, key_id: int) -> str | None:
    """The key's territory as GeoJSON text (lng/lat), None when it has none."""
    result = await conn.execute(
        select(func.ST_AsGeoJSON(PartnerKey.territory)).where(PartnerKey.id == key_id)
    )
    value = result.scalar_one_or_none()
    return str(value) if value is not None else None


async def authorising_household_ids(conn: AsyncConnection, key_id: int) -> list[int]:
    """Households whose authorisation of this key is live now, oldest grant first."""
    result = await conn.execute(
        select(PartnerAuthorisation.household_id)
        .where(PartnerAuthorisation.key_id == key_id, PartnerAuthorisation.revoked_at.is_(None))
        .order_by(PartnerAuthorisation.granted_at, PartnerAuthorisation.household_id)
    )
    return [int(value) for value in result.scalars()]


async def post_ids_by_key(
    conn: AsyncConnection, key_id: int, *, limit: int, after_id: int | None
) -> list[int]:
    """The posts this key wrote on behalf of households, newest first (keyset on the id)."""
    query = select(Post.id).where(Post.posted_via_key_id == key_id)
    if after_id is not None:
        query = query.where(Post.id < after_id)
    result = await conn.execute(query.order_by(Post.id.desc()).limit(limit))
    return [int(value) for value in result.scalars()]


async def delete_post_by_key(conn: AsyncConnection, key_id: int, post_id: int) -> bool:
    """Delete a post this key wrote; False when it wrote no such post."""
    result = await conn.execute(
        delete(Post).where(Post.id == post_id, Post.posted_via_key_id == key_id).returning(Post.id)
    )
    return result.scalar_one_or_none() is not None

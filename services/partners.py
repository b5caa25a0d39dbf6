"""What a partner key may learn about itself, and its own posts (read, delete).

A key acts only on what it wrote (`posts.posted_via_key_id`): deleting a post it wrote on behalf
of a household is the partner's own correction; anything else stays the household's to delete.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import households as household_queries
from db.queries import partners as partner_queries
from db.queries import posts as post_queries
from db.rows import HouseholdRow, PostRow
from services.errors import Refusal, not_found


async def key_territory(engine: AsyncEngine, key_id: int) -> str | None:
    """The key's territory as GeoJSON text, None when it has none."""
    async with engine.connect() as conn:
        return await partner_queries.key_territory_geojson(conn, key_id)


async def authorising_households(engine: AsyncEngine, key_id: int) -> list[HouseholdRow]:
    """The households whose authorisation of the key is live, oldest grant first."""
    async with engine.connect() as conn:
        ids = await partner_queries.authorising_household_ids(conn, key_id)
        rows = await household_queries.households_by_id(conn, ids)
    return [rows[hid] for hid in ids if hid in rows]


async def partner_posts(
    engine: AsyncEngine, key_id: int, *, limit: int, after_id: int | None
) -> list[PostRow]:
    async with engine.connect() as conn:
        ids = await partner_queries.post_ids_by_key(conn, key_id, limit=limit, after_id=after_id)
        rows = await post_queries.posts_by_id(conn, ids)
    return [rows[pid] for pid in ids if pid in rows]


async def delete_partner_post(engine: AsyncEngine, key_id: int, post_id: int) -> Refusal | None:
    async with engine.begin() as conn:
        deleted = await partner_queries.delete_post_by_key(conn, key_id, post_id)
    if not deleted:
        return not_found("This key wrote no post with this ID.")
    return None

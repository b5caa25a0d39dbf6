"""Every foreign key has an index on its referencing column (see migration 0010 for why)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

UNINDEXED_FOREIGN_KEYS = text(
    """
    SELECT c.conrelid::regclass::text || '.' || a.attname
      FROM pg_constraint c
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f'
       AND c.connamespace = 'public'::regnamespace
       AND NOT EXISTS (
             SELECT 1 FROM pg_index i
              WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
     ORDER BY 1
    """
)
FOREIGN_KEYS = text("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")


async def test_every_foreign_key_leads_an_index(clean_db: AsyncEngine) -> None:
    async with clean_db.connect() as conn:
        unindexed = (await conn.execute(UNINDEXED_FOREIGN_KEYS)).scalars().all()
        keys = (await conn.execute(FOREIGN_KEYS)).scalar_one()
    assert keys > 30  # the query really looked at the schema's keys
    assert unindexed == []

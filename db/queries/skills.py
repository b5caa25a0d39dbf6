"""Skill queries: what households offer to do or teach, listed per neighbourhood newest first.

A skill belongs to a household, and is shown in the neighbourhood the household is in *now*
(through `households.neighbourhood_id`), so it follows the household when a boundary change
moves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household, Skill


@dataclass(frozen=True, slots=True, kw_only=True)
class SkillRow:
    """A skill; `neighbourhood_id` is its household's neighbourhood when it was read."""

    id: int
    household_id: int
    neighbourhood_id: int
    title: str
    description: str
    tags: tuple[str, ...]
    created_at: datetime


SKILL_COLUMNS = (
    Skill.id,
    Skill.household_id,
    Household.neighbourhood_id,
    Skill.title,
    Skill.description,
    Skill.tags,
    Skill.created_at,
)


def to_row(row: Row[*tuple[Any, ...]]) -> SkillRow:
    mapping = dict(row._mapping)
    mapping["tags"] = tuple(mapping["tags"])
    return SkillRow(**mapping)


def select_skills() -> Any:
    return select(*SKILL_COLUMNS).join(Household, Household.id == Skill.household_id)


async def offer_skill(
    conn: AsyncConnection,
    household_id: int,
    *,
    title: str,
    description: str,
    tags: Sequence[str],
) -> SkillRow:
    """Insert a skill; `tags` must already be lower-cased and unique (the table checks)."""
    result = await conn.execute(
        insert(Skill)
        .values(household_id=household_id, title=title, description=description, tags=list(tags))
        .returning(Skill.id)
    )
    skill_id = int(result.scalar_one())
    return (await skills_by_id(conn, [skill_id]))[skill_id]


async def update_skill(
    conn: AsyncConnection,
    skill_id: int,
    *,
    household_id: int,
    title: str,
    description: str,
    tags: Sequence[str],
) -> SkillRow | None:
    """Replace a skill of `household_id` (None: no such skill of theirs; the owner is in the
    WHERE clause, as in `remove_skill`). `tags` as for `offer_skill`."""
    result = await conn.execute(
        update(Skill)
        .where(Skill.id == skill_id, Skill.household_id == household_id)
        .values(title=title, description=description, tags=list(tags))
        .returning(Skill.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    return (await skills_by_id(conn, [skill_id])).get(skill_id)


async def remove_skill(conn: AsyncConnection, skill_id: int, *, household_id: int) -> bool:
    """Delete a skill of `household_id`; False when it has no such skill.

    The owner is in the WHERE clause, so a check made on a stale read never deletes another's.
    """
    result = await conn.execute(
        delete(Skill)
        .where(Skill.id == skill_id, Skill.household_id == household_id)
        .returning(Skill.id)
    )
    return result.scalar_one_or_none() is not None


async def skills_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, SkillRow]:
    if not ids:
        return {}
    result = await conn.execute(select_skills().where(Skill.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


def neighbourhood_skills_query(
    neighbourhood_id: int,
    *,
    tag: str | None,
    limit: int,
    after: tuple[datetime, int] | None,
) -> Select[Any]:
    """The statement behind `neighbourhood_skills`, separate so that tests can EXPLAIN it."""
    conditions: list[ColumnElement[bool]] = [Household.neighbourhood_id == neighbourhood_id]
    if tag is not None:
        conditions.append(Skill.tags.contains([tag]))
    if after is not None:
        conditions.append(tuple_(Skill.created_at, Skill.id) < tuple_(*after))
    statement: Select[Any] = (
        select_skills()
        .where(*conditions)
        .order_by(Skill.created_at.desc(), Skill.id.desc())
        .limit(limit)
    )
    return statement


async def neighbourhood_skills(
    conn: AsyncConnection,
    neighbourhood_id: int,
    *,
    tag: str | None,
    limit: int,
    after: tuple[datetime, int] | None,
) -> list[SkillRow]:
    """Skills of the neighbourhood's households, newest first, keyset-paged on (created_at, id).

    `tag` (lower-cased by the caller) is matched with `tags @> ARRAY[tag]`, which the GIN index
    on `tags` serves. The neighbourhood is the household's current one, through a join.
    """
    statement = neighbourhood_skills_query(neighbourhood_id, tag=tag, limit=limit, after=after)
    result = await conn.execute(statement)
    return [to_row(row) for row in result]

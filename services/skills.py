"""Skill use cases for the household that offers one: editing it.

Only that household changes its skill (FORBIDDEN for others); who may see a skill at all is the
API's rule (`api.types.skill.can_see_skill`), checked first so that an unseen skill answers
NOT_FOUND. Nobody else holds anything on a skill, so an edit notifies no one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import skills as skill_queries
from db.queries.skills import SkillRow
from services.errors import Refusal, forbidden, not_found


async def update_skill(
    engine: AsyncEngine,
    *,
    household_id: int | None,
    skill: SkillRow,
    title: str,
    description: str,
    tags: Sequence[str],
) -> SkillRow | Refusal:
    if household_id is None or household_id != skill.household_id:
        return forbidden("Only the household that offers this skill may change it.")
    async with engine.begin() as conn:
        row = await skill_queries.update_skill(
            conn,
            skill.id,
            household_id=household_id,
            title=title,
            description=description,
            tags=tags,
        )
    return row if row is not None else not_found("No skill you may see has this ID.")

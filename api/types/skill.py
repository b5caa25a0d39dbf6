"""The Skill type ("découvrir ses compétences"): what a household offers to do or teach.

Skills are shown to the members of the household's neighbourhood only (and admins).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.pagination import PageInfo
from api.types.household import Household
from api.types.neighbourhood import Neighbourhood
from api.validation import node_keys
from db.queries.skills import SkillRow


@strawberry.type(
    description="Something a household offers to do or teach its neighbours, e.g. "
    '"réparation de vélos", "cours de guitare". Visible to its neighbourhood\'s members.'
)
class Skill(relay.Node):
    id: relay.NodeID[int]
    title: str = strawberry.field(description="What is offered, 1 to 120 characters.")
    description: str = strawberry.field(
        description="Details (when, level, conditions), up to 2,000 characters; may be empty."
    )
    tags: list[str] = strawberry.field(
        description='Lower-case tags, at most 10, e.g. ["vélo", "réparation"].'
    )
    created_at: datetime = strawberry.field(description="When the skill was offered.")
    row: strawberry.Private[SkillRow]

    @classmethod
    def from_row(cls, row: SkillRow) -> Skill:
        return cls(
            id=row.id,
            title=row.title,
            description=row.description,
            tags=list(row.tags),
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field(description="The household offering it.")
    async def household(self, info: strawberry.Info[Context, None]) -> Household:
        row = await info.context.loaders.household_by_id.load(self.row.household_id)
        assert row is not None, "foreign key guarantees the household exists"
        return Household.from_row(row)

    @strawberry.field(description="The neighbourhood it is offered in: the household's.")
    async def neighbourhood(self, info: strawberry.Info[Context, None]) -> Neighbourhood:
        row = await info.context.loaders.neighbourhood_by_id.load(self.row.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: strawberry.Info[Context, None],
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Skill | None]:
        rows = await info.context.loaders.skill_by_id.load_many(node_keys(node_ids))
        viewer = info.context.viewer
        return [cls.from_row(row) if row and can_see_skill(viewer, row) else None for row in rows]


def can_see_skill(viewer: Viewer, row: SkillRow) -> bool:
    """Members of the household's neighbourhood, the household itself, and admins."""
    return viewer.household_id == row.household_id or viewer.can_read(row.neighbourhood_id)


@strawberry.type(description="A skill in a list, with its cursor.")
class SkillEdge:
    node: Skill = strawberry.field(description="The skill.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this skill.")


@strawberry.type(description="Skills offered in a neighbourhood, newest first.")
class SkillConnection:
    edges: list[SkillEdge] = strawberry.field(description="This page's skills, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursors.")

"""Skills households offer ("découvrir ses compétences"), listed per neighbourhood.

Thin: validate, authorise, call db, wrap. Tags are normalised here (trimmed, inner spaces
collapsed, lower-cased, a leading "#" dropped, duplicates removed) so that "Vélo", " vélo" and
"#vélo" are one tag, and the `tag` filter is normalised the same way.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    unauthenticated,
)
from api.pagination import (
    decode_time_cursor,
    encode_time_cursor,
    keyset_page_info,
    page_size,
)
from api.resolvers.household_access import acting_household
from api.resolvers.neighbourhoods import validation_error
from api.resolvers.service_errors import refusal_error
from api.types.skill import Skill, SkillConnection, SkillEdge, can_see_skill
from api.validation import clean_text, decode_node_id
from db.models import MAX_SKILL_TAGS
from db.queries import skills as skill_queries
from services import skills as skill_service
from services.errors import Refusal

Info = strawberry.Info[Context, None]
CURSOR_KIND = "skill"
MAX_TAG_LENGTH = 40


@strawberry.input(description="A skill your household offers to its neighbours.")
class OfferSkillInput:
    title: str = strawberry.field(
        description='What you offer, 1 to 120 characters, e.g. "Réparation de vélos".'
    )
    description: str = strawberry.field(
        default="", description="Details (when, level, conditions), up to 2,000 characters."
    )
    tags: list[str] = strawberry.field(
        default_factory=list,
        description="Up to 10 tags of 1 to 40 characters, no commas; stored lower-cased, "
        'without a leading "#", duplicates dropped.',
    )


@strawberry.type(description="The skill is offered in your neighbourhood.")
class OfferSkillSuccess:
    skill: Skill = strawberry.field(description="The new skill.")


@strawberry.input(
    description="A skill's new content, all of it, checked exactly as offerSkill's input."
)
class UpdateSkillInput(OfferSkillInput):
    pass


@strawberry.type(description="The skill's content is replaced.")
class UpdateSkillSuccess:
    skill: Skill = strawberry.field(description="The skill as it is now.")


@strawberry.type(description="The skill is removed.")
class RemoveSkillSuccess:
    removed_skill_id: relay.GlobalID = strawberry.field(description="Global ID it had.")


OfferSkillResult = Annotated[
    OfferSkillSuccess | ValidationError | ForbiddenError | UnauthenticatedError,
    strawberry.union("OfferSkillResult"),
]
UpdateSkillResult = Annotated[
    UpdateSkillSuccess | ValidationError | NotFoundError | ForbiddenError | UnauthenticatedError,
    strawberry.union("UpdateSkillResult"),
]
RemoveSkillResult = Annotated[
    RemoveSkillSuccess | ValidationError | NotFoundError | ForbiddenError | UnauthenticatedError,
    strawberry.union("RemoveSkillResult"),
]


@strawberry.type
class SkillQuery:
    @strawberry.field(
        description="Skills offered in a neighbourhood, newest first. Members of that "
        "neighbourhood (and admins) only: others get a NOT_A_MEMBER error."
    )
    async def skills(
        self,
        info: Info,
        neighbourhood_id: Annotated[
            relay.GlobalID, strawberry.argument(description="The Neighbourhood.")
        ],
        tag: Annotated[
            str | None,
            strawberry.argument(description="Only skills with this tag (case-insensitive)."),
        ] = None,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page, same filters."),
        ] = None,
    ) -> SkillConnection:
        viewer = info.context.viewer
        if viewer.account_id is None and viewer.partner_key_id is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        nid = decode_node_id(neighbourhood_id, "Neighbourhood", argument="neighbourhoodId")
        if not viewer.can_read(nid):
            raise UserError(
                ErrorCode.NOT_A_MEMBER,
                "Only members of this neighbourhood see the skills offered in it.",
            )
        wanted = clean_tag(tag, argument="tag") if tag is not None else None
        limit = page_size(first, info.context.settings.max_page_size)
        anchor = decode_time_cursor(after, CURSOR_KIND)
        async with info.context.reader.connect() as conn:
            rows = await skill_queries.neighbourhood_skills(
                conn, nid, tag=wanted, limit=limit + 1, after=anchor
            )
        edges = [
            SkillEdge(
                node=Skill.from_row(row),
                cursor=encode_time_cursor(CURSOR_KIND, row.created_at, row.id),
            )
            for row in rows[:limit]
        ]
        return SkillConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=anchor),
        )


@strawberry.type
class SkillMutation:
    @strawberry.mutation(
        description="Offer a skill to your neighbourhood (signed in, with a household)."
    )
    async def offer_skill(self, info: Info, input: OfferSkillInput) -> OfferSkillResult:
        viewer = info.context.viewer
        household_id = acting_household(viewer)
        if not isinstance(household_id, int):
            return household_id
        try:
            title = clean_text(input.title, argument="title", max_length=120)
            description = clean_text(
                input.description, argument="description", max_length=2000, min_length=0
            )
            tags = clean_tags(input.tags)
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row = await skill_queries.offer_skill(
                conn, household_id, title=title, description=description, tags=tags
            )
        return OfferSkillSuccess(skill=Skill.from_row(row))

    @strawberry.mutation(
        description="Change a skill your household offers (owner only): title, description and "
        "tags at once, checked as offerSkill's; nothing is written when one is refused."
    )
    async def update_skill(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The Skill to change.")],
        input: UpdateSkillInput,
    ) -> UpdateSkillResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            skill_id = decode_node_id(id, "Skill", argument="id")
            title = clean_text(input.title, argument="title", max_length=120)
            description = clean_text(
                input.description, argument="description", max_length=2000, min_length=0
            )
            tags = clean_tags(input.tags)
        except UserError as error:
            return validation_error(error)
        row = await info.context.loaders.skill_by_id.load(skill_id)
        if row is None or not can_see_skill(viewer, row):
            return skill_not_found()
        updated = await skill_service.update_skill(
            info.context.engine,
            household_id=viewer.household_id,
            skill=row,
            title=title,
            description=description,
            tags=tags,
        )
        if isinstance(updated, Refusal):
            return refusal_error(updated)  # type: ignore[return-value]
        return UpdateSkillSuccess(skill=Skill.from_row(updated))

    @strawberry.mutation(description="Remove a skill your household offered (owner only).")
    async def remove_skill(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The Skill to remove.")],
    ) -> RemoveSkillResult:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return unauthenticated()
        try:
            skill_id = decode_node_id(id, "Skill", argument="id")
        except UserError as error:
            return validation_error(error)
        row = await info.context.loaders.skill_by_id.load(skill_id)
        if row is None or not can_see_skill(viewer, row):
            return skill_not_found()
        if viewer.household_id != row.household_id:
            return forbidden("Only the household that offers this skill may remove it.")
        async with info.context.engine.begin() as conn:
            removed = await skill_queries.remove_skill(
                conn, skill_id, household_id=viewer.household_id
            )
        if not removed:
            return skill_not_found()
        return RemoveSkillSuccess(removed_skill_id=id)


def skill_not_found() -> NotFoundError:
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No skill you may see has this ID.")


def clean_tag(value: str, *, argument: str) -> str:
    """One tag: trimmed, inner whitespace collapsed, lower-cased, without a leading "#"."""
    tag = " ".join(value.split()).lstrip("#").strip().lower()
    if not 1 <= len(tag) <= MAX_TAG_LENGTH or "," in tag or not tag.isprintable():
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"A tag is 1 to {MAX_TAG_LENGTH} printable characters without commas; "
            f"got {value[:50]!r}.",
            argument=argument,
        )
    return tag


def clean_tags(values: list[str]) -> list[str]:
    tags = list(dict.fromkeys(clean_tag(value, argument="tags") for value in values))
    if len(tags) > MAX_SKILL_TAGS:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"At most {MAX_SKILL_TAGS} tags per skill.",
            argument="tags",
        )
    return tags

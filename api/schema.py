"""The Strawberry schema: root types assembled from the resolver modules, plus extensions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from api.errors import ErrorCode, MaskUnexpectedErrors, UserError
from api.observability import Metrics, OperationMetrics
from api.resolvers.accounts import AccountMutation, AccountQuery
from api.resolvers.neighbourhoods import NeighbourhoodMutation, NeighbourhoodQuery
from api.scalars import SCALAR_MAP
from api.settings import Settings
from api.types.household import Household
from api.types.neighbourhood import Neighbourhood


@strawberry.type(description="Read the neighbourhood networks and what is shared in them.")
class Query(AccountQuery, NeighbourhoodQuery):
    @strawberry.field(description="Any object by its global ID (Relay). Null if it does not exist.")
    async def node(self, info: strawberry.Info, id: relay.GlobalID) -> relay.Node | None:
        # A plain resolver rather than `relay.node()`, whose field extension can be applied to
        # only one schema per process (tests and workers build several).
        try:
            return await id.resolve_node(info, required=False)  # type: ignore[no-any-return]
        except ValueError:
            raise UserError(ErrorCode.INVALID_ID, "This ID does not name a known type.") from None


@strawberry.type(description="Change data. Expected failures come back as error types.")
class Mutation(AccountMutation, NeighbourhoodMutation):
    pass


def build_schema(settings: Settings, metrics: Metrics | None = None) -> strawberry.Schema:
    # Factories, not instances: an extension holds per-operation state. The parser and
    # validation caches are shared module-level LRU caches keyed by maxsize.
    extensions: list[Callable[[], SchemaExtension]] = [
        MaskUnexpectedErrors,
        partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        partial(ParserCache, maxsize=512),
        partial(MaxAliasesLimiter, max_alias_count=settings.max_aliases),
        partial(QueryDepthLimiter, max_depth=settings.max_query_depth),
        partial(ValidationCache, maxsize=512),
    ]
    if not settings.introspection:
        extensions.append(partial(AddValidationRules, [NoSchemaIntrospectionCustomRule]))
    if metrics is not None:
        extensions.append(partial(OperationMetrics, metrics))
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Household, Neighbourhood],
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )


def export_sdl(settings: Settings | None = None) -> str:
    """The SDL committed as `schema.graphql` (independent of runtime-only settings)."""
    return build_schema(settings or Settings()).as_str() + "\n"

"""The Strawberry schema: root types assembled from the resolver modules, plus extensions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import (
    MaxTokensLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext

from api import fastpaths
from api.errors import ErrorCode, MaskUnexpectedErrors, UserError
from api.guards import (
    DocumentValidationCache,
    ReportingParserCache,
    ValidationResults,
    operation_guards,
)
from api.observability import Metrics, OperationMetrics
from api.ratelimit import RateLimits
from api.replica_routing import ReplicaRouting
from api.resolvers.account_lifecycle import AccountLifecycleMutation, AccountLifecycleQuery
from api.resolvers.accounts import AccountMutation, AccountQuery
from api.resolvers.carpools import CarpoolMutation, CarpoolQuery
from api.resolvers.digest import DigestMutation
from api.resolvers.feedback import FeedbackMutation, FeedbackQuery
from api.resolvers.gardens import GardenMutation, GardenQuery
from api.resolvers.households import HouseholdMutation
from api.resolvers.invitations import InvitationMutation, InvitationQuery
from api.resolvers.items import ItemMutation, ItemQuery
from api.resolvers.loans import LoanMutation, LoanQuery
from api.resolvers.memberships import MembershipMutation, MembershipQuery
from api.resolvers.neighbourhoods import NeighbourhoodMutation, NeighbourhoodQuery
from api.resolvers.notifications import NotificationMutation, NotificationQuery
from api.resolvers.partner_authorisations import (
    PartnerAuthorisationMutation,
    PartnerAuthorisationQuery,
)
from api.resolvers.partners import (
    PartnerMutation,
    PartnerQuery,
    PartnerSelfMutation,
    PartnerSelfQuery,
)
from api.resolvers.posts import PostMutation, PostQuery
from api.resolvers.reports import ReportMutation, ReportQuery
from api.resolvers.reviews import ReviewMutation
from api.resolvers.skills import SkillMutation, SkillQuery
from api.resolvers.subscriptions import Subscription
from api.scalars import SCALAR_MAP
from api.settings import Settings
from api.types.carpool import Carpool
from api.types.garden import Garden
from api.types.household import Household
from api.types.item import Item
from api.types.loan import Loan
from api.types.neighbourhood import Neighbourhood
from api.types.notification import Notification
from api.types.post import Comment, Post
from api.types.report import Report
from api.types.skill import Skill


@strawberry.type(description="Read the neighbourhood networks and what is shared in them.")
class Query(
    AccountQuery,
    AccountLifecycleQuery,
    FeedbackQuery,
    PartnerQuery,
    PartnerSelfQuery,
    NeighbourhoodQuery,
    ItemQuery,
    PostQuery,
    LoanQuery,
    SkillQuery,
    GardenQuery,
    CarpoolQuery,
    ReportQuery,
    MembershipQuery,
    InvitationQuery,
    NotificationQuery,
    PartnerAuthorisationQuery,
):
    @strawberry.field(description="Any object by its global ID (Relay). Null if it does not exist.")
    async def node(self, info: strawberry.Info, id: relay.GlobalID) -> relay.Node | None:
        # A plain resolver rather than `relay.node()`, whose field extension can be applied to
        # only one schema per process (tests and workers build several).
        try:
            return await id.resolve_node(info, required=False)  # type: ignore[no-any-return]
        except ValueError:
            raise UserError(ErrorCode.INVALID_ID, "This ID does not name a known type.") from None


@strawberry.type(description="Change data. Expected failures come back as error types.")
class Mutation(
    AccountMutation,
    AccountLifecycleMutation,
    FeedbackMutation,
    PartnerMutation,
    PartnerSelfMutation,
    NeighbourhoodMutation,
    HouseholdMutation,
    ItemMutation,
    PostMutation,
    LoanMutation,
    SkillMutation,
    GardenMutation,
    CarpoolMutation,
    ReportMutation,
    ReviewMutation,
    MembershipMutation,
    InvitationMutation,
    NotificationMutation,
    DigestMutation,
    PartnerAuthorisationMutation,
):
    pass


class VoisinageSchema(strawberry.Schema):
    """Strawberry's schema without its default error logging: expected errors are not worth a
    traceback, and unexpected ones are logged once, with the request ID, by MaskUnexpectedErrors."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


VALIDATION_RESULTS = ValidationResults(maxsize=512)
"""Shared by the schemas of a process, like Strawberry's parser cache (keyed by schema too)."""


def validation_cache(settings: Settings) -> Callable[[], SchemaExtension]:
    """Validation results found by document identity (`api.fastpaths.document_cache`), or
    Strawberry's own `ValidationCache` with FAST_PATHS=off."""
    if fastpaths.enabled(settings):
        return partial(DocumentValidationCache, VALIDATION_RESULTS)
    return partial(ValidationCache, maxsize=512)


def execution_context_class(
    settings: Settings,
) -> type[StrawberryGraphQLCoreExecutionContext] | None:
    """`api.fastpaths.execution.PlannedExecutor`, or Strawberry's default with FAST_PATHS=off
    (imported only when used: it reaches inside graphql-core)."""
    if not fastpaths.enabled(settings):
        return None
    from api.fastpaths.execution import PlannedExecutor

    return PlannedExecutor


def build_schema(
    settings: Settings, metrics: Metrics | None = None, rate_limits: RateLimits | None = None
) -> strawberry.Schema:
    # Factories, not instances: an extension holds per-operation state. The parser and
    # validation caches are shared module-level LRU caches keyed by maxsize.
    extensions: list[Callable[[], SchemaExtension]] = [
        MaskUnexpectedErrors,
        partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        partial(ReportingParserCache, maxsize=512),
        validation_cache(settings),
        # depth, aliases, cost, rate, deadline: after the caches
        *operation_guards(settings, rate_limits),
    ]
    if metrics is not None:
        extensions.append(partial(OperationMetrics, metrics))
    if settings.database_replica_urls:  # a mutation's reads on the primary, and its mark
        extensions.append(ReplicaRouting)
    return VoisinageSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Household,
            Item,
            Neighbourhood,
            Post,
            Comment,
            Loan,
            Skill,
            Garden,
            Carpool,
            Report,
            Notification,
        ],
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=execution_context_class(settings),
    )


def export_sdl(settings: Settings | None = None) -> str:
    """The SDL committed as `schema.graphql` (independent of runtime-only settings)."""
    return build_schema(settings or Settings()).as_str() + "\n"

"""The schema extensions that protect the service from costly, abusive or endless operations.

They run after the parser and validation caches (they read the validated document), in this
order: depth, alias and cost limits, rate limits, introspection policy, deadline. See docs/limits.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from strawberry.extensions import ParserCache, SchemaExtension

from api.cost import OperationLimits
from api.deadline import OperationDeadline
from api.introspection import IntrospectionPolicy
from api.ratelimit import RateLimitGuard, RateLimits
from api.settings import Settings


def operation_guards(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Extension factories for `build_schema`; the rate-limit buckets are shared by the
    operations of this one schema (one per application and process)."""
    limits = RateLimits(settings)
    return [
        partial(
            OperationLimits,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_cost=settings.max_query_cost,
            proximity_cost=settings.proximity_search_cost,
        ),
        partial(RateLimitGuard, limits, proximity_cost=settings.proximity_search_cost),
        partial(IntrospectionPolicy, settings),
        partial(OperationDeadline, settings.operation_timeout_s),
    ]


class ReportingParserCache(ParserCache):
    """Strawberry's parser cache, minus its one flaw: a syntax error raised from its hook
    escapes Strawberry's error handling (over WebSocket the operation just ends, with a
    traceback in the log). On failure this leaves the document unparsed, and Strawberry's own
    parse, a few lines later, reports the error like any other."""

    def on_parse(self) -> Iterator[None]:
        execution_context = self.execution_context
        try:
            execution_context.graphql_document = self.cached_parse_document(
                execution_context.query, **execution_context.parse_options
            )
        except Exception:  # reported by Strawberry's own parse, right after
            execution_context.graphql_document = None
        yield

"""The schema extensions that protect the service from costly, abusive or endless operations.

They run after the parser and validation caches (they read the validated document), in this
order: depth, alias and cost limits, rate limits, introspection policy, deadline. See docs/limits.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.schema import validate_document

from api import fastpaths
from api.cost import OperationLimits
from api.deadline import OperationDeadline
from api.fastpaths.document_cache import PerDocument
from api.introspection import IntrospectionPolicy
from api.ratelimit import RateLimitGuard, RateLimits
from api.settings import Settings


def operation_guards(
    settings: Settings, rate_limits: RateLimits | None = None
) -> list[Callable[[], SchemaExtension]]:
    """Extension factories for `build_schema`; the rate-limit counters are the application's
    (`create_app` passes them), or this schema's own in memory."""
    limits = rate_limits if rate_limits is not None else RateLimits(settings)
    return [
        partial(
            OperationLimits,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_cost=settings.max_query_cost,
            proximity_cost=settings.proximity_search_cost,
            cache_measures=fastpaths.enabled(settings),
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


class DocumentValidationCache(SchemaExtension):
    """Validation results kept per parsed document, found by the document's identity.

    Strawberry's `ValidationCache` is an `lru_cache` on (schema, document, rules): looking it up
    hashes the document, and a graphql-core AST hashes every node of it on every call (a tenth
    of a millisecond for a page query). The parser cache hands back the very same
    `DocumentNode` for the same text, so its identity is key enough
    (`api.fastpaths.document_cache`). With FAST_PATHS=off the schema uses Strawberry's own.
    """

    def __init__(self, results: ValidationResults) -> None:
        self.results = results

    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        document = execution_context.graphql_document
        if document is not None:
            execution_context.pre_execution_errors = self.results.validate(
                execution_context.schema._schema, document, execution_context.validation_rules
            )
        yield


class ValidationResults:
    """At most `maxsize` documents' validation errors (least recently used dropped first), per
    schema and set of rules (the introspection policy adds one for some callers)."""

    def __init__(self, maxsize: int) -> None:
        self.documents: PerDocument[list[GraphQLError]] = PerDocument(maxsize)

    def validate(
        self, schema: GraphQLSchema, document: DocumentNode, rules: Sequence[Any]
    ) -> list[GraphQLError]:
        key = tuple(map(id, rules))
        found = self.documents.get(schema, document, key)
        if found is not None:
            return found
        return self.documents.put(
            schema, document, key, validate_document(schema, document, tuple(rules))
        )

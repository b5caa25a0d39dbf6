"""Who may introspect the schema, decided per request, and the "Did you mean" hints with it.

Introspection and graphql-core's suggestions ("Cannot query field 'emial'. Did you mean
'email'?") both reveal the schema; a caller who may not introspect gets neither. In development
everyone may introspect (GRAPHQL_INTROSPECTION=true, the default); in production only signed-in
admins, so partners read the committed `schema.graphql` instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from api.settings import Settings

SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
"""graphql-core's hint; the names it lists cannot contain `?` (GraphQL names are [_A-Za-z0-9])."""


def may_introspect(settings: Settings, context: object) -> bool:
    if not settings.introspection:
        return False
    if not settings.is_production:
        return True
    viewer = getattr(context, "viewer", None)
    return bool(getattr(viewer, "is_admin", False))


def without_suggestion(error: GraphQLError) -> GraphQLError:
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    # A new error: validation errors are shared by the validation cache across requests.
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class IntrospectionPolicy(SchemaExtension):
    """Adds graphql-core's no-introspection rule and strips suggestions for other callers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_operation(self) -> Iterator[None]:
        execution_context = self.execution_context
        allowed = may_introspect(self.settings, execution_context.context)
        if not allowed:
            # Part of the validation cache's key, so cached results never cross the policy.
            execution_context.validation_rules = (
                *execution_context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield
        result = execution_context.result
        if not allowed and result is not None and result.errors:
            result.errors = [without_suggestion(error) for error in result.errors]

"""The static cost, depth and aliases of an operation, computed before it runs, and their limits.

Depth, alias and token limits bound the *shape* of a document; they do not stop one shallow
operation from asking for 100 pages of 100 items, each with 100 comments. The cost does: every
field costs 1, the fields under a list are counted once per item the list may hold (`first`, or
`DEFAULT_LIST_SIZE` when a connection is asked without it), and every proximity search adds
`settings.proximity_search_cost` because it is a spatial query, and the raw material of
trilateration. Partners can compute the same number by hand: docs/limits.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from api.fastpaths.document_cache import PerDocument

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
DEFAULT_LIST_SIZE = 10
"""Items assumed for a connection asked without `first` (its default page) or a plain list."""
PROXIMITY_FIELDS = frozenset(
    {"nearestLenders", "gardensNear", "carpoolMatches", "postsNear", "neighbourhoods"}
)
"""Fields that search around a point: weighted in the cost and rate-limited on their own."""


@dataclass(frozen=True)
class QueryCost:
    """What an operation may do, measured on its document before it runs."""

    cost: int
    proximity_searches: int
    """How many proximity searches it may run (aliased or under a list: each counts)."""
    depth: int = 0
    """Fields on its longest path, the root field included (introspection fields excluded)."""
    aliases: int = 0
    """Aliased fields, counted again each time their fragment is spread."""

    def __add__(self, other: QueryCost) -> QueryCost:
        return QueryCost(
            self.cost + other.cost,
            self.proximity_searches + other.proximity_searches,
            max(self.depth, other.depth),
            self.aliases + other.aliases,
        )

    def under(self, node: FieldNode, own_cost: int, proximity: bool, items: int) -> QueryCost:
        """This selection seen from the field `node` holding it, resolved `items` times."""
        return QueryCost(
            own_cost + self.cost * items,
            int(proximity) + self.proximity_searches * items,
            self.depth + 1,
            int(node.alias is not None) + self.aliases,
        )


ZERO = QueryCost(0, 0)


class _Walker:
    """Walks one operation; fragments are measured once per (fragment, type), so a document
    spreading fragments that spread fragments is measured in time linear in its size (the
    depth and alias limiters Strawberry ships expand them, in exponential time)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        proximity_cost: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.proximity_cost = proximity_cost
        self.memo: dict[tuple[str, str], QueryCost] = {}
        self.variables_read: set[str] = set()
        """The variables the measure depends on (`first: $n`): what a cached measure is for."""

    def selection_set(self, node: SelectionSetNode | None, parent: GraphQLNamedType) -> QueryCost:
        total = ZERO
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, scope or parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, parent)
        return total

    def fragment(self, name: str, parent: GraphQLNamedType) -> QueryCost:
        key = (name, parent.name)
        if key not in self.memo:
            self.memo[key] = ZERO  # a cycle (refused by validation anyway) costs nothing more
            definition = self.fragments.get(name)
            if definition is not None:
                scope = self.schema.get_type(definition.type_condition.name.value) or parent
                self.memo[key] = self.selection_set(definition.selection_set, scope)
        return self.memo[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> QueryCost:
        name = node.name.value
        proximity = name in PROXIMITY_FIELDS
        own_cost = 1 + (self.proximity_cost if proximity else 0)
        fields = (
            parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        )
        definition = fields.get(name)
        if name.startswith("__"):  # introspection: bounded by the schema, not by the caller
            return QueryCost(own_cost, 0, 0, int(node.alias is not None))
        if definition is None or node.selection_set is None:  # a leaf (or unknown) field
            return ZERO.under(node, own_cost, proximity, 1)
        named = get_named_type(definition.type)
        items = self.items(node, parent, definition.type, "first" in definition.args)
        return self.selection_set(node.selection_set, named).under(node, own_cost, proximity, items)

    def items(
        self, node: FieldNode, parent: GraphQLNamedType, type_: GraphQLOutputType, paged: bool
    ) -> int:
        """How many times the selection under this field may be resolved."""
        if paged:
            first = self.argument(node, "first")
            return max(first, 0) if first is not None else DEFAULT_LIST_SIZE
        if not _is_list(type_):
            return 1
        # `edges` of a connection were already counted by the connection's `first`.
        if parent.name.endswith("Connection"):
            return 1
        return DEFAULT_LIST_SIZE if is_composite_type(get_named_type(type_)) else 1

    def argument(self, node: FieldNode, name: str) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                self.variables_read.add(value.name.value)
                # Anything but a 32-bit Int is refused by coercion, which then says why.
                return page_size_of(self.variables.get(value.name.value))
        return None


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    proximity_cost: int,
) -> QueryCost:
    """The cost of the operation `operation_name` of a *validated* document (zero if absent).

    An upper bound: fields under `@skip`/`@include` and every branch of a union count.
    """
    return walk(schema, document, operation_name, variables, proximity_cost)[0]


def walk(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    proximity_cost: int,
) -> tuple[QueryCost, frozenset[str]]:
    """`operation_cost`, and the names of the variables it read."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return ZERO, frozenset()
    root = schema.get_root_type(operation.operation)
    if root is None:
        return ZERO, frozenset()
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    walker = _Walker(schema, fragments, variables or {}, proximity_cost)
    return walker.selection_set(operation.selection_set, root), frozenset(walker.variables_read)


class Measures:
    """Measures kept per (schema, document identity, operation), by the values of the variables
    they read: a document asked again (the parser cache hands back the same `DocumentNode`)
    with the same page sizes is not walked again (`api.fastpaths.document_cache`: found only
    while that very document is alive; at most `maxsize` documents, least recently used
    dropped). Used with FAST_PATHS on only."""

    def __init__(self, maxsize: int) -> None:
        self.documents: PerDocument[tuple[frozenset[str], dict[tuple[object, ...], QueryCost]]]
        self.documents = PerDocument(maxsize)

    def measure(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        proximity_cost: int,
    ) -> QueryCost:
        key = (operation_name, proximity_cost)
        given = variables or {}
        entry = self.documents.get(schema, document, key)
        if entry is not None:
            found = entry[1].get(cache_key(given, entry[0]))
            if found is not None:
                return found
        cost, names = walk(schema, document, operation_name, variables, proximity_cost)
        if entry is None:
            entry = self.documents.put(schema, document, key, (names, {}))
        if len(entry[1]) < MAX_VARIANTS:
            entry[1][cache_key(given, names)] = cost
        return cost


MAX_VARIANTS = 64
"""Page sizes remembered per document (`first` is at most 100: a few are usual)."""


def cache_key(variables: Mapping[str, Any], names: frozenset[str]) -> tuple[object, ...]:
    """The variables a measure read, as the walk read them: a page size when it is a 32-bit
    Int, else None (the default page; coercion then refuses the value). So a client sending
    long strings where an Int belongs adds no entry, and holds no string in the cache."""
    return tuple(page_size_of(variables.get(name)) for name in sorted(names))


def page_size_of(raw: object) -> int | None:
    """A variable's value as `_Walker.argument` reads it."""
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) < 2**31:
        return raw
    return None


MEASURES = Measures(maxsize=512)


def ensure_validated(execution_context: ExecutionContext) -> bool:
    """Validate now if no extension did yet; True when the document is valid.

    Lets checks that need a valid document run inside `on_validate`, where their refusal (set
    as `pre_execution_errors`) stops the operation before execution, like a validation error.
    """
    if execution_context.pre_execution_errors is None:
        assert execution_context.graphql_document is not None
        execution_context.pre_execution_errors = validate_document(
            execution_context.schema._schema,
            execution_context.graphql_document,
            execution_context.validation_rules,
        )
    return not execution_context.pre_execution_errors


def measure(
    execution_context: ExecutionContext, proximity_cost: int, *, cached: bool = True
) -> QueryCost:
    """The operation's measures; a document nested beyond Python's stack is priced out.
    `cached`: found in `MEASURES` (FAST_PATHS on), else walked again (`api.fastpaths`)."""
    assert execution_context.graphql_document is not None
    try:
        if not cached:
            return walk(
                execution_context.schema._schema,
                execution_context.graphql_document,
                execution_context.operation_name,
                execution_context.variables,
                proximity_cost,
            )[0]
        return MEASURES.measure(
            execution_context.schema._schema,
            execution_context.graphql_document,
            execution_context.operation_name,
            execution_context.variables,
            proximity_cost,
        )
    except RecursionError:
        return QueryCost(10**12, 0, 10**6, 0)


class OperationLimits(SchemaExtension):
    """Refuses, before execution, an operation too deep, with too many aliases, or too costly.

    Checked on the validated document with the linear-time walker above, in place of
    Strawberry's QueryDepthLimiter and MaxAliasesLimiter (exponential on nested fragments: a
    1 kB document held the event loop for 18 s).
    """

    def __init__(
        self,
        *,
        max_depth: int,
        max_aliases: int,
        max_cost: int,
        proximity_cost: int,
        cache_measures: bool = True,
    ) -> None:
        self.max_depth = max_depth
        self.max_aliases = max_aliases
        self.max_cost = max_cost
        self.proximity_cost = proximity_cost
        self.cache_measures = cache_measures

    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        if ensure_validated(execution_context):
            measured = measure(execution_context, self.proximity_cost, cached=self.cache_measures)
            error = self.refusal(measured)
            if error is not None:
                execution_context.pre_execution_errors = [error]
        yield

    def refusal(self, measured: QueryCost) -> GraphQLError | None:
        if measured.depth > self.max_depth:
            return GraphQLError(
                f"This operation nests fields {measured.depth} deep; at most "
                f"{self.max_depth} are allowed.",
                extensions={"code": QUERY_TOO_DEEP, "maxDepth": self.max_depth},
            )
        if measured.aliases > self.max_aliases:
            return GraphQLError(
                f"This operation has {measured.aliases} aliases; at most {self.max_aliases} "
                "are allowed.",
                extensions={"code": TOO_MANY_ALIASES, "maxAliases": self.max_aliases},
            )
        if measured.cost > self.max_cost:
            return GraphQLError(
                f"This operation costs {measured.cost}, above the limit of {self.max_cost}: "
                "ask for smaller pages (`first`), fewer nested lists or fewer proximity "
                "searches (docs/limits.md).",
                extensions={
                    "code": QUERY_TOO_COSTLY,
                    "cost": measured.cost,
                    "maxCost": self.max_cost,
                },
            )
        return None

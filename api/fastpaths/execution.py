"""Field execution without per-field ceremony for the fields that need none.

Replaces: graphql-core's per-field `execute_field` under Strawberry's default execution context
(`StrawberryGraphQLCoreExecutionContext`), which is what runs with FAST_PATHS=off.
Figure (bench/README.md, fourth session; commits 410b2b1, 075fac4): B/A 0.83 of the CPU of a
whole nearestLenders request, measured in process with the same requests alternated.
Tested with: graphql-core 3.3.2, strawberry-graphql 0.341.3 (`api.fastpaths.TESTED_WITH`).
Reaches inside: graphql-core's `graphql.execution.collect_fields` and `executor` (not its public
API), Strawberry's `StrawberryField` and resolver internals.

graphql-core executes every field the same way: build a `GraphQLResolveInfo`, coerce
arguments, call the resolver through Strawberry's wrappers (for a plain attribute, a wrapper
around `getattr`; for a method, Info construction, argument conversion and a chain of field
extension closures), then find out from the return type, on every value, whether it is
non-null, a list, a leaf or an object. A page of 10 search results is about 90 fields, and that
ceremony was the largest share of a search's CPU after the database.

`PlannedExecutor` looks at each selection set once per process and sorts its fields:
- *plain* fields (a Strawberry field with no resolver, no field extension, no argument and no
  directive, whose type is a scalar, an enum or an object type, possibly in a list) are read
  with `getattr` and completed by a step chosen when the plan was made;
- *resolved* fields (a synchronous resolver without arguments or field extensions, in a schema
  without exception handlers) are called directly with what Strawberry would pass them (the
  source, `Info`), and completed the same way when their type allows, else by graphql-core;
- every other field goes through graphql-core's own `execute_field`, unchanged.
The completion mirrors graphql-core's `complete_value` (null checks, leaf coercion,
`is_type_of`, error location, null propagation, settling what a nulled list still awaits) and
hands sub-selections back to graphql-core, so nested async resolvers, DataLoaders and abstract
types behave exactly as before: tests/api/test_execution.py runs documents through both
executors and compares answers and errors.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import invalid_return_type_error, to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

STRAWBERRY_DEFINITION = "strawberry-definition"
MISSING: Any = object()
"""An attribute not read yet."""


@dataclass(frozen=True, slots=True)
class Raised:
    """What reading an attribute raised, carried to the full path that reports it."""

    error: Exception


MAX_PLANS = 4_096
"""Selection sets planned per process; a plan is a few hundred bytes and holds no document.
Past this (only a client sending ever new documents gets there) the cache starts again."""


@dataclass(frozen=True, slots=True)
class Completion:
    """How a plain field's value is completed, decided once from its type."""

    non_null: bool
    in_list: bool
    item_non_null: bool
    leaf: GraphQLLeafType | None
    """Set for scalars and enums, whose `coerce_output_value` gives the result."""
    object_type: GraphQLObjectType | None
    """Set for object types, whose sub-selection graphql-core collects and executes."""
    coerce: Callable[[Any], Any] | None = None
    """The leaf's `coerce_output_value`, or for a Strawberry enum the same answer from a dict
    (Strawberry's compares the value with each member's in turn)."""


@dataclass(frozen=True, slots=True)
class Call:
    """How to call a synchronous Strawberry resolver without arguments: what Strawberry's
    `get_arguments` would pass it (the source as `self` or as a `root`/`parent` keyword, the
    `Info` as `info`)."""

    function: Callable[..., Any]
    source_first: bool
    source_keywords: tuple[str, ...]
    info_keyword: str | None
    field: StrawberryField
    info_class: type[Info[Any, Any]]


@dataclass(frozen=True, slots=True)
class PlannedField:
    response_name: str
    field_name: str
    field_def: GraphQLField | None
    attribute: str | None
    """The Python attribute a plain field reads."""
    call: Call | None
    """The resolver a resolved field calls (no argument, synchronous, no field extension)."""
    completion: Completion | None
    """How its value is completed; None: graphql-core's `complete_value` (resolved fields)."""
    plain_leaf: Callable[[Any], Any] | None = None
    """The coercer of a plain field holding one scalar or enum (its commonest kind)."""
    leaf_types: frozenset[type] = frozenset()
    """The value types `plain_leaf` coerces inline; any other value (an awaitable, an
    exception, a custom scalar's) takes the full path."""


Plan = tuple[PlannedField, ...]
PlanKey = tuple[GraphQLObjectType, tuple[int, ...]]

_plans: dict[PlanKey, tuple[tuple[weakref.ref[FieldNode], ...], Plan]] = {}


def strawberry_is_type_of(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is absent or Strawberry's own, which reads only the
    value (the fast path has no `info` to give a hand-written one)."""
    check = object_type.is_type_of
    return check is None or check.__qualname__.endswith("_get_is_type_of.<locals>.is_type_of")


def coercer_of(leaf: GraphQLLeafType) -> Callable[[Any], Any]:
    """`leaf.coerce_output_value`, made a dict lookup for Strawberry's enums (whose own method
    compares the value with every member's until one matches: 31 item categories)."""
    wrapped_cls = getattr(leaf, "wrapped_cls", None)
    values = getattr(leaf, "values", None)
    coerce = leaf.coerce_output_value
    if wrapped_cls is None or not isinstance(leaf, GraphQLEnumType) or values is None:
        return coerce
    names: dict[Any, str] = {}
    try:
        for name, value in values.items():
            names.setdefault(value.value, name)  # the first match, as Strawberry's loop
    except TypeError:  # unhashable member values: Strawberry's own way
        return coerce

    def coerce_enum(output_value: Any) -> Any:
        if isinstance(output_value, wrapped_cls):
            try:
                return names[output_value.value]
            except (KeyError, TypeError):
                pass
        return coerce(output_value)

    return coerce_enum


def completion_of(return_type: GraphQLOutputType) -> Completion | None:
    """The completion of a plain field of this type; None for what the fast path leaves to
    graphql-core (abstract types, lists of lists, objects with a custom `is_type_of`)."""
    non_null = is_non_null_type(return_type)
    named: Any = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    in_list = is_list_type(named)
    item_non_null = False
    if isinstance(named, GraphQLList):
        named = named.of_type
        item_non_null = is_non_null_type(named)
        named = named.of_type if isinstance(named, GraphQLNonNull) else named
    if is_leaf_type(named):
        return Completion(non_null, in_list, item_non_null, named, None, coercer_of(named))
    if is_object_type(named) and strawberry_is_type_of(named):
        return Completion(non_null, in_list, item_non_null, None, named)
    return None


BUILT_IN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})
PRIMITIVES = frozenset({str, int, float, bool})


def inline_types(leaf: GraphQLLeafType | None) -> frozenset[type]:
    """What a plain leaf's value may be to be coerced inline: primitives for the built-in
    scalars, the members of a Strawberry enum; nothing for custom scalars."""
    if leaf is None:
        return frozenset()
    wrapped_cls = getattr(leaf, "wrapped_cls", None)
    if isinstance(leaf, GraphQLEnumType) and isinstance(wrapped_cls, type):
        return frozenset({wrapped_cls})
    return PRIMITIVES if leaf.name in BUILT_IN_SCALARS else frozenset()


def plannable_info_class(schema: GraphQLSchema) -> type[Info[Any, Any]] | None:
    """The `Info` class of a Strawberry schema whose fields may be planned; None for a schema
    Strawberry did not build, or one with exception handlers (its resolver wrappers then catch
    what a field raises): all their fields are left to graphql-core."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if strawberry_schema is None or strawberry_schema.schema_converter.exception_handlers:
        return None
    info_class: type[Info[Any, Any]] = strawberry_schema.config.info_class
    return info_class


def call_of(definition: StrawberryField, info_class: type[Info[Any, Any]]) -> Call | None:
    """The direct call of a field's resolver, when Strawberry would do nothing more than call
    it: synchronous, no field extension (permissions are extensions); None otherwise. (A schema
    with exception handlers is never planned: `plan_field`.)"""
    resolver = definition.base_resolver
    if resolver is None or definition.is_async or definition.extensions or definition.arguments:
        return None
    function = resolver.wrapped_func
    if not callable(function):  # Strawberry raises its UncallableResolverError: let it
        return None
    info = resolver.info_parameter
    return Call(
        function=function,
        source_first=resolver.self_parameter is not None,
        source_keywords=tuple(
            parameter.name
            for parameter in (resolver.parent_parameter, resolver.root_parameter)
            if parameter is not None
        ),
        info_keyword=info.name if info is not None else None,
        field=definition,
        info_class=info_class,
    )


def plan_field(
    schema: GraphQLSchema,
    parent_type: GraphQLObjectType,
    response_name: str,
    field_details_list: FieldDetailsList,
) -> PlannedField:
    node = field_details_list[0].node
    field_name = node.name.value
    generic = PlannedField(response_name, field_name, None, None, None, None)
    field_def = parent_type.fields.get(field_name)
    if field_def is None or field_def.args or field_def.subscribe is not None:
        return generic
    if any(details.node.arguments or details.node.directives for details in field_details_list):
        return generic
    definition = (field_def.extensions or {}).get(STRAWBERRY_DEFINITION)
    resolver = field_def.resolve
    info_class = plannable_info_class(schema)
    if not isinstance(definition, StrawberryField) or resolver is None or info_class is None:
        return generic
    completion = completion_of(field_def.type)
    if definition.is_basic_field:
        if (
            not getattr(resolver, "_is_default", False)
            or definition.default_resolver is not getattr
        ):
            return generic
        if completion is None:
            return generic
        return PlannedField(
            response_name,
            field_name,
            field_def,
            definition.python_name,
            None,
            completion,
            None if completion.in_list else completion.coerce,
            frozenset() if completion.in_list else inline_types(completion.leaf),
        )
    call = call_of(definition, info_class)
    if call is None:
        return generic
    return PlannedField(response_name, field_name, field_def, None, call, completion)


def plan_for(
    schema: GraphQLSchema, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
) -> Plan:
    """The plan of a selection set on a type, kept per process: keyed by the type object (a
    schema's types never change; another schema's are other objects) and the identity of the
    field nodes (the parser cache hands back the same document for the same text). An entry
    refers to its nodes weakly, so it keeps no document alive, and is used only while those
    very nodes are (an id is reused only once its object is gone)."""
    nodes = tuple([details.node for group in grouped_field_set.values() for details in group])
    key = (parent_type, tuple(map(id, nodes)))
    entry = _plans.get(key)
    if entry is not None and all(ref() is node for ref, node in zip(entry[0], nodes, strict=True)):
        return entry[1]
    plan = tuple(
        plan_field(schema, parent_type, response_name, details)
        for response_name, details in grouped_field_set.items()
    )
    if len(_plans) >= MAX_PLANS:
        _plans.clear()
    _plans[key] = (tuple(map(weakref.ref, nodes)), plan)
    return plan


def null_error(parent_type: GraphQLObjectType, field_name: str) -> TypeError:
    """graphql-core's own message for a null in a non-null position."""
    return TypeError(f"Cannot return null for non-nullable field {parent_type}.{field_name}.")


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with plain fields read and completed from a per-process plan.

    Used only where nothing observes fields one by one: no graphql-core middleware (a schema
    extension with a `resolve` hook) and no incremental delivery position; otherwise, and for
    every field that is not plain, graphql-core's own code runs.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._planned: dict[int, tuple[GroupedFieldSet, Plan]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        middleware = self.middleware_manager
        if position_context is not None or (middleware is not None and middleware.middlewares):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        cached = self._planned.get(id(grouped_field_set))
        if cached is None or cached[0] is not grouped_field_set:
            # Per execution, memoised on the identity of the field set (which graphql-core
            # memoises per type and selection), so a list of 10 items plans its selection once.
            cached = (grouped_field_set, plan_for(self.schema, parent_type, grouped_field_set))
            self._planned[id(grouped_field_set)] = cached
        plan = cached[1]
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for field in plan:
                response_name = field.response_name
                attribute = field.attribute
                leaf = field.plain_leaf
                if leaf is not None and attribute is not None:
                    # The commonest field of all, completed here when nothing is amiss; an
                    # exception, a null or an unrepresentable value takes the full path below.
                    try:
                        value = getattr(source_value, attribute)
                    except Exception as error:
                        value = Raised(error)
                    if type(value) in field.leaf_types:
                        try:
                            coerced = leaf(value)
                        except Exception:
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                else:
                    value = MISSING
                field_path = Path(path, response_name, parent_type.name)
                details = grouped_field_set[response_name]
                if attribute is not None:
                    result = self.execute_plain_field(
                        parent_type, source_value, field, details, field_path, value
                    )
                elif field.call is not None:
                    result = self.execute_resolved_field(
                        parent_type, source_value, field, field.call, details, field_path
                    )
                else:
                    result = self.execute_field(
                        parent_type, source_value, details, field_path, position_context
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self.gather_fields(results, awaitable_fields)

    async def gather_fields(
        self, results: dict[str, Any], awaitable_fields: list[str]
    ) -> dict[str, Any]:
        """graphql-core's `get_results`: the awaitable fields of an object, awaited together."""
        if len(awaitable_fields) == 1:
            name = awaitable_fields[0]
            results[name] = await results[name]
        else:
            awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
        return results

    def execute_plain_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field: PlannedField,
        details: FieldDetailsList,
        path: Path,
        value: Any,
    ) -> Any:
        """`execute_field` for a plain field: its value is the attribute (`value` when already
        read, else MISSING), completed by plan."""
        completion = field.completion
        assert completion is not None and field.attribute is not None
        try:
            if value is MISSING:
                value = getattr(source, field.attribute)
            elif type(value) is Raised:
                raise value.error
            if self.is_awaitable(value):  # as graphql-core does with what a resolver returns
                info = self.info_for(parent_type, field, details, path)
                return self.complete_awaitable_value(
                    info.return_type, details, info, path, value, None
                )
            if completion.in_list and value is not None and not self.plain_list(value):
                # Async iterables, awaitable items, other iterables: graphql-core's own way.
                info = self.info_for(parent_type, field, details, path)
                completed = self.complete_value(info.return_type, details, info, path, value, None)
            else:
                completed = self.complete_planned(
                    parent_type, field, completion, details, path, value
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, self.return_type(field), details, path)
            return None
        if self.is_awaitable(completed):
            return self.await_field(completed, parent_type, field, details, path)
        return completed

    def execute_resolved_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field: PlannedField,
        call: Call,
        details: FieldDetailsList,
        path: Path,
    ) -> Any:
        """`execute_field` for a synchronous resolver without arguments, called directly (what
        Strawberry's wrappers would pass it), its value completed by plan when the type allows,
        else by graphql-core (awaitables included)."""
        info = self.info_for(parent_type, field, details, path)
        return_type = info.return_type
        try:
            keywords = {name: source for name in call.source_keywords}
            if call.info_keyword is not None:
                keywords[call.info_keyword] = call.info_class(_raw_info=info, _field=call.field)
            if call.source_first:
                result = call.function(source, **keywords)
            else:
                result = call.function(**keywords)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, details, info, path, result, None)
            completion = field.completion
            if completion is not None and (not completion.in_list or self.plain_list(result)):
                completed = self.complete_planned(
                    parent_type, field, completion, details, path, result
                )
            else:
                completed = self.complete_value(return_type, details, info, path, result, None)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None
        if self.is_awaitable(completed):
            return self.await_field(completed, parent_type, field, details, path)
        return completed

    def plain_list(self, value: Any) -> bool:
        is_awaitable = self.is_awaitable
        return type(value) in (list, tuple) and not any(is_awaitable(item) for item in value)

    def info_for(
        self,
        parent_type: GraphQLObjectType,
        field: PlannedField,
        details: FieldDetailsList,
        path: Path,
    ) -> Any:
        """graphql-core's resolve info, for the paths that hand a field back to graphql-core
        or call a resolver (plain fields completed by plan need none)."""
        assert field.field_def is not None
        return self.build_resolve_info(field.field_def, to_nodes(details), parent_type, path)

    @staticmethod
    def return_type(field: PlannedField) -> Any:
        assert field.field_def is not None
        return field.field_def.type

    async def await_field(
        self,
        completed: Awaitable[Any],
        parent_type: GraphQLObjectType,
        field: PlannedField,
        details: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, self.return_type(field), details, path)
            return None

    def complete_planned(
        self,
        parent_type: GraphQLObjectType,
        field: PlannedField,
        completion: Completion,
        details: FieldDetailsList,
        path: Path,
        value: Any,
    ) -> Any:
        """`complete_value` with the type dispatch decided by the plan."""
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            if completion.non_null:
                raise null_error(parent_type, field.field_name)
            return None
        if not completion.in_list:
            return self.complete_named(completion, details, path, value)
        return self.complete_items(parent_type, field, completion, details, path, value)

    def complete_items(
        self,
        parent_type: GraphQLObjectType,
        field: PlannedField,
        completion: Completion,
        details: FieldDetailsList,
        path: Path,
        items: Sequence[Any],
    ) -> Any:
        """`complete_iterable_value` for a list or tuple without awaitables (checked by
        `plain_list`) and without `@stream` (plain fields carry no directive)."""
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        is_awaitable = self.is_awaitable
        item_type = self.return_type(field)
        item_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        item_type = item_type.of_type
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                try:
                    if isinstance(item, Exception):
                        raise item
                    if item is None or item is Undefined:
                        if completion.item_non_null:
                            raise null_error(parent_type, field.field_name)
                        completed.append(None)
                        continue
                    value = self.complete_named(completion, details, item_path, item)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                    completed.append(None)
                    continue
                if is_awaitable(value):
                    completed.append(self.await_item(value, item_type, details, item_path))
                    awaitable_indices.append(index)
                else:
                    completed.append(value)
        except Exception:
            # An item's error nulls the whole list: what earlier items still await must settle
            # (as graphql-core's `complete_iterable_value` does), not be dropped unawaited.
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return self.gather_items(completed, awaitable_indices)

    async def await_item(
        self, value: Awaitable[Any], item_type: Any, details: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await value
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, details, path)
            return None

    async def gather_items(self, completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
        awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
        for index, value in zip(awaitable_indices, awaited, strict=True):
            completed[index] = value
        return completed

    def complete_named(
        self, completion: Completion, details: FieldDetailsList, path: Path, value: Any
    ) -> Any:
        """A non-null value of the named type: a leaf coerced, or an object's sub-selection
        collected and executed by graphql-core (which comes back here for its fields)."""
        coerce = completion.coerce
        if coerce is not None:
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                assert completion.leaf is not None
                return self.complete_leaf_value(completion.leaf, value)  # raises its TypeError
            return coerced
        object_type = completion.object_type
        assert object_type is not None
        is_type_of = object_type.is_type_of
        # Strawberry's own check (the only kind planned) never reads `info`.
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            raise invalid_return_type_error(object_type, value, details)
        # graphql-core's `collect_and_execute_subfields`, without its two hops when nothing is
        # deferred (the fields come back to `execute_fields`).
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, details)
        if new_defer_usages:
            return self.collect_and_execute_subfields(object_type, details, path, value, None)
        return self.execute_fields(object_type, value, path, grouped_field_set, None)

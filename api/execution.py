"""Field execution without per-field ceremony for the fields that need none.

graphql-core executes every field the same way: build a `GraphQLResolveInfo`, coerce
arguments, call the resolver (Strawberry's wrapper around `getattr` for a plain attribute),
then find out from the return type, on every value, whether it is non-null, a list, a leaf or
an object. A page of 10 search results is about 90 fields, and that ceremony was the largest
share of a search's CPU after the database.

`PlannedExecutor` looks at each selection set once, per process, and sorts its fields: a
*plain* field (a Strawberry field with no resolver, no field extension, no argument and no
directive, whose type is a scalar, an enum or an object type, possibly in a list) is read with
`getattr` and completed by a step chosen when the plan was made; every other field goes through
graphql-core's own `execute_field`, unchanged. The completion of plain fields mirrors
graphql-core's `complete_value` (null checks, leaf coercion, `is_type_of`, error location and
null propagation) and hands sub-selections back to graphql-core, so nested fields with
resolvers, DataLoaders and abstract types behave exactly as before: tests compare both
executors' answers, errors included, on the same documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import invalid_return_type_error
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

STRAWBERRY_DEFINITION = "strawberry-definition"
MAX_PLANS = 4_096
"""Selection sets planned per process; a plan is a few hundred bytes. Past this (only a
client sending ever new documents gets there) the cache starts again from empty."""


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


@dataclass(frozen=True, slots=True)
class PlannedField:
    response_name: str
    field_name: str
    attribute: str | None
    """The Python attribute a plain field reads; None: graphql-core's `execute_field`."""
    completion: Completion | None


Plan = tuple[PlannedField, ...]
PlanKey = tuple[str, tuple[tuple[str, str, bool], ...]]

_plans: dict[PlanKey, Plan] = {}


def strawberry_is_type_of(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is absent or Strawberry's own, which reads only the
    value (the fast path has no `info` to give a hand-written one)."""
    check = object_type.is_type_of
    return check is None or check.__qualname__.endswith("_get_is_type_of.<locals>.is_type_of")


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
        return Completion(non_null, in_list, item_non_null, named, None)
    if is_object_type(named) and strawberry_is_type_of(named):
        return Completion(non_null, in_list, item_non_null, None, named)
    return None


def plan_field(
    parent_type: GraphQLObjectType, response_name: str, field_details_list: FieldDetailsList
) -> PlannedField:
    node = field_details_list[0].node
    field_name = node.name.value
    generic = PlannedField(response_name, field_name, None, None)
    field_def = parent_type.fields.get(field_name)
    if field_def is None or field_def.args or field_def.subscribe is not None:
        return generic
    if any(details.node.arguments or details.node.directives for details in field_details_list):
        return generic
    definition = (field_def.extensions or {}).get(STRAWBERRY_DEFINITION)
    resolver = field_def.resolve
    if (
        not isinstance(definition, StrawberryField)
        or not definition.is_basic_field
        or resolver is None
        or not getattr(resolver, "_is_default", False)
        or definition.default_resolver is not getattr
    ):
        return generic
    completion = completion_of(field_def.type)
    if completion is None:
        return generic
    return PlannedField(response_name, field_name, definition.python_name, completion)


def plan_key(parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> PlanKey:
    return (
        parent_type.name,
        tuple(
            (
                response_name,
                details[0].node.name.value,
                any(d.node.arguments or d.node.directives for d in details),
            )
            for response_name, details in grouped_field_set.items()
        ),
    )


def plan_for(parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> Plan:
    """The plan of a selection set on a type: the same for every document selecting the same
    fields under the same names, so it is kept per process (the schema never changes)."""
    key = plan_key(parent_type, grouped_field_set)
    plan = _plans.get(key)
    if plan is None:
        plan = tuple(
            plan_field(parent_type, response_name, details)
            for response_name, details in grouped_field_set.items()
        )
        if len(_plans) >= MAX_PLANS:
            _plans.clear()
        _plans[key] = plan
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
            cached = (grouped_field_set, plan_for(parent_type, grouped_field_set))
            self._planned[id(grouped_field_set)] = cached
        plan = cached[1]
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for field in plan:
                response_name = field.response_name
                field_path = Path(path, response_name, parent_type.name)
                details = grouped_field_set[response_name]
                if field.attribute is None or field.completion is None:
                    result = self.execute_field(
                        parent_type, source_value, details, field_path, position_context
                    )
                    if result is Undefined:
                        continue
                else:
                    result = self.execute_plain_field(
                        parent_type, source_value, field, details, field_path
                    )
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
    ) -> Any:
        """`execute_field` for a plain field: its value is the attribute, completed by plan."""
        completion = field.completion
        assert completion is not None and field.attribute is not None
        try:
            value = getattr(source, field.attribute)
            if completion.in_list and value is not None and not self.plain_list(value):
                # Async iterables, awaitable items, other iterables: graphql-core's own way.
                return self.execute_field(parent_type, source, details, path, None)
            completed = self.complete_planned(parent_type, field, completion, details, path, value)
        except Exception as raw_error:
            self.handle_field_error(raw_error, self.return_type(parent_type, field), details, path)
            return None
        if self.is_awaitable(completed):
            return self.await_field(completed, parent_type, field, details, path)
        return completed

    def plain_list(self, value: Any) -> bool:
        is_awaitable = self.is_awaitable
        return type(value) in (list, tuple) and not any(is_awaitable(item) for item in value)

    def return_type(self, parent_type: GraphQLObjectType, field: PlannedField) -> Any:
        return parent_type.fields[field.field_name].type

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
            self.handle_field_error(raw_error, self.return_type(parent_type, field), details, path)
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
        item_type = self.return_type(parent_type, field)
        item_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        item_type = item_type.of_type
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
        leaf = completion.leaf
        if leaf is not None:
            return self.complete_leaf_value(leaf, value)
        object_type = completion.object_type
        assert object_type is not None
        is_type_of = object_type.is_type_of
        # Strawberry's own check (the only kind planned) never reads `info`.
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            raise invalid_return_type_error(object_type, value, details)
        return self.collect_and_execute_subfields(object_type, details, path, value, None)

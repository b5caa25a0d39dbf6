"""`PlannedExecutor` answers exactly as Strawberry's stock executor (api.fastpaths.execution).

Small standalone schemas, no database: every document runs on a schema built with
`PlannedExecutor` and on the same schema without it, and data and errors (message, path,
locations) must be identical. Sources are mostly `SimpleNamespace`s, so that a test can put
anything anywhere (None in a non-null field, an exception, a tuple, a generator): Strawberry
object types without interfaces have no `is_type_of`, so neither executor checks the source.

Type names are unique to this module (`Parity...`), apart from the two schemas of the last
test, which share their type names on purpose: plans are cached per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import gc
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Annotated, Any, cast
from unittest.mock import patch

import strawberry
from graphql.execution.executor import Executor
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from api.fastpaths import execution
from api.fastpaths.execution import PlannedExecutor

Outcome = tuple[Any, list[tuple[str, list[str | int] | None, list[tuple[int, int]] | None]]]


@strawberry.enum(name="ParityColour")
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type(name="ParityLeaf")
class Leaf:
    label: str
    size: int | None = None

    @strawberry.field
    async def later_label(self) -> str:
        await asyncio.sleep(0)
        return f"{self.label} (later)"


@strawberry.type(name="ParityNode")
class Node:
    name: str
    count: int
    colour: Colour
    optional_count: int | None = None
    maybe_colour: Colour | None = None
    score: float | None = None
    tags: list[str] = strawberry.field(default_factory=list)
    maybe_tags: list[str | None] | None = None
    strict_tags: list[str] | None = None
    grid: list[list[int]] | None = None
    child: Leaf | None = None
    required_child: Leaf | None = None
    children: list[Leaf] = strawberry.field(default_factory=list)
    maybe_children: list[Leaf | None] | None = None
    strict_children: list[Leaf] | None = None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"{self.name}!"

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("broken resolver")

    @strawberry.field
    async def broken_later(self) -> str | None:
        await asyncio.sleep(0)
        raise ValueError("broken async resolver")

    @strawberry.field
    def required_broken(self) -> str:
        raise ValueError("required broken resolver")

    @strawberry.field
    def echo(self, text: str) -> str:
        return text


def constant() -> str:
    return "constant"


def root_name(root: Resolved) -> str:
    return f"root:{root.name}"


def parent_name(parent: strawberry.Parent[Resolved]) -> str:
    return f"parent:{parent.name}"


class Deny(BasePermission):
    message = "denied"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type(name="ParityResolved")
class Resolved:
    """Synchronous resolvers without arguments (which `PlannedExecutor` may call itself),
    returning `payload` as it is for the completion cases."""

    name: str
    payload: strawberry.Private[Any] = None

    constant: str = strawberry.field(resolver=constant)
    root_name: str = strawberry.field(resolver=root_name)
    parent_name: str = strawberry.field(resolver=parent_name)

    @strawberry.field
    def with_self(self) -> str:
        return f"self:{self.name}"

    @strawberry.field
    def with_info(self, info: strawberry.Info) -> str:
        path = ".".join(str(key) for key in info.path.as_list())
        return f"{info.field_name}@{path}:{info.python_name}"

    @strawberry.field
    @staticmethod
    def static() -> str:
        return "static"

    @strawberry.field
    @classmethod
    def klass(cls) -> str:
        return cls.__name__

    @strawberry.field
    def required_value(self) -> int:
        return cast(int, self.payload)

    @strawberry.field
    def value(self) -> int | None:
        return cast(int | None, self.payload)

    @strawberry.field
    def tags(self) -> list[str] | None:
        return cast(list[str] | None, self.payload)

    @strawberry.field
    def required_tags(self) -> list[str]:
        return cast(list[str], self.payload)

    @strawberry.field
    def leaf(self) -> Leaf | None:
        return cast(Leaf | None, self.payload)

    @strawberry.field
    def leaves(self) -> list[Leaf] | None:
        return cast(list[Leaf] | None, self.payload)

    @strawberry.field
    def raising(self) -> int | None:
        raise LookupError(f"nothing for {self.name}")

    @strawberry.field(permission_classes=[Deny])
    def guarded(self) -> str | None:
        return "secret"


@strawberry.type(name="ParityQuery")
class Query:
    node: Node | None = None
    resolved: Resolved | None = None
    required_node: Node | None = None
    nodes: list[Node] = strawberry.field(default_factory=list)
    maybe_nodes: list[Node | None] | None = None
    greeting: str | None = None

    @strawberry.field
    def resolved_node(self) -> Node | None:
        value: Node | None = self.node
        return value


PLANNED = strawberry.Schema(query=Query, execution_context_class=PlannedExecutor)
STOCK = strawberry.Schema(query=Query)


def node(**values: Any) -> SimpleNamespace:
    """A source for `ParityNode`: valid values unless overridden."""
    return SimpleNamespace(
        **{
            "name": "Chavenay",
            "count": 3,
            "colour": Colour.RED,
            "optional_count": None,
            "maybe_colour": None,
            "score": 1.5,
            "tags": ["a", "b"],
            "maybe_tags": None,
            "strict_tags": None,
            "grid": None,
            "child": None,
            "required_child": SimpleNamespace(label="required", size=1),
            "children": [],
            "maybe_children": None,
            "strict_children": None,
            **values,
        }
    )


def root(**values: Any) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            "node": None,
            "required_node": None,
            "nodes": [],
            "maybe_nodes": None,
            "greeting": None,
            "resolved": None,
            **values,
        }
    )


def outcome(result: ExecutionResult) -> Outcome:
    errors = [
        (
            error.message,
            error.path,
            [(location.line, location.column) for location in error.locations]
            if error.locations
            else None,
        )
        for error in result.errors or []
    ]
    return result.data, errors


async def run(
    schema: strawberry.Schema,
    document: str,
    source: Callable[[], object],
    variables: dict[str, Any] | None = None,
) -> Outcome:
    result = await schema.execute(document, variable_values=variables, root_value=source())
    return outcome(result)


async def both(
    document: str,
    source: Callable[[], object],
    variables: dict[str, Any] | None = None,
    *,
    planned: strawberry.Schema = PLANNED,
    stock: strawberry.Schema = STOCK,
) -> Outcome:
    """The outcome of `document` on the stock schema, after checking the planned one agrees.

    `source` is called once per schema: a generator can be iterated only once.
    """
    expected = await run(stock, document, source, variables)
    actual = await run(planned, document, source, variables)
    assert actual == expected
    return expected


def test_the_schemas_differ_only_by_executor() -> None:
    assert PLANNED.execution_context_class is PlannedExecutor
    assert STOCK.execution_context_class is StrawberryGraphQLCoreExecutionContext
    assert PLANNED.as_str() == STOCK.as_str()


async def test_plain_scalars_and_enums() -> None:
    data, errors = await both(
        "{ greeting node { name count score optionalCount colour maybeColour } }",
        lambda: root(greeting="Bonjour", node=node(maybe_colour=Colour.GREEN)),
    )
    assert errors == []
    assert data == {
        "greeting": "Bonjour",
        "node": {
            "name": "Chavenay",
            "count": 3,
            "score": 1.5,
            "optionalCount": None,
            "colour": "RED",
            "maybeColour": "GREEN",
        },
    }


async def test_nested_objects() -> None:
    data, errors = await both(
        "{ node { child { label size } requiredChild { label } } }",
        lambda: root(node=node(child=SimpleNamespace(label="leaf", size=None))),
    )
    assert errors == []
    assert data == {
        "node": {"child": {"label": "leaf", "size": None}, "requiredChild": {"label": "required"}}
    }


async def test_a_nullable_object_field_holding_none() -> None:
    data, errors = await both("{ node { child { label } } }", lambda: root(node=node()))
    assert (data, errors) == ({"node": {"child": None}}, [])


async def test_lists_of_objects_and_of_scalars() -> None:
    leaves = [SimpleNamespace(label="un", size=1), SimpleNamespace(label="deux", size=2)]
    data, errors = await both(
        "{ nodes { name tags children { label size } maybeChildren { label } } }",
        lambda: root(
            nodes=[
                node(name="A", children=leaves, maybe_children=[None, leaves[0]]),
                node(name="B", tags=[]),
            ]
        ),
    )
    assert errors == []
    assert data == {
        "nodes": [
            {
                "name": "A",
                "tags": ["a", "b"],
                "children": [{"label": "un", "size": 1}, {"label": "deux", "size": 2}],
                "maybeChildren": [None, {"label": "un"}],
            },
            {"name": "B", "tags": [], "children": [], "maybeChildren": None},
        ]
    }


async def test_tuples_for_list_fields() -> None:
    data, errors = await both(
        "{ node { tags maybeTags children { label } } }",
        lambda: root(
            node=node(
                tags=("x", "y"),
                maybe_tags=(None, "z"),
                children=(SimpleNamespace(label="t", size=None),),
            )
        ),
    )
    assert errors == []
    assert data == {
        "node": {"tags": ["x", "y"], "maybeTags": [None, "z"], "children": [{"label": "t"}]}
    }


async def test_generators_for_list_fields() -> None:
    def labels() -> Iterator[SimpleNamespace]:
        yield SimpleNamespace(label="g1", size=None)
        yield SimpleNamespace(label="g2", size=None)

    data, errors = await both(
        "{ node { tags children { label } } }",
        lambda: root(node=node(tags=(tag for tag in ["p", "q"]), children=labels())),
    )
    assert errors == []
    assert data == {"node": {"tags": ["p", "q"], "children": [{"label": "g1"}, {"label": "g2"}]}}


async def test_an_async_iterable_for_a_list_field() -> None:
    async def tags() -> AsyncIterator[str]:
        yield "async"
        yield "tags"

    data, errors = await both("{ node { tags } }", lambda: root(node=node(tags=tags())))
    assert (data, errors) == ({"node": {"tags": ["async", "tags"]}}, [])


async def test_a_list_with_awaitable_items() -> None:
    async def later(value: str) -> str:
        await asyncio.sleep(0)
        return value

    data, errors = await both(
        "{ node { tags } }", lambda: root(node=node(tags=[later("one"), later("two")]))
    )
    assert (data, errors) == ({"node": {"tags": ["one", "two"]}}, [])


async def test_a_list_of_lists_goes_the_generic_way() -> None:
    data, errors = await both("{ node { grid } }", lambda: root(node=node(grid=[[1, 2], [], (3,)])))
    assert (data, errors) == ({"node": {"grid": [[1, 2], [], [3]]}}, [])


async def test_a_non_iterable_for_a_list_field() -> None:
    data, errors = await both("{ node { tags } }", lambda: root(node=node(tags=7)))
    assert data == {"node": None}
    assert errors == [
        (
            "Expected Iterable, but did not find one for field 'ParityNode.tags'.",
            ["node", "tags"],
            [(1, 10)],
        )
    ]


async def test_a_null_in_a_non_null_field_nulls_the_nearest_nullable_parent() -> None:
    data, errors = await both(
        "{ greeting node { name count } }", lambda: root(greeting="Salut", node=node(count=None))
    )
    assert data == {"greeting": "Salut", "node": None}
    assert errors == [
        (
            "Cannot return null for non-nullable field ParityNode.count.",
            ["node", "count"],
            [(1, 24)],
        )
    ]


async def test_a_null_propagates_through_non_null_fields_to_the_root() -> None:
    """`nodes: [ParityNode!]!` and `ParityNode.count: Int!`: nothing nullable up to `data`."""
    data, errors = await both(
        "{ greeting nodes { count } }",
        lambda: root(greeting="Salut", nodes=[node(), node(count=None)]),
    )
    assert data is None
    assert errors == [
        (
            "Cannot return null for non-nullable field ParityNode.count.",
            ["nodes", 1, "count"],
            [(1, 20)],
        )
    ]


async def test_a_null_nested_in_a_non_null_object_field() -> None:
    data, errors = await both(
        "{ node { name child { label } } }",
        lambda: root(node=node(child=SimpleNamespace(label=None, size=None))),
    )
    assert data == {"node": {"name": "Chavenay", "child": None}}
    assert errors == [
        (
            "Cannot return null for non-nullable field ParityLeaf.label.",
            ["node", "child", "label"],
            [(1, 23)],
        )
    ]


async def test_a_null_item_in_a_list_of_non_null_items() -> None:
    data, errors = await both(
        "{ node { strictTags strictChildren { label } } }",
        lambda: root(
            node=node(
                strict_tags=["a", None, "c"],
                strict_children=[SimpleNamespace(label="x", size=None), None],
            )
        ),
    )
    assert data == {"node": {"strictTags": None, "strictChildren": None}}
    assert errors == [
        (
            "Cannot return null for non-nullable field ParityNode.strictTags.",
            ["node", "strictTags", 1],
            [(1, 10)],
        ),
        (
            "Cannot return null for non-nullable field ParityNode.strictChildren.",
            ["node", "strictChildren", 1],
            [(1, 21)],
        ),
    ]


async def test_a_null_item_in_a_non_null_list_propagates_to_the_parent() -> None:
    data, errors = await both("{ node { name tags } }", lambda: root(node=node(tags=["a", None])))
    assert data == {"node": None}
    assert errors == [
        (
            "Cannot return null for non-nullable field ParityNode.tags.",
            ["node", "tags", 1],
            [(1, 15)],
        )
    ]


async def test_a_null_item_in_a_list_of_nullable_items() -> None:
    data, errors = await both(
        "{ node { maybeTags maybeChildren { label } } }",
        lambda: root(node=node(maybe_tags=[None, "b"], maybe_children=[None])),
    )
    assert (data, errors) == ({"node": {"maybeTags": [None, "b"], "maybeChildren": [None]}}, [])


async def test_attributes_holding_exceptions() -> None:
    data, errors = await both(
        "{ node { optionalCount maybeTags } required: resolvedNode { name } }",
        lambda: root(
            node=node(
                optional_count=LookupError("no count"),
                maybe_tags=["ok", ValueError("bad tag")],
                name=ValueError("no name"),
            )
        ),
    )
    assert data == {"node": {"optionalCount": None, "maybeTags": ["ok", None]}, "required": None}
    assert errors == [
        ("no count", ["node", "optionalCount"], [(1, 10)]),
        ("bad tag", ["node", "maybeTags", 1], [(1, 24)]),
        ("no name", ["required", "name"], [(1, 61)]),
    ]


async def test_values_the_leaf_type_cannot_represent() -> None:
    data, errors = await both(
        "{ node { optionalCount maybeColour score } }",
        lambda: root(node=node(optional_count="many", maybe_colour="purple", score="high")),
    )
    assert data == {"node": {"optionalCount": None, "maybeColour": None, "score": None}}
    assert [(message.split(":")[0], path) for message, path, _ in errors] == [
        ("Int cannot represent non-integer value", ["node", "optionalCount"]),
        (errors[1][0].split(":")[0], ["node", "maybeColour"]),
        ("Float cannot represent non numeric value", ["node", "score"]),
    ]


async def test_a_missing_attribute() -> None:
    data, errors = await both(
        "{ node { child { label size } } }",
        lambda: root(node=node(child=SimpleNamespace(label="no size"))),
    )
    assert data == {"node": {"child": {"label": "no size", "size": None}}}
    assert errors == [
        (
            "'types.SimpleNamespace' object has no attribute 'size'",
            ["node", "child", "size"],
            [(1, 24)],
        )
    ]


async def test_resolvers_mixed_with_plain_fields() -> None:
    data, errors = await both(
        '{ node { name shout later count broken brokenLater echo(text: "hé") colour } }',
        lambda: root(node=node()),
    )
    assert data == {
        "node": {
            "name": "Chavenay",
            "shout": "CHAVENAY",
            "later": "Chavenay!",
            "count": 3,
            "broken": None,
            "brokenLater": None,
            "echo": "hé",
            "colour": "RED",
        }
    }
    assert errors == [
        ("broken resolver", ["node", "broken"], [(1, 33)]),
        ("broken async resolver", ["node", "brokenLater"], [(1, 40)]),
    ]


async def test_a_raising_resolver_on_a_non_null_field_nulls_the_parent() -> None:
    data, errors = await both(
        "{ greeting node { name later requiredBroken } }",
        lambda: root(greeting="Salut", node=node()),
    )
    assert data == {"greeting": "Salut", "node": None}
    assert errors == [
        ("required broken resolver", ["node", "requiredBroken"], [(1, 30)]),
    ]


async def test_async_resolvers_below_plain_fields() -> None:
    leaves = [SimpleNamespace(label="un", size=1), SimpleNamespace(label="deux", size=None)]
    data, errors = await both(
        "{ node { child { laterLabel } children { label laterLabel } later } }",
        lambda: root(node=node(child=leaves[0], children=leaves)),
    )
    assert errors == []
    assert data == {
        "node": {
            "child": {"laterLabel": "un (later)"},
            "children": [
                {"label": "un", "laterLabel": "un (later)"},
                {"label": "deux", "laterLabel": "deux (later)"},
            ],
            "later": "Chavenay!",
        }
    }


async def test_aliases_and_a_field_selected_twice() -> None:
    data, errors = await both(
        "{ node { a: name b: name name name c: count child { label } child { size } } "
        "other: node { name } }",
        lambda: root(node=node(child=SimpleNamespace(label="leaf", size=4))),
    )
    assert errors == []
    assert data == {
        "node": {
            "a": "Chavenay",
            "b": "Chavenay",
            "name": "Chavenay",
            "c": 3,
            "child": {"label": "leaf", "size": 4},
        },
        "other": {"name": "Chavenay"},
    }


async def test_fragments_and_inline_fragments() -> None:
    document = """
    fragment Named on ParityNode { name child { label } }
    fragment Sized on ParityLeaf { size }
    query {
      node {
        ...Named
        ... on ParityNode { count child { ...Sized } }
        ... { tags }
      }
    }
    """
    data, errors = await both(
        document, lambda: root(node=node(child=SimpleNamespace(label="leaf", size=2)))
    )
    assert errors == []
    assert data == {
        "node": {
            "name": "Chavenay",
            "child": {"label": "leaf", "size": 2},
            "count": 3,
            "tags": ["a", "b"],
        }
    }


async def test_include_and_skip_with_variables() -> None:
    document = """
    query ($with: Boolean!) {
      node {
        name @include(if: $with)
        count @skip(if: $with)
        child @include(if: $with) { label }
        ... @skip(if: $with) { tags }
      }
    }
    """
    source = lambda: root(node=node(child=SimpleNamespace(label="leaf", size=None)))  # noqa: E731
    included = await both(document, source, {"with": True})
    skipped = await both(document, source, {"with": False})
    assert included == ({"node": {"name": "Chavenay", "child": {"label": "leaf"}}}, [])
    assert skipped == ({"node": {"count": 3, "tags": ["a", "b"]}}, [])


async def test_typename() -> None:
    data, errors = await both(
        "{ __typename node { __typename name child { __typename } } }",
        lambda: root(node=node(child=SimpleNamespace(label="leaf", size=None))),
    )
    assert errors == []
    assert data == {
        "__typename": "ParityQuery",
        "node": {
            "__typename": "ParityNode",
            "name": "Chavenay",
            "child": {"__typename": "ParityLeaf"},
        },
    }


async def test_a_field_typed_as_an_object_returning_another_object() -> None:
    """Without interfaces Strawberry gives a type no `is_type_of`: both read the attributes."""
    data, errors = await both(
        "{ node { child { label } } }",
        lambda: root(node=node(child=Leaf(label="a real leaf"))),
    )
    assert (data, errors) == ({"node": {"child": {"label": "a real leaf"}}}, [])


def resolved(payload: Any = None, name: str = "Maule") -> Callable[[], SimpleNamespace]:
    return lambda: root(resolved=SimpleNamespace(name=name, payload=payload))


async def test_resolvers_get_self_root_parent_and_info() -> None:
    data, errors = await both(
        "{ resolved { constant rootName parentName withSelf withInfo static klass "
        "again: withInfo } }",
        resolved(),
    )
    assert errors == []
    assert data == {
        "resolved": {
            "constant": "constant",
            "rootName": "root:Maule",
            "parentName": "parent:Maule",
            "withSelf": "self:Maule",
            "withInfo": "withInfo@resolved.withInfo:with_info",
            "static": "static",
            "klass": "Resolved",
            "again": "withInfo@resolved.again:with_info",
        }
    }


async def test_resolvers_returning_values_to_complete() -> None:
    leaves = (SimpleNamespace(label="un", size=1), SimpleNamespace(label="deux", size=None))
    scalars = await both("{ resolved { requiredValue value } }", resolved(7))
    listed = await both("{ resolved { tags requiredTags } }", resolved(("a", "b")))
    objects = await both("{ resolved { leaves { label size } } }", resolved(list(leaves)))
    one = await both("{ resolved { leaf { label } } }", resolved(leaves[0]))
    generated_tags = await both("{ resolved { tags } }", lambda: resolved(iter("xy"))())
    generated_leaves = await both(
        "{ resolved { leaves { label } } }", lambda: resolved(iter(leaves))()
    )
    assert scalars == ({"resolved": {"requiredValue": 7, "value": 7}}, [])
    assert listed == ({"resolved": {"tags": ["a", "b"], "requiredTags": ["a", "b"]}}, [])
    assert objects == (
        {"resolved": {"leaves": [{"label": "un", "size": 1}, {"label": "deux", "size": None}]}},
        [],
    )
    assert one == ({"resolved": {"leaf": {"label": "un"}}}, [])
    assert generated_tags == ({"resolved": {"tags": ["x", "y"]}}, [])
    assert generated_leaves == ({"resolved": {"leaves": [{"label": "un"}, {"label": "deux"}]}}, [])


async def test_resolvers_returning_nulls_and_exceptions() -> None:
    value_error = await both("{ resolved { name value } }", resolved(ValueError("as a value")))
    null_required = await both("{ resolved { name requiredValue } }", resolved(None))
    null_item = await both("{ resolved { tags } }", resolved(["a", None]))
    null_item_required = await both("{ resolved { name requiredTags } }", resolved(["a", None]))
    raised = await both("{ resolved { name raising } }", resolved())
    assert value_error == (
        {"resolved": {"name": "Maule", "value": None}},
        [("as a value", ["resolved", "value"], [(1, 19)])],
    )
    assert null_required == (
        {"resolved": None},
        [
            (
                "Cannot return null for non-nullable field ParityResolved.requiredValue.",
                ["resolved", "requiredValue"],
                [(1, 19)],
            )
        ],
    )
    assert null_item == (
        {"resolved": {"tags": None}},
        [
            (
                "Cannot return null for non-nullable field ParityResolved.tags.",
                ["resolved", "tags", 1],
                [(1, 14)],
            )
        ],
    )
    assert null_item_required[0] == {"resolved": None}
    assert [path for _, path, _ in null_item_required[1]] == [["resolved", "requiredTags", 1]]
    assert raised == (
        {"resolved": {"name": "Maule", "raising": None}},
        [("nothing for Maule", ["resolved", "raising"], [(1, 19)])],
    )


async def test_sync_resolvers_returning_awaitables() -> None:
    """As a DataLoader's `load` does: a synchronous resolver returning a future."""

    async def later(value: Any) -> Any:
        await asyncio.sleep(0)
        if isinstance(value, Exception):
            raise value
        return value

    value = await both("{ resolved { value } }", lambda: resolved(later(5))())
    leaf = await both(
        "{ resolved { leaf { label laterLabel } } }",
        lambda: resolved(later(SimpleNamespace(label="tard", size=None)))(),
    )
    null = await both("{ resolved { name requiredValue } }", lambda: resolved(later(None))())
    failed = await both(
        "{ resolved { value } }", lambda: resolved(later(KeyError("no such key")))()
    )
    items = await both("{ resolved { tags } }", lambda: resolved([later("x"), later("y")])())
    assert value == ({"resolved": {"value": 5}}, [])
    assert leaf == ({"resolved": {"leaf": {"label": "tard", "laterLabel": "tard (later)"}}}, [])
    assert null[0] == {"resolved": None}
    assert [path for _, path, _ in null[1]] == [["resolved", "requiredValue"]]
    assert failed == (
        {"resolved": {"value": None}},
        [("'no such key'", ["resolved", "value"], [(1, 14)])],
    )
    assert items == ({"resolved": {"tags": ["x", "y"]}}, [])


async def test_a_field_with_a_permission_class() -> None:
    data, errors = await both("{ resolved { name guarded } }", resolved())
    assert data == {"resolved": {"name": "Maule", "guarded": None}}
    assert errors == [("denied", ["resolved", "guarded"], [(1, 19)])]


# Interfaces and unions: Strawberry gives the implementations an `is_type_of`.


@strawberry.interface(name="ParityPet")
class Pet:
    name: str


@strawberry.type(name="ParityDog")
class Dog(Pet):
    barks: bool


@strawberry.type(name="ParityCat")
class Cat(Pet):
    purrs: bool


Animal = Annotated[Dog | Cat, strawberry.union("ParityAnimal")]


@strawberry.type(name="ParityZoo")
class Zoo:
    dog: Dog | None
    required_dog: Dog | None
    dogs: list[Dog] | None
    maybe_dogs: list[Dog | None] | None
    pet: Pet | None
    pets: list[Pet]
    animal: Animal | None
    animals: list[Animal]
    stray: strawberry.Private[Any] = None

    @strawberry.field
    def resolved_dog(self) -> Dog | None:
        return cast(Dog | None, self.stray)

    @strawberry.field
    def resolved_dogs(self) -> list[Dog] | None:
        return cast(list[Dog] | None, self.stray)


@strawberry.type(name="ParityZooQuery")
class ZooQuery:
    zoo: Zoo | None


ZOO_PLANNED = strawberry.Schema(
    query=ZooQuery, types=[Dog, Cat], execution_context_class=PlannedExecutor
)
ZOO_STOCK = strawberry.Schema(query=ZooQuery, types=[Dog, Cat])

REX = Dog(name="Rex", barks=True)
FELIX = Cat(name="Félix", purrs=True)


class Robot:
    """Not a pet: Strawberry's `is_type_of` for `ParityDog` accepts any `ParityPet` (a cat
    included, as a value of the interface), but not this."""

    name = "R2"
    barks = False


def zoo(**values: Any) -> ZooQuery:
    fields: dict[str, Any] = {
        "dog": REX,
        "required_dog": REX,
        "dogs": [REX],
        "maybe_dogs": None,
        "pet": FELIX,
        "pets": [REX, FELIX],
        "animal": FELIX,
        "animals": [FELIX, REX],
        **values,
    }
    return ZooQuery(zoo=Zoo(**fields))


async def test_interface_and_union_fields() -> None:
    document = """
    {
      zoo {
        dog { name barks }
        pet { __typename name ... on ParityCat { purrs } }
        pets { name ... on ParityDog { barks } ... on ParityCat { purrs } }
        animal { ... on ParityCat { name purrs } }
        animals { __typename ... on ParityDog { name } }
      }
    }
    """
    _, plain = count_field_executions()
    with plain as plain_calls:
        data, errors = await both(document, zoo, planned=ZOO_PLANNED, stock=ZOO_STOCK)
    planned_fields = set(plain_calls.fields())
    # The abstract fields go the generic way; the fields of the objects they give are planned.
    assert planned_fields == {
        ("ParityZooQuery", "zoo"),
        ("ParityZoo", "dog"),
        ("ParityDog", "name"),
        ("ParityDog", "barks"),
        ("ParityCat", "name"),
        ("ParityCat", "purrs"),
    }
    assert errors == []
    assert data == {
        "zoo": {
            "dog": {"name": "Rex", "barks": True},
            "pet": {"__typename": "ParityCat", "name": "Félix", "purrs": True},
            "pets": [{"name": "Rex", "barks": True}, {"name": "Félix", "purrs": True}],
            "animal": {"name": "Félix", "purrs": True},
            "animals": [{"__typename": "ParityCat"}, {"__typename": "ParityDog", "name": "Rex"}],
        }
    }


async def test_an_object_failing_is_type_of() -> None:
    data, errors = await both(
        "{ zoo { dog { name } maybeDogs { name } } }",
        lambda: zoo(dog=Robot(), maybe_dogs=[REX, Robot(), FELIX]),
        planned=ZOO_PLANNED,
        stock=ZOO_STOCK,
    )
    assert data == {"zoo": {"dog": None, "maybeDogs": [{"name": "Rex"}, None, {"name": "Félix"}]}}
    assert [(message.split(" but ")[0], path) for message, path, _ in errors] == [
        ("Expected value of type 'ParityDog'", ["zoo", "dog"]),
        ("Expected value of type 'ParityDog'", ["zoo", "maybeDogs", 1]),
    ]


async def test_an_object_failing_is_type_of_in_non_null_positions() -> None:
    data, errors = await both(
        "{ zoo { requiredDog { name } dogs { name } } }",
        lambda: zoo(dogs=[REX, Robot()]),
        planned=ZOO_PLANNED,
        stock=ZOO_STOCK,
    )
    assert data == {"zoo": {"requiredDog": {"name": "Rex"}, "dogs": None}}
    assert [(message.split(" but ")[0], path) for message, path, _ in errors] == [
        ("Expected value of type 'ParityDog'", ["zoo", "dogs", 1]),
    ]


async def test_a_resolver_returning_an_object_failing_is_type_of() -> None:
    single = await both(
        "{ zoo { resolvedDog { name } } }",
        lambda: zoo(stray=Robot()),
        planned=ZOO_PLANNED,
        stock=ZOO_STOCK,
    )
    listed = await both(
        "{ zoo { resolvedDogs { name } } }",
        lambda: zoo(stray=[FELIX, Robot()]),
        planned=ZOO_PLANNED,
        stock=ZOO_STOCK,
    )
    assert single[0] == {"zoo": {"resolvedDog": None}}
    assert [path for _, path, _ in single[1]] == [["zoo", "resolvedDog"]]
    assert listed[0] == {"zoo": {"resolvedDogs": None}}
    assert [path for _, path, _ in listed[1]] == [["zoo", "resolvedDogs", 1]]


# The plan is used, and only where nothing observes fields one by one.


class PlanRecorder:
    """Wraps `api.fastpaths.execution.plan_for` (called once per selection set and execution) and keeps
    what it returned: the plain fields of those plans are completed without `execute_field`
    (scalars and enums inline, without any call)."""

    def __init__(self) -> None:
        self.plans: list[tuple[str, execution.Plan]] = []

    def __call__(self, schema: Any, parent_type: Any, grouped_field_set: Any) -> execution.Plan:
        plan = ORIGINAL_PLAN_FOR(schema, parent_type, grouped_field_set)
        self.plans.append((parent_type.name, plan))
        return plan

    @property
    def call_count(self) -> int:
        return len(self.plans)

    def fields(self) -> list[tuple[str, str]]:
        """(type, field) of every plain field of the plans followed, once per plan."""
        return [
            (type_name, field.field_name)
            for type_name, plan in self.plans
            for field in plan
            if field.attribute is not None
        ]


ORIGINAL_PLAN_FOR = execution.plan_for


@contextlib.contextmanager
def recording_plans() -> Iterator[PlanRecorder]:
    recorder = PlanRecorder()
    with patch.object(execution, "plan_for", recorder):
        yield recorder


def count_field_executions() -> tuple[Any, Any]:
    """Patches counting graphql-core's `execute_field`, and recording the fast path's plans."""
    generic = patch.object(
        Executor, "execute_field", autospec=True, side_effect=Executor.execute_field
    )
    return generic, recording_plans()


DOCUMENT = "{ node { name count shout tags child { label } } }"


def sample() -> SimpleNamespace:
    return root(node=node(child=SimpleNamespace(label="leaf", size=None)))


def generic_names(calls: Any) -> list[str]:
    """The fields graphql-core's `execute_field` ran (its 4th argument: the field details)."""
    return [call.args[3][0].node.name.value for call in calls.call_args_list]


def plain_names(plans: PlanRecorder) -> list[str]:
    """The plain fields of the plans the fast path followed."""
    return [field for _, field in plans.fields()]


async def test_plain_fields_are_completed_from_the_plan() -> None:
    generic, plain = count_field_executions()
    with generic as generic_calls, plain as plain_calls:
        stock = await run(STOCK, DOCUMENT, sample)
        stock_generic = generic_names(generic_calls)
        assert plain_calls.call_count == 0  # the stock executor has no plan
        generic_calls.reset_mock()
        planned = await run(PLANNED, DOCUMENT, sample)
        planned_generic = generic_names(generic_calls)
    assert planned == stock
    assert stock[1] == []
    assert sorted(stock_generic) == ["child", "count", "label", "name", "node", "shout", "tags"]
    assert set(planned_generic) <= {"shout"}  # the only field with a resolver
    assert sorted(plain_names(plain_calls)) == ["child", "count", "label", "name", "node", "tags"]


async def test_plain_fields_of_every_item_of_a_list_are_planned() -> None:
    leaves = [SimpleNamespace(label=str(index), size=index) for index in range(10)]
    generic, plain = count_field_executions()
    with generic as generic_calls, plain as plain_calls:
        await both("{ node { children { label size } } }", lambda: root(node=node(children=leaves)))
    assert generic_calls.call_count == 2 + 20  # the stock executor's only
    # One plan per selection set (the 10 items share theirs), every field of it plain.
    assert sorted(plain_names(plain_calls)) == ["children", "label", "node", "size"]


async def test_fields_with_arguments_or_directives_go_the_generic_way() -> None:
    generic, plain = count_field_executions()
    with generic as generic_calls, plain as plain_calls:
        await run(PLANNED, '{ node { echo(text: "x") name @include(if: true) count } }', sample)
    assert sorted(generic_names(generic_calls)) == ["echo", "name"]
    assert sorted(plain_names(plain_calls)) == ["count", "node"]


def recording_into(seen: list[str]) -> type[SchemaExtension]:
    """A schema extension with a `resolve` hook (a graphql-core middleware) that records the
    path of every field it sees: it must see them all, so the fast path is off."""

    class RecordFields(SchemaExtension):
        def resolve(
            self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
        ) -> Any:
            seen.append(".".join(str(key) for key in info.path.as_list()))
            return _next(root, info, *args, **kwargs)

    return RecordFields


async def test_a_resolve_extension_disables_the_fast_path_with_the_same_answers() -> None:
    seen_planned: list[str] = []
    seen_stock: list[str] = []
    planned_extension = recording_into(seen_planned)
    stock_extension = recording_into(seen_stock)
    planned = strawberry.Schema(
        query=Query, extensions=[planned_extension], execution_context_class=PlannedExecutor
    )
    stock = strawberry.Schema(query=Query, extensions=[stock_extension])
    _, plain = count_field_executions()
    document = "{ node { name count broken tags children { label } } }"

    def source() -> SimpleNamespace:
        return root(node=node(children=[SimpleNamespace(label="x", size=None)], count=None))

    with plain as plain_calls:
        data, errors = await both(document, source, planned=planned, stock=stock)
    assert plain_calls.call_count == 0
    assert seen_planned == seen_stock
    assert seen_stock == ["node", "node.name", "node.count"]  # count nulls node: no more
    assert data == {"node": None}
    assert [path for _, path, _ in errors] == [["node", "count"]]


# Where the fast path and graphql-core part ways (each test's docstring says how).


async def test_an_attribute_is_read_once() -> None:
    """graphql-core calls the resolver (`getattr`) once per field. The fast path reads the
    attribute, and when it is not a plain list (a generator, say) calls `execute_field`, which
    reads it again: a property on the source runs twice."""
    reads: dict[str, int] = {"count": 0}

    class Source:
        name = "Chavenay"
        count = 3
        colour = Colour.RED

        @property
        def tags(self) -> Iterator[str]:
            reads["count"] += 1
            return iter(["p", "q"])

    stock = await run(STOCK, "{ node { tags } }", lambda: root(node=Source()))
    stock_reads = reads["count"]
    planned = await run(PLANNED, "{ node { tags } }", lambda: root(node=Source()))
    assert planned == stock == ({"node": {"tags": ["p", "q"]}}, [])
    planned_reads = reads["count"] - stock_reads
    assert (stock_reads, planned_reads) == (1, 1)


STARTED: list[str] = []


@strawberry.type(name="ParitySettledLeaf")
class SettledLeaf:
    label: str

    @strawberry.field
    async def slow(self) -> str:
        STARTED.append(self.label)
        await asyncio.sleep(0)
        return self.label


@strawberry.type(name="ParitySettledQuery")
class SettledQuery:
    leaves: list[SettledLeaf] | None


async def test_pending_items_of_a_list_are_settled_when_a_later_item_fails() -> None:
    """graphql-core settles the awaitables of a list it abandons (`settle_in_background`): the
    async resolvers of earlier items still run (no coroutine is left never awaited)."""
    planned_schema = strawberry.Schema(query=SettledQuery, execution_context_class=PlannedExecutor)
    stock_schema = strawberry.Schema(query=SettledQuery)

    def source() -> SimpleNamespace:
        return SimpleNamespace(leaves=[SimpleNamespace(label="first"), None])

    async def settled(schema: strawberry.Schema) -> tuple[Outcome, list[str]]:
        STARTED.clear()
        result = await run(schema, "{ leaves { slow } }", source)
        for _ in range(5):  # the background settling's turn
            await asyncio.sleep(0)
        return result, list(STARTED)

    stock = await settled(stock_schema)
    planned = await settled(planned_schema)
    assert stock[0] == (
        {"leaves": None},
        [
            (
                "Cannot return null for non-nullable field ParitySettledQuery.leaves.",
                ["leaves", 1],
                [(1, 3)],
            )
        ],
    )
    assert stock[1] == ["first"]
    assert planned == stock


# The plans are cached per process: two schemas in one process (the application's and a
# test's) may name a type alike and define its fields differently.


@strawberry.type(name="ParitySharedThing")
class PlainThing:
    label: str


@strawberry.type(name="ParitySharedQuery")
class PlainQuery:
    thing: PlainThing


@strawberry.type(name="ParitySharedThing")
class ResolvedThing:
    raw: strawberry.Private[str]

    @strawberry.field
    def label(self) -> str:
        return self.raw.upper()


@strawberry.type(name="ParitySharedQuery")
class ResolvedQuery:
    thing: ResolvedThing


async def test_schemas_sharing_a_type_name_do_not_share_plans() -> None:
    document = "{ thing { label } }"
    first = await both(
        document,
        lambda: PlainQuery(thing=PlainThing(label="plain")),
        planned=strawberry.Schema(query=PlainQuery, execution_context_class=PlannedExecutor),
        stock=strawberry.Schema(query=PlainQuery),
    )
    second = await both(
        document,
        lambda: ResolvedQuery(thing=ResolvedThing(raw="resolved")),
        planned=strawberry.Schema(query=ResolvedQuery, execution_context_class=PlannedExecutor),
        stock=strawberry.Schema(query=ResolvedQuery),
    )
    assert first == ({"thing": {"label": "plain"}}, [])
    assert second == ({"thing": {"label": "RESOLVED"}}, [])


async def later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


async def test_an_awaitable_attribute_is_awaited_as_graphql_core_does() -> None:
    """A plain field whose attribute holds a coroutine: awaited, as a resolver's would be."""
    data, errors = await both(
        "{ node { count name child { label } } }",
        lambda: root(node=node(count=later(5), name=later("Rex"), child=later(Leaf(label="x")))),
    )
    assert errors == []
    assert data == {"node": {"count": 5, "name": "Rex", "child": {"label": "x"}}}


@strawberry.type(name="ParityCustomQuery")
class CustomQuery:
    cell: strawberry.scalars.JSON | None = None
    when: datetime | None = None


async def test_an_exception_in_a_custom_scalar_attribute_is_a_field_error() -> None:
    planned = strawberry.Schema(query=CustomQuery, execution_context_class=PlannedExecutor)
    stock = strawberry.Schema(query=CustomQuery)

    def source() -> CustomQuery:
        return CustomQuery(cell=ValueError("no cell"), when=ValueError("no time"))  # type: ignore[arg-type]

    data, errors = await both("{ cell when }", source, planned=planned, stock=stock)
    assert data == {"cell": None, "when": None}
    assert [(message, path) for message, path, _ in errors] == [
        ("no cell", ["cell"]),
        ("no time", ["when"]),
    ]


async def test_a_schema_with_exception_handlers_is_left_to_graphql_core() -> None:
    assert execution.plannable_info_class(ZOO_STOCK._schema) is strawberry.Info
    assert execution.plannable_info_class(graphql_schema_without_strawberry()) is None


def graphql_schema_without_strawberry() -> Any:
    from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema, GraphQLString

    return GraphQLSchema(GraphQLObjectType("Q", {"a": GraphQLField(GraphQLString)}))


async def test_plans_keep_no_document_alive() -> None:
    """Plans refer to field nodes weakly: the parser cache, not the plans, decides how long a
    document lives (a client sending ever new documents cannot pile them up here)."""
    execution._plans.clear()
    await run(PLANNED, DOCUMENT, sample)  # no parser cache here: the document is dropped after
    assert execution._plans
    gc.collect()
    assert all(ref() is None for refs, _ in execution._plans.values() for ref in refs)

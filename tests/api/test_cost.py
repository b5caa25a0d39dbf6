"""The static cost of operations on the real schema (no database: the cost is computed, not run)."""

from __future__ import annotations

import gc
from typing import Any
from unittest.mock import patch

import pytest
from graphql import parse

from api.cost import Measures, QueryCost, operation_cost, walk
from api.schema import build_schema
from api.settings import Settings

SCHEMA = build_schema(Settings())._schema


def cost(query: str, variables: dict[str, Any] | None = None) -> tuple[int, int]:
    measured = operation_cost(
        SCHEMA, parse(query), operation_name=None, variables=variables, proximity_cost=50
    )
    return measured.cost, measured.proximity_searches


def measure(query: str) -> QueryCost:
    return operation_cost(
        SCHEMA, parse(query), operation_name=None, variables=None, proximity_cost=50
    )


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        ("{ __typename }", None, (1, 0)),
        ("{ me { id email } }", None, (3, 0)),
        # 1 + 50 (proximity) + 5 × (edges 1 + cursor 1 + node 1 + id 1): edges do not multiply again
        (
            "{ neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 5) "
            "{ edges { cursor node { id } } } }",
            None,
            (71, 1),
        ),
        # without `first`: the default page of 10
        ("{ neighbourhoods(near: {lng: 1.99, lat: 48.85}) { edges { cursor } } }", None, (71, 1)),
        # `first` from a variable
        (
            "query ($n: Int) { neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: $n) "
            "{ edges { cursor } } }",
            {"n": 100},
            (251, 1),
        ),
        # aliases count again, fragments as if written out
        (
            "{ a: neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 1) { ...E } "
            "b: neighbourhoods(near: {lng: 2.35, lat: 48.86}, first: 1) { ...E } } "
            "fragment E on NeighbourhoodConnection { edges { cursor } }",
            None,
            (106, 2),
        ),
    ],
)
def test_cost_counts_fields_multiplies_pages_and_weighs_proximity(
    query: str, variables: dict[str, Any] | None, expected: tuple[int, int]
) -> None:
    assert cost(query, variables) == expected


def test_nested_pages_multiply() -> None:
    query = (
        '{ neighbourhood(id: "TmVpZ2hib3VyaG9vZDox") { posts(first: 100) '
        "{ edges { node { comments(first: 100) { edges { node { id } } } } } } } }"
    )
    # 1 + 1 + 100 × (edges 1 + node 1 + comments 1 + 100 × (edges 1 + node 1 + id 1))
    assert cost(query) == (30_302, 0)


def test_a_fragment_spread_many_times_is_measured_in_linear_time() -> None:
    """Fragments spreading fragments 20 levels deep stand for 2^20 fields: measured at once."""
    levels = 20
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"

    assert cost(query) == (2**levels, 0)


def test_depth_counts_fields_on_the_longest_path_through_fragments() -> None:
    query = (
        '{ neighbourhood(id: "TmVpZ2hib3VyaG9vZDox") { ...P } } '
        "fragment P on Neighbourhood { name posts { edges { node { id } } } }"
    )
    assert measure(query).depth == 5
    assert measure("{ __schema { types { fields { type { ofType { name } } } } } }").depth == 0


def test_aliases_count_again_with_each_spread_of_their_fragment() -> None:
    query = "{ ...F ...F x: __typename } fragment F on Query { a: __typename b: __typename }"

    assert measure(query).aliases == 5


def test_measures_are_kept_per_document_and_page_size() -> None:
    """A document asked again is not walked again, unless a page size it reads changed."""
    measures = Measures(maxsize=2)
    document = parse(
        "query ($n: Int, $near: LocationInput!) { nearestLenders(near: $near, first: $n) "
        "{ edges { node { id title } } } }"
    )
    near = {"lng": 1.99, "lat": 48.85}
    with patch("api.cost.walk", side_effect=walk) as walked:
        five = measures.measure(SCHEMA, document, None, {"n": 5, "near": near}, 50)
        again = measures.measure(SCHEMA, document, None, {"n": 5, "near": {"lng": 2.0}}, 50)
        ten = measures.measure(SCHEMA, document, None, {"n": 10, "near": near}, 50)
        as_bool = measures.measure(SCHEMA, document, None, {"n": True, "near": near}, 50)
    assert (five.cost, ten.cost) == (1 + 50 + 5 * 4, 1 + 50 + 10 * 4)
    assert again == five  # `near` is not read by the measure: the same entry answers
    assert as_bool.cost == 1 + 50 + 10 * 4  # not an Int: the default page, not a cached 1
    assert walked.call_count == 3
    for other in ("{ __typename }", "{ me { id } }"):  # beyond maxsize: the oldest goes
        measures.measure(SCHEMA, parse(other), None, None, 50)
    assert len(measures.documents.entries) == 2


def test_measures_hold_no_client_string_and_no_document() -> None:
    """A long string where an Int belongs keys like the default page; entries let their
    document go (the parser cache decides how long documents live)."""
    measures = Measures(maxsize=4)
    document = parse("query ($n: Int) { neighbourhoods(first: $n) { edges { cursor } } }")
    with patch("api.cost.walk", side_effect=walk) as walked:
        one = measures.measure(SCHEMA, document, None, {"n": "x" * 10_000}, 50)
        two = measures.measure(SCHEMA, document, None, {"n": "y" * 10_000}, 50)
        three = measures.measure(SCHEMA, document, None, {"n": None}, 50)
    assert one == two == three
    assert walked.call_count == 1
    [(_, document_ref, (_, variants))] = measures.documents.entries.values()
    assert list(variants) == [(None,)]
    del document, walked  # the mock keeps its calls' arguments
    gc.collect()
    assert document_ref() is None

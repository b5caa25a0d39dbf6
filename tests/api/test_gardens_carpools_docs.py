"""The example queries of docs/gardens-carpools.md stay valid against the schema."""

from __future__ import annotations

import re

import pytest
from graphql import parse, validate

from api.schema import build_schema
from api.settings import PROJECT_ROOT, Settings

DOC = PROJECT_ROOT / "docs" / "gardens-carpools.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_doc_has_examples_for_every_operation() -> None:
    text = "\n".join(BLOCKS)
    for operation in (
        "gardensNear",
        "createGarden",
        "joinGardenWaitlist",
        "leaveGardenWaitlist",
        "carpoolMatches",
        "createCarpool",
        "bookSeat",
    ):
        assert operation in text, operation


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_each_example_is_valid_graphql_for_the_schema(block: str) -> None:
    schema = build_schema(Settings())._schema
    assert validate(schema, parse(block)) == []

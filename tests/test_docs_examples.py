"""Every GraphQL example in the README and docs/ is valid against the running schema.

Examples are documentation a partner copies; a renamed field must fail here, not in their app.
"""

from __future__ import annotations

import re

import pytest
from graphql import parse, validate

from api.schema import build_schema
from api.settings import PROJECT_ROOT, Settings

BLOCK = re.compile(r"```graphql\n(.*?)```", re.DOTALL)
DOCUMENTS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def examples() -> list[tuple[str, str]]:
    found = []
    for path in DOCUMENTS:
        for index, block in enumerate(BLOCK.findall(path.read_text(encoding="utf-8"))):
            found.append((f"{path.relative_to(PROJECT_ROOT)}#{index + 1}", block))
    return found


def test_the_docs_have_examples() -> None:
    assert len(examples()) >= 20


@pytest.mark.parametrize(("where", "document"), examples(), ids=[where for where, _ in examples()])
def test_example_is_valid_against_the_schema(where: str, document: str) -> None:
    schema = build_schema(Settings())._schema
    errors = validate(schema, parse(document))
    assert errors == [], f"{where}: {[error.message for error in errors]}"

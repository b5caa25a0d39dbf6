"""Every GraphQL example in the README and docs/ is valid against the running schema.

Examples are documentation a partner copies; a renamed field must fail here, not in their app.
"""

from __future__ import annotations

import re
from datetime import date

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


DATE = re.compile(r"(?<!\d)(20\d\d)-(\d\d)-(\d\d)(?!\d)")
PROSE_VARIABLES = re.compile(r"variables?:?\s*`([^`]*)`", re.IGNORECASE | re.DOTALL)
"""Variables given in the prose around an example, e.g. (variables: `{"startsOn": "..."}`)."""


def dated_examples() -> list[tuple[str, str]]:
    """Every example a reader runs as written: the GraphQL blocks and the variables in prose."""
    found = list(examples())
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for index, variables in enumerate(PROSE_VARIABLES.findall(text)):
            found.append((f"{path.relative_to(PROJECT_ROOT)}#variables-{index + 1}", variables))
    return found


def test_no_example_uses_a_date_already_past() -> None:
    """An example with a fixed date stops working the day after it (a loan "from today on", an
    event "to come"): dates are variables explained in words, or far enough ahead. Checked
    against today's date, so this fails on the morning a date goes stale."""
    today = date.today()
    stale = [
        f"{where}: {match.group(0)}"
        for where, document in dated_examples()
        for match in DATE.finditer(document)
        if date(*(int(part) for part in match.groups())) < today
    ]
    assert stale == [], "examples with a date in the past: " + ", ".join(stale)

"""The committed `schema.graphql` is what partners read: it must be the schema the code serves."""

from __future__ import annotations

from api.schema import export_sdl
from api.settings import PROJECT_ROOT


def test_committed_schema_matches_the_code() -> None:
    committed = (PROJECT_ROOT / "schema.graphql").read_text(encoding="utf-8")

    assert committed == export_sdl(), (
        "schema.graphql is out of date with the code: run `make schema` and commit the result"
    )

"""Custom scalars: geometry crosses the API only as GeoJSON, cells only as validated strings.

The Python types are `NewType`s (so mypy checks them); their GraphQL definitions are registered
through `SCALAR_MAP` in the schema config.
"""

from __future__ import annotations

import json
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from api.errors import ErrorCode, UserError
from geo.cells import validate_cell
from geo.errors import GeoValidationError

GeoJSON = NewType("GeoJSON", object)
H3Cell = NewType("H3Cell", str)


def _serialize_geojson(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _parse_cell(value: Any) -> str:
    if not isinstance(value, str):
        raise UserError(ErrorCode.INVALID_CELL, "An H3 cell is a string such as 871fb4662ffffff")
    try:
        return validate_cell(value)
    except GeoValidationError as error:
        raise UserError(error.code, error.message) from None


SCALAR_MAP: dict[object, ScalarDefinition] = {
    GeoJSON: strawberry.scalar(
        name="GeoJSON",
        description=(
            "A GeoJSON geometry object (RFC 7946): WGS 84, positions are [longitude, latitude] "
            "(longitude first). Boundaries accept Polygon or MultiPolygon with closed rings."
        ),
        specified_by_url="https://www.rfc-editor.org/rfc/rfc7946",
        serialize=_serialize_geojson,
        parse_value=lambda value: value,
    ),
    H3Cell: strawberry.scalar(
        name="H3Cell",
        description="An H3 cell index (h3 v4) as its 15-character hexadecimal string.",
        specified_by_url="https://h3geo.org/docs/core-library/h3Indexing",
        serialize=str,
        parse_value=_parse_cell,
    ),
}

"""Validation of free-text and geometry inputs, turned into `UserError`s with stable codes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

from shapely.geometry import MultiPolygon
from strawberry import relay

from api.errors import ErrorCode, UserError
from geo.boundaries import geojson_to_multipolygon
from geo.errors import GeoValidationError

COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")

MaybeDatetime = TypeVar("MaybeDatetime", bound=datetime | None)


def clean_text(value: str, *, argument: str, max_length: int, min_length: int = 1) -> str:
    """Trimmed text without control characters (NUL breaks PostgreSQL text, others confuse UIs)."""
    cleaned = value.strip()
    if any(ord(char) < 32 and char not in "\n\t" for char in cleaned):
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`{argument}` contains control characters.",
            argument=argument,
        )
    if not min_length <= len(cleaned) <= max_length:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`{argument}` must be {min_length} to {max_length} characters long.",
            argument=argument,
        )
    return cleaned


def clean_commune_code(value: str | None) -> str | None:
    if value is None:
        return None
    if not COMMUNE_CODE.match(value):
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            "`communeCode` must be an INSEE commune code such as 78152 or 2A004.",
            argument="communeCode",
        )
    return value


def clean_boundary(value: object, *, max_area_m2: float) -> MultiPolygon:
    try:
        return geojson_to_multipolygon(value, max_area_m2=max_area_m2)
    except GeoValidationError as error:
        raise UserError(error.code, error.message, argument="boundary") from None


def aware(value: MaybeDatetime, argument: str) -> MaybeDatetime:
    """Refuse times without a UTC offset: "18:00" means something else in every time zone.

    None (an optional argument left out) passes through.
    """
    if value is not None and value.utcoffset() is None:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`{argument}` needs a UTC offset, e.g. 2026-12-01T07:45:00+01:00.",
            argument=argument,
        )
    return value


def node_keys(node_ids: Iterable[str]) -> list[int]:
    """The database ids behind `node(id:)`'s node ids, for a type's `resolve_nodes`. One that is
    not a number names no row (0), so `node` answers null, as for an id that does not exist."""
    return [int(node_id) if node_id.isdigit() else 0 for node_id in node_ids]


def decode_node_id(
    value: relay.GlobalID, type_name: str, *, argument: str, message: str | None = None
) -> int:
    """The database id inside a Relay global ID of `type_name`, or INVALID_ID naming the
    argument. The one place global IDs are checked; `message` lets a field keep its wording."""
    if value.type_name != type_name or not value.node_id.isdigit():
        raise UserError(
            ErrorCode.INVALID_ID,
            message or f"This is not an ID of a {type_name}.",
            argument=argument,
        )
    return int(value.node_id)

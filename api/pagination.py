"""Opaque keyset cursors and page-size rules shared by every connection.

A nearest-first cursor holds (distance in metres, id); a newest-first one (timestamp, id). Keyset
cursors, not offsets, so a page never repeats or skips an item when new ones appear meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json

import strawberry

from api.errors import ErrorCode, UserError

DEFAULT_PAGE_SIZE = 10


def encode_cursor(kind: str, *values: float | int | str) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_distance_cursor(cursor: str | None) -> tuple[float, int] | None:
    """(distance_m, id) from a nearest-first cursor, or None for the first page."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, distance, ident = json.loads(base64.urlsafe_b64decode(padded))
        if kind != "d" or isinstance(distance, bool) or isinstance(ident, bool):
            raise ValueError(kind)
        return float(distance), int(ident)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise UserError(
            ErrorCode.INVALID_CURSOR, "This cursor is not valid here: use an endCursor we returned."
        ) from None


def page_size(first: int | None, maximum: int) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 1 or first > maximum:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`first` must be between 1 and {maximum}; got {first}.",
            argument="first",
        )
    return first


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

"""Opaque keyset cursors and page-size rules shared by every connection.

A nearest-first cursor holds (distance in metres, id); a newest-first one (timestamp, id). Keyset
cursors, not offsets, so a page never repeats or skips an item when new ones appear meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import orjson
import strawberry

from api.errors import ErrorCode, UserError

DEFAULT_PAGE_SIZE = 10


def encode_cursor(kind: str, *values: float | int | str) -> str:
    """The JSON list `[kind, *values]`, base64url without padding (orjson: ten per page)."""
    raw = orjson.dumps([kind, *values])
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


def encode_time_cursor(kind: str, moment: datetime, ident: int) -> str:
    """A time-ordered cursor of `kind`: (timestamp, id), read back by `decode_time_cursor`."""
    return encode_cursor(kind, moment.isoformat(), ident)


def decode_time_cursor(cursor: str | None, kind: str) -> tuple[datetime, int] | None:
    """(timestamp, id) from a cursor made by `encode_time_cursor(kind, ...)`, or None for the
    first page. Timestamps keep their microseconds and offset, so the keyset comparison in SQL
    is exact."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found, stamp, ident = json.loads(base64.urlsafe_b64decode(padded))
        if found != kind or not isinstance(stamp, str) or not isinstance(ident, int):
            raise ValueError(found)
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None or isinstance(ident, bool):
            raise ValueError(stamp)
        return moment, ident
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise UserError(
            ErrorCode.INVALID_CURSOR, "This cursor is not valid here: use an endCursor we returned."
        ) from None


def decode_id_cursor(cursor: str | None, kind: str) -> int | None:
    """The id in a cursor of `kind` built by `encode_cursor(kind, id)` (None: first page).

    For searches ranked by a distance: the cursor holds the id only and the caller recomputes
    the distance, because an exact distance in a cursor anyone can decode would give away what
    the rounded `distanceMeters` hides.
    """
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found, ident = json.loads(base64.urlsafe_b64decode(padded))
        if found != kind or isinstance(ident, bool) or not isinstance(ident, int):
            raise ValueError(found)
        return ident
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise UserError(
            ErrorCode.INVALID_CURSOR, "This cursor is not valid here: use an endCursor we returned."
        ) from None


def page_info(cursors: Sequence[str], *, has_next_page: bool, has_previous_page: bool) -> PageInfo:
    """The `PageInfo` of a page whose edges carry `cursors`, in order (empty: no cursors)."""
    return PageInfo(
        has_next_page=has_next_page,
        has_previous_page=has_previous_page,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


class HasCursor(Protocol):
    @property
    def cursor(self) -> str: ...


def keyset_page_info(
    edges: Sequence[HasCursor], *, fetched: int, limit: int, after: object | None
) -> PageInfo:
    """The `PageInfo` of a keyset page: the query fetched `limit + 1` rows to learn whether a
    next page exists (`fetched > limit`); a previous one exists when the page started `after` a
    cursor."""
    return page_info(
        [edge.cursor for edge in edges],
        has_next_page=fetched > limit,
        has_previous_page=after is not None,
    )

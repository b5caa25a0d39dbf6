"""Enum members by their stored value, for types built from database rows on every request."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar, cast

E = TypeVar("E", bound=Enum)


def members_by_value(enum: type[E]) -> dict[str, E]:
    """`{value: member}`: a dict lookup where `enum(value)` goes through `EnumType.__call__`
    (several per result on every page). Strawberry's `enum_value(...)` leaves the plain value
    on the member at run time, which is what the rows hold."""
    return {cast(str, member.value): member for member in enum}

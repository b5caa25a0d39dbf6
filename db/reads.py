"""Moved to `db.fastpaths.reads` (issue #14, item 1b); kept importable from here while
other branches still import this path. Remove once nothing does."""

from db.fastpaths.reads import (
    DIALECT,
    OBSERVERS,
    READ_ONLY,
    Observers,
    ReadConnection,
    ReadPool,
    ReadStatement,
    UnsupportedStatement,
    fetch_all,
    reads_as_is,
    why_dead,
)

__all__ = [
    "DIALECT",
    "OBSERVERS",
    "READ_ONLY",
    "Observers",
    "ReadConnection",
    "ReadPool",
    "ReadStatement",
    "UnsupportedStatement",
    "fetch_all",
    "reads_as_is",
    "why_dead",
]

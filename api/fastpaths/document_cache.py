"""Values computed from a parsed document, kept per process and found by identity.

Replaces: Strawberry's `ValidationCache` extension (an `lru_cache` on the schema and document,
whose key hashes the whole AST on every request), and the operation measures' recomputation
(`api.cost`): with FAST_PATHS=off the schema uses Strawberry's `ValidationCache` and measures
every operation again.
Figure (commit 075fac4; bench/README.md, fourth session): validation ~0.1 ms -> ~0 per page
query, part of the in-process gains measured with the same requests alternated.
Tested with: strawberry-graphql 0.341.3, graphql-core 3.3.2 (`api.fastpaths.TESTED_WITH`).

The parser cache hands back the very same `DocumentNode` for the same query text, so what is
computed from a document (its validation errors, its cost) can be found again by the identity
of the document and of the schema, without hashing an AST on every request (graphql-core's
nodes hash every node below them). Entries refer to both weakly: the parser cache, not this
one, decides how long a document lives, and an entry is used only while those very objects
are alive (an id is reused only once its object is gone).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from graphql import DocumentNode, GraphQLSchema

V = TypeVar("V")


class PerDocument(Generic[V]):
    """At most `maxsize` values, least recently used dropped first, by (schema, document, key)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.entries: OrderedDict[
            tuple[int, int, Hashable],
            tuple[weakref.ref[GraphQLSchema], weakref.ref[DocumentNode], V],
        ] = OrderedDict()

    def get(self, schema: GraphQLSchema, document: DocumentNode, key: Hashable) -> V | None:
        full_key = (id(schema), id(document), key)
        entry = self.entries.get(full_key)
        if entry is None or entry[0]() is not schema or entry[1]() is not document:
            return None
        self.entries.move_to_end(full_key)
        return entry[2]

    def put(self, schema: GraphQLSchema, document: DocumentNode, key: Hashable, value: V) -> V:
        self.entries[(id(schema), id(document), key)] = (
            weakref.ref(schema),
            weakref.ref(document),
            value,
        )
        if len(self.entries) > self.maxsize:
            self.entries.popitem(last=False)
        return value

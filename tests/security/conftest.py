"""The API fixtures (`http`, `gql`) for the attacks, which run against the real app."""

from tests.api.conftest import gql, http

__all__ = ["gql", "http"]

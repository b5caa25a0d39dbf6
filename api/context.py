"""The per-request context: viewer, database engine, DataLoaders named `<thing>_by_<key>`.

Loaders live here, one set per request, never at module level: a cache shared across requests
would leak one viewer's data to another and never see updates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.dataloader import DataLoader

from api.observability import RequestState
from api.settings import Settings
from db.queries import households, neighbourhoods
from db.rows import HouseholdRow, NeighbourhoodRow

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: anonymous, or the account behind a valid bearer token."""

    account_id: int | None = None
    household_id: int | None = None
    neighbourhood_id: int | None = None
    is_admin: bool = False
    ambassador_of: frozenset[int] = frozenset()

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None

    def is_member_of(self, neighbourhood_id: int) -> bool:
        return self.neighbourhood_id == neighbourhood_id

    def can_moderate(self, neighbourhood_id: int) -> bool:
        return self.is_admin or neighbourhood_id in self.ambassador_of


def batch(
    engine: AsyncEngine,
    fetch: Callable[[AsyncConnection, Sequence[K]], Awaitable[dict[K, V]]],
) -> DataLoader[K, V | None]:
    """A DataLoader running `fetch` once per batch on a short-lived connection."""

    async def load(keys: list[K]) -> list[V | None]:
        async with engine.connect() as conn:
            found = await fetch(conn, keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    neighbourhood_by_id: DataLoader[int, NeighbourhoodRow | None]
    boundary_by_neighbourhood_id: DataLoader[int, str | None]
    member_count_by_neighbourhood_id: DataLoader[int, int | None]
    household_by_id: DataLoader[int, HouseholdRow | None]

    @classmethod
    def create(cls, engine: AsyncEngine) -> Loaders:
        return cls(
            neighbourhood_by_id=batch(engine, neighbourhoods.neighbourhoods_by_id),
            boundary_by_neighbourhood_id=batch(engine, neighbourhoods.boundaries_by_id),
            member_count_by_neighbourhood_id=batch(engine, neighbourhoods.member_counts_by_id),
            household_by_id=batch(engine, households.households_by_id),
        )


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    request_id: str
    viewer: Viewer = field(default_factory=Viewer)
    request_state: RequestState | None = None
    token: str | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders.create(self.engine)

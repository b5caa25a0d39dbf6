"""What the France load's stages share: the load's state, its progress bar, the stage record.

Kept apart from `seeds.france` (which lists the stages) so that stage modules for later
datasets (`seeds.france_sharing`) can be written against it without importing the list back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
from rich.progress import Progress, TaskID
from sqlalchemy.ext.asyncio import AsyncConnection

from seeds.france_points import FranceCommunes, HouseholdPlan


class StageBar:
    """One progress line; a no-op when the load is silent (tests)."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self.progress = progress
        self.task = task

    def total(self, units: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, total=units)

    def advance(self, units: int = 1) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, units)


@dataclass(frozen=True, slots=True, kw_only=True)
class FranceScale:
    """How much of each shared thing there is, per household (so a small test load keeps the
    proportions of the million-household profile: 300,000 items, 2,000,000 posts, ...)."""

    items_per_household: float = 0.3
    loans_per_item: float = 0.5
    gardens_per_household: float = 0.005
    carpools_per_household: float = 0.1
    posts_per_household: float = 2.0
    comments_per_post: float = 0.5

    def count(self, ratio: float, base: int) -> int:
        """round(ratio × base), at least one as soon as there is a base at all."""
        return max(1, round(ratio * base)) if base > 0 else 0


@dataclass
class FranceLoad:
    """What the stages share: parameters, the transaction, and what earlier stages produced."""

    households: int
    seed: int
    resolution: int
    conn: AsyncConnection
    as_of: datetime
    """Reference instant (UTC) of every date: posts go back a year from it, trips go ahead."""
    scale: FranceScale = field(default_factory=FranceScale)
    communes: FranceCommunes | None = None
    plan: HouseholdPlan | None = None
    networks: npt.NDArray[np.int64] | None = None
    neighbourhood_of: npt.NDArray[np.int64] | None = None
    """Neighbourhood id of household k + 1 at index k, read back after the assignment."""
    dropped: list[tuple[str, str]] = field(default_factory=list)
    """(table, DDL) that recreates the indexes and foreign keys dropped for the load, in order."""
    counts: dict[str, int] = field(default_factory=dict)
    shared: dict[str, object] = field(default_factory=dict)
    """Plans a later stage needs (items for loans, posts for comments), by name."""
    index_seconds: dict[str, float] = field(default_factory=dict)

    def require_communes(self) -> FranceCommunes:
        assert self.communes is not None, "the 'read communes' stage runs first"
        return self.communes

    def require_plan(self) -> HouseholdPlan:
        assert self.plan is not None, "the 'plan households' stage runs first"
        return self.plan

    def require_neighbourhoods(self) -> npt.NDArray[np.int64]:
        assert self.neighbourhood_of is not None, "the 'read assignment' stage runs first"
        return self.neighbourhood_of


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    run: Callable[[FranceLoad, StageBar], Awaitable[None]]
    fills: tuple[str, ...] = ()
    """Tables whose row counts the summary reports."""

"""Building blocks of the France profile's shared datasets: random streams, neighbours, and
COPY text made a column at a time.

Rows are planned as numpy arrays (a few bytes per row and field) and turned into COPY text
only chunk by chunk: a column becomes a list of strings in one vectorised call
(`np.datetime_as_string`, `astype(str)`), and the chunk's lines are joined by C loops
(`map("\t".join, zip(...))`), so two million posts cost seconds, not minutes, and never sit in
memory as text all at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from seeds.france_points import rng_for

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NULL = "\\N"
"""COPY text's NULL."""
DAY_S = 86_400
YEAR_S = 365 * DAY_S
CHUNK_ROWS = 100_000


class SharingStream:
    """Random streams of the shared datasets, after `seeds.france_points.Stream` (1-6): adding
    a dataset never moves the homes, and changing one dataset never moves another."""

    ITEMS = 11
    LOANS = 12
    GARDENS = 13
    WAITLIST = 14
    CARPOOLS = 15
    BOOKINGS = 16
    POSTS = 17
    COMMENTS = 18


def sharing_rng(seed: int, stream: int) -> np.random.Generator:
    return rng_for(seed, stream)


def epoch_s(moment: datetime) -> int:
    """Whole seconds since 1970 of an aware datetime."""
    return int(moment.timestamp())


def timestamps(seconds: IntArray) -> list[str]:
    """COPY text of timestamptz values from Unix seconds, UTC (`2026-05-01T07:45:00Z`)."""
    values = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")
    return list(np.datetime_as_string(values, unit="s", timezone="UTC").tolist())


def optional_timestamps(seconds: IntArray) -> list[str]:
    """`timestamps`, with COPY's NULL for 0; only the values present are formatted."""
    out = [NULL] * len(seconds)
    present = np.flatnonzero(seconds)
    for index, value in zip(present.tolist(), timestamps(seconds[present]), strict=True):
        out[index] = value
    return out


def dates(days: IntArray) -> list[str]:
    """COPY text of dates from days since 1970."""
    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    return list(np.datetime_as_string(values, unit="D").tolist())


def numbers(values: npt.NDArray[np.integer] | FloatArray) -> list[str]:
    return list(np.asarray(values).astype(str).tolist())


def nullable(values: list[str], present: BoolArray) -> list[str]:
    """`values` where `present`, COPY's NULL elsewhere."""
    return [value if keep else NULL for value, keep in zip(values, present.tolist(), strict=True)]


def picks(vocabulary: Sequence[str], index: IntArray) -> list[str]:
    """`vocabulary[i]` for each i, through an object array (one C loop)."""
    table = np.array(vocabulary, dtype=object)
    return list(table[np.asarray(index, dtype=np.int64)].tolist())


def copy_lines(columns: Sequence[Sequence[str]]) -> bytes:
    """One COPY text line per row from equally long columns of already-escaped values."""
    rows = map("\t".join, zip(*columns, strict=True))
    return ("\n".join(rows) + "\n").encode() if columns and columns[0] else b""


def chunk_bounds(total: int, size: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Households grouped by commune, to draw a neighbour of someone (a borrower, a passenger,
    a commenter): someone else from the same commune, or anyone else when they live alone in
    it. Households are 0-based plan indices (id − 1)."""

    order: IntArray
    position: IntArray
    """Where each household sits in `order`."""
    start: IntArray
    size: IntArray

    @classmethod
    def of(cls, commune: IntArray, communes: int) -> Neighbours:
        order = np.argsort(commune, kind="stable").astype(np.int64)
        position = np.empty_like(order)
        position[order] = np.arange(len(order), dtype=np.int64)
        size = np.bincount(commune, minlength=communes).astype(np.int64)
        start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
        return cls(order=order, position=position, start=start, size=size)

    def draw(self, household: IntArray, commune: IntArray, rng: np.random.Generator) -> IntArray:
        """A neighbour other than `household` for each household (of commune `commune`),
        uniformly among the others."""
        total = len(self.order)
        start, size = self.start[commune], self.size[commune]
        # A rank among the size - 1 others, stepping over the household's own rank.
        rank = np.floor(rng.random(len(household)) * np.maximum(size - 1, 1)).astype(np.int64)
        own = self.position[household] - start
        rank += rank >= own
        candidate = self.order[np.minimum(start + rank, total - 1)]
        anyone = (household + 1 + rng.integers(0, max(total - 1, 1), len(household))) % total
        return np.where(size <= 1, anyone, candidate).astype(np.int64)


def weighted_choice(weights: Sequence[float], count: int, rng: np.random.Generator) -> IntArray:
    """`count` indices drawn with the given relative weights."""
    shares = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(shares), size=count, p=shares / shares.sum()).astype(np.int64)

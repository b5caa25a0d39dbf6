"""Where France-scale carpools go: another commune 3 to 60 km away, in proportion to population.

Measuring every trip against all 34,871 communes would be 3.5 billion distances for the
default 100,000 trips. Communes are binned in a coarse grid instead; a candidate is drawn by
population among the cells around the trip's origin, then its commune by population within the
cell, and kept when its town hall is in range (rejection rounds, like the homes). Trips from
places with nobody in range (remote overseas communes) take the nearest other commune.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from seeds.france_points import FranceCommunes
from seeds.france_rows import FloatArray, IntArray

EARTH_RADIUS_M = 6_371_008.8
TRIP_RANGE_M = (3_000.0, 60_000.0)
MAX_ROUNDS = 30
GRID_DEG = (0.35, 0.25)
"""Grid cell (lng, lat): at least 20 km each way up to 59° N, so GRID_REACH cells around a
point reach past the 60 km of the longest trip."""
GRID_REACH = 3


def great_circle_m(
    lng1: FloatArray, lat1: FloatArray, lng2: FloatArray, lat2: FloatArray
) -> FloatArray:
    """Haversine metres on the mean sphere, for choosing trips (not for stored distances)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    half = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lng2 - lng1) / 2) ** 2
    )
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(half))
    return result


@dataclass(frozen=True, slots=True)
class PopulationGrid:
    """Communes binned in cells of GRID_DEG (lng, lat) degrees, to draw a commune near a point
    in proportion to population without measuring the distance to all 34,871 of them."""

    cell: IntArray
    """Cell of each commune: column × rows + row."""
    rows: int
    columns: int
    cell_population: FloatArray
    order: IntArray
    """Communes sorted by cell."""
    cumulative: FloatArray
    """Running population along `order`."""
    before_cell: FloatArray
    """Population of every cell before each cell, along `order`."""

    @classmethod
    def of(cls, communes: FranceCommunes) -> PopulationGrid:
        x = np.floor(communes.centre_lng / GRID_DEG[0]).astype(np.int64)
        y = np.floor(communes.centre_lat / GRID_DEG[1]).astype(np.int64)
        x, y = x - x.min(), y - y.min()
        columns, rows = int(x.max()) + 1, int(y.max()) + 1
        cell = x * rows + y
        population = communes.population.astype(np.float64)
        order = np.argsort(cell, kind="stable").astype(np.int64)
        cell_population = np.bincount(cell, weights=population, minlength=columns * rows).astype(
            np.float64
        )
        return cls(
            cell=cell,
            rows=rows,
            columns=columns,
            cell_population=cell_population,
            order=order,
            cumulative=np.cumsum(population[order]),
            before_cell=np.concatenate([[0.0], np.cumsum(cell_population)[:-1]]),
        )

    def draw_near(self, cell: IntArray, rng: np.random.Generator) -> IntArray:
        """A commune of the (2·GRID_REACH + 1)² cells around each cell, by population."""
        steps = np.arange(-GRID_REACH, GRID_REACH + 1)
        column = (cell // self.rows)[:, None, None] + steps[None, :, None]
        row = (cell % self.rows)[:, None, None] + steps[None, None, :]
        inside = (column >= 0) & (column < self.columns) & (row >= 0) & (row < self.rows)
        block = np.where(inside, column * self.rows + row, 0).reshape(len(cell), -1)
        weights = np.where(inside.reshape(len(cell), -1), self.cell_population[block], 0.0)
        running = np.cumsum(weights, axis=1)
        wanted = rng.random(len(cell))[:, None] * running[:, -1:]
        pick = np.minimum((running <= wanted).sum(axis=1), block.shape[1] - 1)
        chosen = block[np.arange(len(cell)), pick]
        target = self.before_cell[chosen] + rng.random(len(cell)) * self.cell_population[chosen]
        found = np.searchsorted(self.cumulative, target, side="right")
        picked: IntArray = self.order[np.minimum(found, len(self.order) - 1)]
        return picked


def destination_communes(
    communes: FranceCommunes, origin: IntArray, rng: np.random.Generator
) -> IntArray:
    """For each origin commune, another one in proportion to population 3-60 km away.

    A candidate is drawn by population among the communes of the grid cells around the
    origin's (which reach past 60 km everywhere in France) and kept when its town hall is in
    range; the others draw again. Trips from places with nobody in range (remote overseas
    communes) take the nearest other commune.
    """
    grid = PopulationGrid.of(communes)
    chosen = np.full(len(origin), -1, dtype=np.int64)
    for _ in range(MAX_ROUNDS):
        waiting = np.flatnonzero(chosen < 0)
        if waiting.size == 0:
            break
        start = origin[waiting]
        candidate = grid.draw_near(grid.cell[start], rng)
        distance = great_circle_m(
            communes.centre_lng[start],
            communes.centre_lat[start],
            communes.centre_lng[candidate],
            communes.centre_lat[candidate],
        )
        hit = (distance >= TRIP_RANGE_M[0]) & (distance <= TRIP_RANGE_M[1])
        chosen[waiting[hit]] = candidate[hit]
    waiting = np.flatnonzero(chosen < 0)
    if waiting.size:
        centres = shapely.points(communes.centre_lng, communes.centre_lat)
        tree = shapely.STRtree(centres)
        source, target = tree.query_nearest(
            centres[origin[waiting]], exclusive=True, all_matches=False
        )
        chosen[waiting[source]] = target
    return chosen

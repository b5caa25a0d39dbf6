"""What every benchmark prints: one rich table row per measure, ours against the raw SQL."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """One line of a results table; `ratio` is ours / raw (lower is better, 1 = no overhead)."""

    name: str
    ours: str
    raw: str
    ratio: float | None
    target: str = ""
    met: bool | None = None


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` in 0..1): an observed value, never an interpolation."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a local process (a PostgreSQL backend), None if unreadable.

    Wall-clock time on a shared 2-core machine says as much about the neighbours as about the
    query; the backend's own CPU time does not, so the tables show both.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_caption() -> str:
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min) / {five:.1f} (5 min)"


def results_table(title: str, measures: Sequence[Measure]) -> Table:
    table = Table(title=title, caption=load_caption(), header_style="bold")
    table.add_column("measure")
    table.add_column("ours", justify="right")
    table.add_column("raw SQL", justify="right")
    table.add_column("ours / raw", justify="right")
    table.add_column("target")
    for measure in measures:
        verdict = "" if measure.met is None else (" [green]✓" if measure.met else " [red]✗")
        table.add_row(
            measure.name,
            measure.ours,
            measure.raw,
            "" if measure.ratio is None else f"{measure.ratio:.2f}×",
            f"{measure.target}{verdict}",
        )
    return table

"""What the France load shows: a progress line per stage, then a summary table.

Memory is reported for both sides of the load, since the 4 GB budget covers the machine: this
process (`ru_maxrss`) and, when PostgreSQL runs on the same host, the backend that did the work
(`VmHWM` from /proc, which includes the shared buffers it touched).
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@contextmanager
def progress_display(enabled: bool) -> Iterator[Progress | None]:
    """Progress on stderr (stdout stays clean for pipes); nothing at all when disabled."""
    if not enabled:
        yield None
        return
    columns = (
        SpinnerColumn(finished_text="[green]✓"),
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        yield progress


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backend_peak_rss_mb(host: str | None, pid: int) -> float | None:
    """Peak resident memory of database backend `pid` in MiB; None unless it runs here."""
    if host is not None and host not in LOCAL_HOSTS:
        return None
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
            return None
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def summary_table(summary: dict[str, object]) -> Table:
    out = Table(title="France profile", header_style="bold")
    out.add_column("what")
    out.add_column("value", justify="right")
    rows = summary["rows"]
    assert isinstance(rows, dict)
    for name, count in rows.items():
        out.add_row(f"rows: {name}", f"{count:,}")
    out.add_row("  of which POLYGON networks", f"{summary['polygon_neighbourhoods']:,}")
    out.add_row("  households in a POLYGON", f"{summary['households_in_polygons']:,}")
    seconds = summary["seconds"]
    assert isinstance(seconds, dict)
    for name, value in seconds.items():
        out.add_row(f"time: {name}", f"{value:.1f} s")
    out.add_row("[bold]time: total", f"[bold]{summary['total_seconds']:.1f} s")
    database_bytes = summary["database_bytes"]
    assert isinstance(database_bytes, int)
    out.add_row("database size", f"{database_bytes / 2**20:,.0f} MiB")
    out.add_row("peak RSS, this process", f"{summary['peak_rss_mb']:,.0f} MiB")
    backend_mb = summary["backend_peak_rss_mb"]
    if isinstance(backend_mb, float):
        out.add_row("peak RSS, database backend", f"{backend_mb:,.0f} MiB")
    return out

"""What the France load shows: a progress line per stage, then a summary table.

Memory is reported for both sides of the load, since the 4 GB budget covers the machine: this
process (`ru_maxrss`) and, when PostgreSQL runs on the same host, the backend that did the work
(`VmHWM` from /proc, which includes the shared buffers it touched).
"""

from __future__ import annotations

import os
import resource
import time
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


def backend_cpu_s(host: str | None, pid: int) -> float | None:
    """User + system CPU seconds of database backend `pid`; None unless it runs here."""
    if host is not None and host not in LOCAL_HOSTS:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuClock:
    """CPU seconds of this process (all threads) and of the backend doing the load.

    On a shared machine a stage's wall-clock time grows with the neighbours' load; the CPU
    both sides spent on it does not, so the summary shows both.
    """

    def __init__(self, host: str | None, pid: int) -> None:
        self.host = host
        self.pid = pid

    def read(self) -> tuple[float, float | None]:
        return time.process_time(), backend_cpu_s(self.host, self.pid)

    def since(self, start: tuple[float, float | None]) -> tuple[float, float | None]:
        """(this process, backend) CPU seconds since `start`, rounded to 10 ms."""
        now = self.read()
        backend = None if now[1] is None or start[1] is None else round(now[1] - start[1], 2)
        return round(now[0] - start[0], 2), backend


def summary_table(summary: dict[str, object]) -> Table:
    out = Table(title="France profile", header_style="bold")
    out.add_column("what")
    out.add_column("value", justify="right")
    out.add_column("CPU: loader + database", justify="right")
    rows = summary["rows"]
    assert isinstance(rows, dict)
    for name, count in rows.items():
        out.add_row(f"rows: {name}", f"{count:,}")
    out.add_row("  of which POLYGON networks", f"{summary['polygon_neighbourhoods']:,}")
    out.add_row("  households in a POLYGON", f"{summary['households_in_polygons']:,}")
    seconds = summary["seconds"]
    assert isinstance(seconds, dict)
    index_seconds = summary.get("index_seconds", {})
    cpu_seconds = summary.get("cpu_seconds", {})
    assert isinstance(index_seconds, dict) and isinstance(cpu_seconds, dict)
    for name, value in seconds.items():
        loader_s, backend_s = cpu_seconds.get(name, (None, None))
        cpu = (
            ""
            if loader_s is None
            else f"{loader_s:.1f} + " + ("?" if backend_s is None else f"{backend_s:.1f} s")
        )
        out.add_row(f"time: {name}", f"{value:.1f} s", cpu)
        if name == "build indexes":
            for table_name, spent in index_seconds.items():
                out.add_row(f"  of which {table_name}", f"{spent:.1f} s")
    loader_total = sum(pair[0] for pair in cpu_seconds.values())
    backend_total = sum(pair[1] or 0.0 for pair in cpu_seconds.values())
    out.add_row(
        "[bold]time: total",
        f"[bold]{summary['total_seconds']:.1f} s",
        f"{loader_total:.1f} + {backend_total:.1f} s",
    )
    database_bytes = summary["database_bytes"]
    assert isinstance(database_bytes, int)
    out.add_row("database size", f"{database_bytes / 2**20:,.0f} MiB")
    out.add_row("peak RSS, this process", f"{summary['peak_rss_mb']:,.0f} MiB")
    backend_mb = summary["backend_peak_rss_mb"]
    if isinstance(backend_mb, float):
        out.add_row("peak RSS, database backend", f"{backend_mb:,.0f} MiB")
    return out

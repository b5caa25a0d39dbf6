"""`python -m bench [NAME ...]`: run the named benchmarks (all by default) on `voisinage_bench`.

Each benchmark prints a rich table comparing our path with the raw SQL of the same work,
measured in the same run. `make bench` runs them all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from api.settings import Settings
from bench import assignment, proximity, registration, subscriptions
from bench.france_profile import bench_database

Benchmark = Callable[[str, Console, Settings], None]
BENCHMARKS: dict[str, Benchmark] = {
    "assignment": assignment.run,
    "proximity": proximity.run,
    "registration": registration.run,
    "subscriptions": subscriptions.run,
}

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    names: Annotated[
        list[str] | None, typer.Argument(help=f"Benchmarks to run: {', '.join(BENCHMARKS)}")
    ] = None,
    reload: Annotated[
        bool, typer.Option(help="Regenerate the France profile even if it is there")
    ] = False,
) -> None:
    """Run benchmarks on the France profile (generated into voisinage_bench on first use)."""
    unknown = sorted(set(names or ()) - BENCHMARKS.keys())
    if unknown:
        raise typer.BadParameter(f"unknown benchmark {', '.join(unknown)}: {', '.join(BENCHMARKS)}")
    console = Console(width=None if sys.stdout.isatty() else 120)
    settings = Settings.from_env()
    with bench_database(settings, console, reload=reload) as url:
        for name in names or list(BENCHMARKS):
            BENCHMARKS[name](url, console, settings)


if __name__ == "__main__":
    app()

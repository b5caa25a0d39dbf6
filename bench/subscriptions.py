"""Live posts under load: `postCreated` to 1,000 WebSocket subscribers, against raw LISTEN.

    python -m bench subscriptions                                  # with the other benchmarks
    python -m bench.subscriptions                                  # alone: the issue's figures
    python -m bench.subscriptions --subscribers 100 --seconds 5    # smoke run

Two scenarios, each on a fresh server process (so memory figures do not inherit the previous
one's heap): all subscribers on one neighbourhood, and the same number spread over 100. A post
is created every 100 ms through `createPost`; every subscriber stamps each delivery. It runs on
the France profile (`voisinage_bench`), in its most populous network and its 100 most populous
(see `bench.live_fixtures`, which also says what the run leaves behind).

Latency is measured from the moment the creating mutation's HTTP response arrives, as the issue
asks. It can be negative: NOTIFY is delivered when the transaction commits, before the server
has serialised and sent the HTTP response. The raw baseline, a plain psycopg LISTEN on the same
channel, receives the very same NOTIFY. Its latency from the response is about zero or
negative, so the ratio is taken from the moment the mutation was *sent*, a point both paths
share and after which both include the same mutation work; "after the raw NOTIFY" is what the
subscription path adds once PostgreSQL has delivered the notification.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Annotated, Any

import typer
import uvloop
from rich.console import Console

from api.settings import Settings
from bench import live_cpu, live_subscribers
from bench.france_profile import bench_database
from bench.live_fixtures import (
    Member,
    Population,
    ServerProcess,
    clean_up,
    populate,
    raise_open_file_limit,
    rss_kib,
    run_queue_wait_s,
    running_server,
)
from bench.live_report import Machine, ScenarioResult, analyse, print_report
from bench.live_traffic import Published, publish, raw_listener
from bench.results import process_cpu_s

SETTLE_S = 3.0
"""Pause after opening the subscriptions before reading the server's memory."""
WARM_UP_TIMEOUT_S = 60.0
SCENARIOS = ("one", "spread", "both")


@dataclass(frozen=True)
class Scenario:
    name: str
    subscribers: list[Member]
    """One entry per subscription: whose token it uses and which neighbourhood it follows."""
    authors: list[Member]
    """Post number i is created by authors[i % len(authors)]."""


@dataclass(frozen=True)
class Options:
    subscribers: int = 1000
    seconds: float = 30.0
    interval_ms: int = 100
    neighbourhoods: int = 100
    accounts: int = 10
    """Accounts sharing the one neighbourhood (each may hold many connections)."""
    scenario: str = "both"
    compression: bool = True
    grace_s: float = 30.0
    py_spy: Path | None = None
    cpu_events: int = 20
    """Events of the in-process CPU measure (see `bench.live_cpu`)."""

    @property
    def interval_s(self) -> float:
        return self.interval_ms / 1000

    @property
    def posts(self) -> int:
        return round(self.seconds / self.interval_s)


class WorkerHandle:
    """The subscriber process (see `bench.live_subscribers`), driven over a pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe: Connection
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=live_subscribers.main, args=(child,), daemon=True)
        self.process.start()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    async def call(self, command: str, argument: dict[str, Any] | None = None) -> Any:
        self.pipe.send((command, argument))
        reply = await asyncio.to_thread(self.pipe.recv)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def stop(self) -> None:
        if self.process.is_alive():
            await self.call("exit")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def scenarios(population: Population, options: Options) -> list[Scenario]:
    crowd, grid, subscribers = population.crowd, population.grid, options.subscribers
    per_cell = max(subscribers // len(grid), 1)
    every = {
        "one": Scenario(
            f"{subscribers:,} on 1 nbhd",
            [crowd[i % len(crowd)] for i in range(subscribers)],
            crowd,
        ),
        "spread": Scenario(
            f"{per_cell * len(grid):,} on {len(grid)} nbhds",
            [grid[i % len(grid)] for i in range(per_cell * len(grid))],
            grid,
        ),
    }
    return list(every.values()) if options.scenario == "both" else [every[options.scenario]]


def server_settings(scenario: Scenario, options: Options) -> dict[str, str]:
    """Limits raised so that they, not the code under test, cannot be what fails."""
    return {
        "SUBSCRIPTION_QUEUE_SIZE": str(options.posts + len(scenario.authors) + 256),
        "WS_MAX_CONNECTIONS_PER_VIEWER": str(max(len(scenario.subscribers), 5)),
        "RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }


def start_py_spy(server: ServerProcess, options: Options, name: str) -> subprocess.Popen[bytes]:
    assert options.py_spy is not None
    binary = shutil.which("py-spy")
    if binary is None:
        raise typer.BadParameter("py-spy is not installed: `pip install py-spy`")
    options.py_spy.mkdir(parents=True, exist_ok=True)
    output = options.py_spy / f"{re.sub(r'[^0-9A-Za-z]+', '_', name)}.txt"
    return subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(server.pid),
            "--nonblocking",
            "--rate",
            "200",
            "--format",
            "raw",
            "--duration",
            str(round(options.seconds + 2)),
            "-o",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def warm_up(
    worker: WorkerHandle, server: ServerProcess, scenario: Scenario, options: Options
) -> None:
    """One post per neighbourhood, awaited by every subscriber: proof that all are live."""
    wanted = Counter(member.neighbourhood_id for member in scenario.subscribers)
    authors = {member.neighbourhood_id: member for member in scenario.authors}
    posts = await publish(
        server.http_url, list(authors.values()), count=len(authors), interval_s=0.01
    )
    expected = sum(wanted[post.neighbourhood_id] for post in posts if post.post_id)
    got = await worker.call("await", {"count": expected, "timeout_s": WARM_UP_TIMEOUT_S})
    if got < expected:
        raise RuntimeError(f"warm-up: {got} of {expected} deliveries; see {server.log}")
    await worker.call("reset")


async def run_scenario(url: str, scenario: Scenario, options: Options, log: Path) -> ScenarioResult:
    async with running_server(url, log, **server_settings(scenario, options)) as server:
        worker = WorkerHandle()
        try:
            await asyncio.sleep(1.0)
            rss_before = rss_kib(server.pid)
            members = [(m.token, m.neighbourhood_gid) for m in scenario.subscribers]
            arguments = {
                "url": server.ws_url,
                "members": members,
                "compression": options.compression,
            }
            failures: list[str] = await worker.call("open", arguments)
            if failures:
                raise RuntimeError(f"subscriptions failed to open: {failures}; see {log}")
            await asyncio.sleep(SETTLE_S)
            rss_idle = rss_kib(server.pid)
            async with raw_listener(url) as raw:
                await warm_up(worker, server, scenario, options)
                raw.reset()
                wanted = Counter(member.neighbourhood_id for member in scenario.subscribers)
                profiler = start_py_spy(server, options, scenario.name) if options.py_spy else None
                before = machine_counters(server.pid, worker.pid)
                published: list[Published] = await publish(
                    server.http_url,
                    scenario.authors,
                    count=options.posts,
                    interval_s=options.interval_s,
                )
                expected = sum(wanted[p.neighbourhood_id] for p in published if p.post_id)
                await worker.call("await", {"count": expected, "timeout_s": options.grace_s})
                after = machine_counters(server.pid, worker.pid)
                if profiler is not None:
                    profiler.wait(timeout=options.seconds + 60)
                raw_arrivals, raw_titles = dict(raw.arrivals), dict(raw.titles)
            collected = await worker.call("collect")
        finally:
            await worker.stop()
    return analyse(
        scenario.name,
        subscribers=[m.neighbourhood_id for m in scenario.subscribers],
        published=published,
        deliveries=collected["deliveries"],
        closed=collected["closed"],
        errors=collected["errors"],
        raw_arrivals=raw_arrivals,
        raw_titles=raw_titles,
        idle_kib=(rss_idle - rss_before) / len(scenario.subscribers),
        machine=Machine(*(b - a for a, b in zip(before, after, strict=True))),
    )


def machine_counters(server_pid: int, worker_pid: int) -> tuple[float, float, float, float]:
    """(server CPU, server run-queue wait, subscribers' CPU, wall clock), in seconds."""
    return (
        process_cpu_s(server_pid) or 0.0,
        run_queue_wait_s(server_pid),
        process_cpu_s(worker_pid) or 0.0,
        time.monotonic(),
    )


async def run_all(url: str, population: Population, options: Options) -> list[ScenarioResult]:
    logs = Path(tempfile.mkdtemp(prefix="voisinage-bench-live-"))
    return [
        await run_scenario(url, scenario, options, logs / f"server-{number}.log")
        for number, scenario in enumerate(scenarios(population, options))
    ]


def measure(url: str, console: Console, settings: Settings, options: Options) -> None:
    """Both scenarios on the France profile at `url`, then the tables."""
    raise_open_file_limit()
    console.print(
        f"live posts: {options.subscribers:,} WebSocket subscribers per scenario, "
        f"{options.posts} posts over {options.seconds:g} s…"
    )
    population = uvloop.run(
        populate(url, crowd=options.accounts, neighbourhoods=options.neighbourhoods)
    )
    try:
        results = uvloop.run(run_all(url, population, options))
        crowd = population.crowd
        members = [crowd[i % len(crowd)] for i in range(options.subscribers)]
        cpu = (
            uvloop.run(live_cpu.measure(url, settings, members, events=options.cpu_events))
            if options.cpu_events
            else []
        )
    finally:
        uvloop.run(clean_up(url))
    print_report(console, results, posts=options.posts, interval_ms=options.interval_ms)
    if cpu:
        print_cpu(console, cpu, subscribers=options.subscribers)


def print_cpu(console: Console, figures: list[live_cpu.CpuFigures], *, subscribers: int) -> None:
    """The in-process figure: CPU per delivery, shared rendering against Strawberry's own."""
    shared, stock = figures
    console.print(
        f"in process, {subscribers:,} subscribers on 1 nbhd, {shared.deliveries:,} deliveries "
        f"(no sockets): CPU per delivery {shared.cpu_us_per_delivery:.0f} µs shared "
        f"(api.fastpaths.fanout) vs {stock.cpu_us_per_delivery:.0f} µs per-subscriber execution "
        f"({stock.cpu_us_per_delivery / shared.cpu_us_per_delivery:.1f}×); wall "
        f"{shared.wall_us_per_delivery:.0f} vs {stock.wall_us_per_delivery:.0f} µs",
        highlight=False,
    )


def run(url: str, console: Console, settings: Settings) -> None:
    """`python -m bench subscriptions`: full size, on the benchmarks' database."""
    measure(url, console, settings, Options())


def main(
    subscribers: Annotated[
        int, typer.Option(min=1, help="WebSocket subscribers per scenario")
    ] = Options.subscribers,
    seconds: Annotated[
        float, typer.Option(min=1, help="How long posts are created")
    ] = Options.seconds,
    interval_ms: Annotated[
        int, typer.Option(min=1, help="Time between two posts")
    ] = Options.interval_ms,
    neighbourhoods: Annotated[
        int, typer.Option(min=1, help="Neighbourhoods of the spread scenario")
    ] = Options.neighbourhoods,
    accounts: Annotated[
        int, typer.Option(min=1, help="Accounts sharing the one neighbourhood")
    ] = Options.accounts,
    scenario: Annotated[str, typer.Option(help="one, spread or both")] = Options.scenario,
    compression: Annotated[
        bool, typer.Option(help="Offer permessage-deflate, as browsers do")
    ] = Options.compression,
    grace: Annotated[
        float, typer.Option(help="Seconds to wait for late deliveries")
    ] = Options.grace_s,
    py_spy: Annotated[
        Path | None, typer.Option(help="Profile the server with py-spy into this directory")
    ] = None,
    cpu_events: Annotated[
        int, typer.Option(min=0, help="Events of the in-process CPU measure (0: skip it)")
    ] = Options.cpu_events,
) -> None:
    """Delivery latency, completeness and memory of `postCreated`, with a raw LISTEN baseline."""
    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"--scenario must be one of {', '.join(SCENARIOS)}")
    options = Options(
        subscribers,
        seconds,
        interval_ms,
        neighbourhoods,
        accounts,
        scenario,
        compression,
        grace,
        py_spy,
        cpu_events,
    )
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    settings = Settings.from_env()
    with bench_database(settings, console) as url:
        measure(url, console, settings, options)


if __name__ == "__main__":
    typer.run(main)

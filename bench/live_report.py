"""Figures of the live-posts benchmark: from raw stamps to the issue's table.

All times are monotonic seconds from one machine-wide clock; latencies are shown in ms. The raw
column is the plain LISTEN connection that received the same NOTIFY as the server.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console

from bench.live_traffic import Published
from bench.results import Measure, percentile, results_table

TARGET_P99_MS = 250.0
TARGET_IDLE_KIB = 50.0


@dataclass(frozen=True, slots=True)
class Percentiles:
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values_s: Sequence[float]) -> Percentiles:
        """Nearest-rank percentiles in ms (NaN for no values)."""
        if not values_s:
            return cls(math.nan, math.nan, math.nan)
        return cls(
            percentile(values_s, 0.50) * 1000,
            percentile(values_s, 0.99) * 1000,
            max(values_s) * 1000,
        )


@dataclass(frozen=True, slots=True)
class Machine:
    """What the server process and the subscribers' process cost while posts were published."""

    server_cpu_s: float
    server_wait_s: float
    """Time the server's event loop was runnable but had no CPU (other load on the machine)."""
    client_cpu_s: float
    wall_s: float


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    posts: int
    failed_posts: int
    failures: Counter[tuple[str, bool]]
    """createPost errors by (error, whether the post was committed and announced all the same)."""
    expected: int
    delivered: int
    duplicates: int
    strays: int
    """Deliveries of a post to a subscriber of another neighbourhood (must be 0)."""
    closed: Counter[int]
    errors: list[str]
    from_response: Percentiles
    raw_from_response: Percentiles
    from_request: Percentiles
    raw_from_request: Percentiles
    after_raw: Percentiles
    raw_seen: int
    committed: int
    """Posts the raw listener saw: every post committed, whatever createPost answered."""
    idle_kib: float
    machine: Machine


def analyse(
    name: str,
    *,
    subscribers: list[int],
    published: list[Published],
    deliveries: list[list[tuple[int, float]]],
    closed: list[int | None],
    errors: list[str],
    raw_arrivals: dict[int, float],
    raw_titles: dict[str, int],
    idle_kib: float,
    machine: Machine,
) -> ScenarioResult:
    """`subscribers[i]` is the neighbourhood subscription i follows; `deliveries[i]` its stamps."""
    posts = {p.post_id: p for p in published if p.post_id is not None}
    unconfirmed = set(raw_arrivals) - set(posts)
    wanted = Counter(subscribers)
    from_response, from_request, after_raw = [], [], []
    duplicates = strays = 0
    for neighbourhood_id, received in zip(subscribers, deliveries, strict=True):
        seen: set[int] = set()
        for post_id, arrived in received:
            post = posts.get(post_id)
            if post is None or post.neighbourhood_id != neighbourhood_id:
                strays += post_id not in unconfirmed
                continue
            if post_id in seen:
                duplicates += 1
                continue
            seen.add(post_id)
            from_response.append(arrived - post.responded)
            from_request.append(arrived - post.sent)
            if post_id in raw_arrivals:
                after_raw.append(arrived - raw_arrivals[post_id])
    raw = [(raw_arrivals[i], p) for i, p in posts.items() if i in raw_arrivals]
    return ScenarioResult(
        name=name,
        posts=len(published),
        failed_posts=len(published) - len(posts),
        failures=Counter((p.error or "?", p.title in raw_titles) for p in published if p.error),
        expected=sum(wanted[p.neighbourhood_id] for p in posts.values()),
        delivered=len(from_response),
        duplicates=duplicates,
        strays=strays,
        closed=Counter(code for code in closed if code is not None),
        errors=errors,
        from_response=Percentiles.of(from_response),
        raw_from_response=Percentiles.of([t - p.responded for t, p in raw]),
        from_request=Percentiles.of(from_request),
        raw_from_request=Percentiles.of([t - p.sent for t, p in raw]),
        after_raw=Percentiles.of(after_raw),
        raw_seen=len(raw),
        committed=len(raw_arrivals),
        idle_kib=idle_kib,
        machine=machine,
    )


def ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:,.1f} ms"


def measures(r: ScenarioResult) -> list[Measure]:
    """The issue's figures; the p99 target is also checked from the commit (the raw NOTIFY),
    because an overloaded server delays the createPost response as much as the deliveries."""
    confirmed = r.posts - r.failed_posts
    return [
        Measure(
            name="createPost answered with the post",
            ours=f"{confirmed:,} of {r.posts:,}",
            raw="",
            ratio=None,
            target="every post",
            met=r.failed_posts == 0,
        ),
        Measure(
            name="deliveries of those posts",
            ours=f"{r.delivered:,} of {r.expected:,}",
            raw=f"{r.raw_seen:,} of {confirmed:,}",
            ratio=None,
            target="every event",
            met=r.delivered == r.expected and not (r.strays or r.duplicates or r.closed),
        ),
        latency("from createPost response, p50", r.from_response.p50, r.raw_from_response.p50),
        latency(
            "from createPost response, p99",
            r.from_response.p99,
            r.raw_from_response.p99,
            target=TARGET_P99_MS,
        ),
        latency("from createPost response, max", r.from_response.max, r.raw_from_response.max),
        latency(
            "from createPost request, p50", r.from_request.p50, r.raw_from_request.p50, ratio=True
        ),
        latency(
            "from createPost request, p99", r.from_request.p99, r.raw_from_request.p99, ratio=True
        ),
        latency("from the raw NOTIFY (≈ commit), p50", r.after_raw.p50, 0.0),
        latency("from the raw NOTIFY (≈ commit), p99", r.after_raw.p99, 0.0, target=TARGET_P99_MS),
        Measure(
            name="server memory per idle subscription",
            ours=f"{r.idle_kib:.1f} KiB",
            raw="—",
            ratio=None,
            target=f"≤ {TARGET_IDLE_KIB:.0f} KiB",
            met=r.idle_kib <= TARGET_IDLE_KIB,
        ),
        Measure(
            name="server CPU per committed post (createPost + fan-out)",
            ours=f"{r.machine.server_cpu_s / max(r.committed, 1) * 1000:,.1f} ms",
            raw="—",
            ratio=None,
        ),
    ]


def latency(
    name: str, ours: float, raw: float, *, target: float | None = None, ratio: bool = False
) -> Measure:
    return Measure(
        name=name,
        ours=ms(ours),
        raw=ms(raw),
        ratio=ours / raw if ratio and raw > 0 and not math.isnan(ours) else None,
        target="" if target is None else f"≤ {target:.0f} ms",
        met=None if target is None else ours <= target,
    )


def print_report(
    console: Console, results: list[ScenarioResult], *, posts: int, interval_ms: int
) -> None:
    for r in results:
        title = (
            f"postCreated, {r.name}: {posts} posts, one every {interval_ms} ms "
            "(raw = a psycopg LISTEN on the same channel)"
        )
        console.print(results_table(title, measures(r)))
        m = r.machine
        console.print(
            f"server: {m.server_cpu_s / m.wall_s:.0%} of a CPU, runnable but waiting for one "
            f"{m.server_wait_s / m.wall_s:.0%} of the time; subscribers' process: "
            f"{m.client_cpu_s / m.wall_s:.0%} of a CPU ({m.wall_s:.1f} s measured)",
            highlight=False,
        )
        problems = []
        for (error, committed), count in sorted(r.failures.items()):
            problems.append(
                f"{count} createPost failed with {error}"
                + (", the post committed and announced all the same" if committed else "")
            )
        if r.duplicates or r.strays:
            problems.append(f"{r.duplicates} duplicates, {r.strays} to the wrong neighbourhood")
        if r.closed:
            problems.append(f"sockets closed by the server: {dict(r.closed)}")
        problems.extend(r.errors)
        if problems:
            console.print("[bold red]problems:[/] " + "; ".join(problems), highlight=False)

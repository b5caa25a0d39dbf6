"""The four proximity searches under load: GraphQL over HTTP against the same SQL run raw.

For nearestLenders (10 items with their lender's name and neighbourhood name), gardensNear,
postsNear and carpoolMatches, at 1, 8 and 32 concurrent clients:
- **ours**: the real server (`python -m api serve --no-seed`, WORKERS=2 and DB_POOL_SIZE=4 as
  in docker-compose.yml, rate limits off, LOG_LEVEL=WARNING) driven by `wrk` with keep-alive
  connections (httpx in asyncio tasks when wrk is missing);
- **raw SQL**: the very statements the API sent for the same requests (captured in-process
  from SQLAlchemy, `bench.proximity_capture`), replayed through a psycopg pool of as many
  autocommit connections as clients.
Query points are the public locations of 300 random households (seeded); a carpool search
goes from such a point to the destination of the trip leaving nearest to it, over the next
week. Below each table: what one request sends to PostgreSQL, and the EXPLAIN (ANALYZE) of its
proximity statement, which must use its GiST index. Last, a cProfile of 2,000 in-process
nearestLenders requests says what the remaining cost is made of.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from rich.console import Console
from rich.table import Table

from api.runtime import libpq_url
from api.settings import Settings
from bench.proximity_capture import Captured, capture, profile
from bench.proximity_load import LoadResult, graphql_load, has_wrk, process_tree, raw_load
from bench.registration import running_server
from bench.results import Measure, load_caption, results_table
from geo.coords import LngLat
from geo.distance import great_circle_m

POINTS = 300
SEED = 20_261_127
CLIENTS = (1, 8, 32)
SERVER_POOL_SIZE = 4
PROFILED_REQUESTS = 2_000
TARGET_P50_MS = 3.0
TARGET_PER_SECOND = 1_000.0
PLAN_WIDTH = 150
"""EXPLAIN lines are cut there: the carpool statement repeats its geography literals a lot."""
SERVER = {
    "WORKERS": "2",
    "DB_POOL_SIZE": str(SERVER_POOL_SIZE),
    "RATE_LIMIT_PER_MINUTE": "0",
    "PROXIMITY_RATE_LIMIT_PER_MINUTE": "0",
    "LOG_LEVEL": "WARNING",
    "LOG_JSON": "true",
}
"""The production settings of docker-compose.yml, rate limits off (0), warnings only."""

LENDERS = """query NearestLenders($near: LocationInput!) {
  nearestLenders(near: $near, first: 10) {
    edges { distanceMeters node { id title category lender { name neighbourhood { name } } } }
  }
}"""
GARDENS = """query GardensNear($near: LocationInput!) {
  gardensNear(near: $near, first: 10) {
    edges { distanceMeters node { id name kind plotsFree } }
  }
}"""
POSTS = """query PostsNear($near: LocationInput!) {
  postsNear(near: $near, first: 10) {
    edges { distanceMeters node { postId kind title neighbourhoodName } }
  }
}"""
CARPOOLS = """query CarpoolMatches(
  $from: LocationInput!, $to: LocationInput!, $after: DateTime!, $before: DateTime!
) {
  carpoolMatches(from: $from, to: $to, departAfter: $after, departBefore: $before, first: 10) {
    edges { addedDistanceMeters node { id seatsTotal } departures { departsAt seatsLeft } }
  }
}"""
SAMPLE = "SELECT ST_X(public_location), ST_Y(public_location) FROM households WHERE id = ANY(%s)"
TRIP_NEAR = """
SELECT ST_X(destination), ST_Y(destination) FROM carpools
 ORDER BY origin::geography <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT 1
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Trip:
    start: LngLat
    end: LngLat
    after: datetime


def location(point: LngLat) -> dict[str, float]:
    return {"lng": point.lng, "lat": point.lat}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProximityQuery:
    name: str
    document: str
    indexes: tuple[str, ...]
    """The GiST indexes its proximity statement may use (at least one, and no Seq Scan)."""
    table: str
    variables: Callable[[Trip], dict[str, Any]]
    target: bool = False
    """Whether the issue's latency and throughput targets apply."""

    def body(self, trip: Trip) -> dict[str, Any]:
        return {"query": self.document, "variables": self.variables(trip)}


QUERIES = (
    ProximityQuery(
        name="nearestLenders",
        document=LENDERS,
        indexes=("ix_items_public_location_geog",),
        table="items",
        variables=lambda trip: {"near": location(trip.start)},
        target=True,
    ),
    ProximityQuery(
        name="gardensNear",
        document=GARDENS,
        indexes=("ix_gardens_public_location_geog",),
        table="gardens",
        variables=lambda trip: {"near": location(trip.start)},
    ),
    ProximityQuery(
        name="postsNear",
        document=POSTS,
        indexes=("ix_posts_location_geog",),
        table="posts",
        variables=lambda trip: {"near": location(trip.start)},
    ),
    ProximityQuery(
        name="carpoolMatches",
        document=CARPOOLS,
        indexes=(
            "ix_carpools_public_origin_geog",
            "ix_carpools_public_destination_geog",
            "ix_carpools_public_route_geog",
        ),
        table="carpools",
        variables=lambda trip: {
            "from": location(trip.start),
            "to": location(trip.end),
            "after": trip.after.isoformat(),
            "before": (trip.after + timedelta(days=7)).isoformat(),
        },
    ),
)


def sample_trips(libpq: str) -> list[Trip]:
    """Public points of random households, each with the destination of the trip leaving
    nearest to it (kept when 1 km or more away, as the API requires of a trip)."""
    ids = np.random.default_rng(SEED).choice(np.arange(1, 1_000_001), 2 * POINTS, replace=False)
    after = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    trips = []
    with psycopg.connect(libpq, autocommit=True) as conn:
        for lng, lat in conn.execute(SAMPLE, ([int(i) for i in ids],)).fetchall():
            start = LngLat(lng=float(lng), lat=float(lat))
            row = conn.execute(TRIP_NEAR, (start.lng, start.lat)).fetchone()
            if row is None:
                continue
            end = LngLat(lng=float(row[0]), lat=float(row[1]))
            if 1_000 <= great_circle_m(start, end) <= 500_000:
                trips.append(Trip(start=start, end=end, after=after))
    return trips[:POINTS]


def explain(libpq: str, query: ProximityQuery, captured: Captured) -> tuple[str, bool]:
    """EXPLAIN (ANALYZE, BUFFERS) of the request's statement on the query's table, run a second
    time on the same connection (the first pays for a new backend's catalogue caches)."""
    statements = [
        (sql, params)
        for request in captured.requests
        for sql, params in request
        if f"FROM {query.table}" in sql
    ]
    sql, params = statements[0]
    with psycopg.connect(libpq, autocommit=True) as conn:
        for _ in range(2):
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()
    lines = [str(line[0]) for line in plan]
    text = "\n".join(
        line if len(line) <= PLAN_WIDTH else line[: PLAN_WIDTH - 1] + "…" for line in lines
    )
    full = "\n".join(lines)
    uses = (
        any(index in full for index in query.indexes) and f"Seq Scan on {query.table}" not in full
    )
    return text, uses


def measures(query: ProximityQuery, results: dict[tuple[int, str], LoadResult]) -> list[Measure]:
    rows: list[Measure] = []
    for clients in CLIENTS:
        ours, raw = results[(clients, "graphql")], results[(clients, "raw")]
        label = f"{clients} client{'s' if clients > 1 else ''}"
        p50_target = query.target and clients == 1
        rate_target = query.target and clients == 8
        rows += [
            Measure(
                name=f"{label}: p50",
                ours=f"{ours.p50_ms:.2f} ms",
                raw=f"{raw.p50_ms:.2f} ms",
                ratio=ours.p50_ms / raw.p50_ms,
                target=f"≤ {TARGET_P50_MS:.0f} ms" if p50_target else "",
                met=ours.p50_ms <= TARGET_P50_MS if p50_target else None,
            ),
            Measure(
                name="  p99",
                ours=f"{ours.p99_ms:.2f} ms",
                raw=f"{raw.p99_ms:.2f} ms",
                ratio=ours.p99_ms / raw.p99_ms,
            ),
            Measure(
                name="  requests per second",
                ours=f"{ours.per_second:,.0f}",
                raw=f"{raw.per_second:,.0f}",
                ratio=ours.per_second / raw.per_second,
                target=f"≥ {TARGET_PER_SECOND:,.0f}" if rate_target else "",
                met=ours.per_second >= TARGET_PER_SECOND if rate_target else None,
            ),
        ]
        if ours.cpu_ms_per_request is not None and raw.cpu_ms_per_request is not None:
            rows.append(
                Measure(
                    name="  CPU per request (app + database)",
                    ours=f"{ours.cpu_ms_per_request:.2f} ms",
                    raw=f"{raw.cpu_ms_per_request:.2f} ms",
                    ratio=ours.cpu_ms_per_request / raw.cpu_ms_per_request,
                )
            )
        if ours.errors:
            rows.append(
                Measure(name="  failed requests", ours=str(ours.errors), raw="", ratio=None)
            )
    return rows


def profile_table(title: str, buckets_ms: dict[str, float], total_ms: float) -> Table:
    table = Table(title=title, caption=load_caption(), header_style="bold")
    table.add_column("where the time goes")
    table.add_column("ms per request", justify="right")
    table.add_column("share", justify="right")
    for name, value in buckets_ms.items():
        table.add_row(name, f"{value:.3f}", f"{100 * value / total_ms:.0f} %")
    table.add_row("[bold]one request (unprofiled, in-process)", f"[bold]{total_ms:.3f}", "100 %")
    return table


def run(url: str, console: Console, settings: Settings) -> None:
    libpq = libpq_url(url)
    in_process = replace(
        settings,
        database_url=url,
        db_pool_size=SERVER_POOL_SIZE,
        rate_limit_per_minute=0,
        proximity_rate_limit_per_minute=0,
        log_level="WARNING",
    )
    trips = sample_trips(libpq)
    console.print(f"{len(trips)} query points; capturing each request's SQL in-process…")
    bodies = {query.name: [query.body(trip) for trip in trips] for query in QUERIES}
    captured = {
        query.name: asyncio.run(capture(in_process, bodies[query.name], query.name))
        for query in QUERIES
    }
    results: dict[str, dict[tuple[int, str], LoadResult]] = {q.name: {} for q in QUERIES}
    client = "wrk" if has_wrk() else "httpx (wrk not installed)"
    with tempfile.TemporaryFile() as log:
        try:
            with running_server(url, log, SERVER) as server:
                pids = process_tree(server.pid)
                for query in QUERIES:
                    lines = [json.dumps(body) for body in bodies[query.name]]
                    for clients in CLIENTS:
                        console.print(f"{query.name}: {clients} clients over HTTP ({client})…")
                        results[query.name][(clients, "graphql")] = graphql_load(
                            server.base, pids, libpq, lines, clients
                        )
        except Exception:
            log.seek(0)
            console.print(log.read().decode(errors="replace")[-3000:], markup=False)
            raise
    for query in QUERIES:
        for clients in CLIENTS:
            console.print(f"{query.name}: {clients} clients in raw SQL (psycopg pool)…")
            results[query.name][(clients, "raw")] = raw_load(
                libpq, captured[query.name].requests, clients
            )
    for query in QUERIES:
        report(console, query, results[query.name], captured[query.name], libpq)
    console.print(f"Profiling {PROFILED_REQUESTS:,} nearestLenders requests in-process…")
    found = asyncio.run(profile(in_process, bodies["nearestLenders"], requests=PROFILED_REQUESTS))
    console.print(
        profile_table(
            f"nearestLenders in-process: where one request's time goes ({found.profiler})",
            found.buckets_ms,
            found.wall_ms,
        )
    )
    console.print(
        f"In-process, unprofiled: {found.wall_ms:.2f} ms and {found.cpu_ms:.2f} ms of this "
        "process's CPU per request (app + test client; the database's CPU is not in it); "
        f"a bare {{ __typename }} takes {found.floor_ms[0]:.2f} ms ({found.floor_ms[1]:.2f} ms "
        "CPU) through the same stack."
    )
    console.print("Functions with the most own time (ms per request):")
    for name, value in found.top:
        console.print(f"  {value:7.3f}  {name}", markup=False, highlight=False)


def report(
    console: Console,
    query: ProximityQuery,
    results: dict[tuple[int, str], LoadResult],
    captured: Captured,
    libpq: str,
) -> None:
    title = f"{query.name}: GraphQL over HTTP (2 workers) vs the same SQL in psycopg"
    console.print(results_table(title, measures(query, results)))
    statements = sum(len(request) for request in captured.requests) / len(captured.requests)
    console.print(
        f"Per request the API sent {statements:.1f} statements over {captured.checkouts:.1f} "
        f"pool checkouts (each checked by a socket poll, no round trip) with {captured.transactions:.1f} "
        "BEGIN…ROLLBACK; the raw side sends the same statements on autocommit connections."
    )
    plan, uses_index = explain(libpq, query, captured)
    verdict = "[green]✓ served by" if uses_index else "[red]✗ not served by"
    indexes = " / ".join(query.indexes)
    console.print(f"EXPLAIN of its {query.table} statement: {verdict} {indexes}")
    console.print(plan, markup=False, highlight=False)

"""Closed-loop load at a given concurrency: GraphQL over HTTP (wrk, else httpx) and raw psycopg.

Both sides replay the same captured requests (`bench.proximity_capture`): HTTP bodies for the
server, and for psycopg the exact statements and parameters the resolvers sent for the same
points. Each run has a warm-up, then `DURATION_S` of measurement; latencies are per request
(sent to answered), throughput is completed requests over the measured time, and CPU is that
of the serving side (server processes + their database backends for GraphQL; this process +
its backends for raw SQL), per request.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.results import percentile, process_cpu_s

DURATION_S = 8.0
WARM_UP_S = 2.0
RAW_APPLICATION = "bench-proximity-raw"
WRK_SCRIPT = """
local bodies = {}
for line in io.lines(os.getenv("PROXIMITY_BODIES")) do bodies[#bodies + 1] = line end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function setup(thread)
  thread:set("offset", math.random(1, #bodies))
end
function init(args)
  counter = tonumber(offset) or 0
end
function request()
  counter = counter + 1
  return wrk.format(nil, "/graphql", nil, bodies[(counter % #bodies) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_us": %d, "bad_status": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
Statement = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadResult:
    """One measured run; latencies in milliseconds."""

    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    cpu_s: float | None
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float | None:
        return None if self.cpu_s is None else 1000 * self.cpu_s / max(self.requests, 1)


def process_tree(root: int) -> list[int]:
    """`root` and every descendant (uvicorn's worker processes), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(parents.get(pid, []))
    return found


def cpu_of(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds of each readable process (one that has exited is left out)."""
    found = {pid: process_cpu_s(pid) for pid in pids}
    return {pid: value for pid, value in found.items() if value is not None}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float | None:
    """CPU between two readings; a process first seen at the end (a connection the pool
    opened meanwhile) counts in full. None when /proc gave nothing (a remote database)."""
    if not after:
        return None
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def client_backends(libpq: str, *, application: str | None = None) -> list[int]:
    """Backends of other clients on the bench database (all, or one application's)."""
    with psycopg.connect(libpq, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
            "AND (%s::text IS NULL OR application_name = %s)",
            (application, application),
        ).fetchall()
    return [int(row[0]) for row in rows]


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(base: str, bodies: Sequence[str], clients: int, seconds: float) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as folder:
        script, lines = Path(folder) / "post.lua", Path(folder) / "bodies.jsonl"
        script.write_text(WRK_SCRIPT)
        lines.write_text("\n".join(bodies) + "\n")
        command = [
            "wrk",
            f"-t{min(2, clients)}",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ]
        output = subprocess.run(
            command,
            env={**os.environ, "PROXIMITY_BODIES": str(lines)},
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    report: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return report


async def httpx_clients(
    base: str, bodies: Sequence[str], clients: int, seconds: float
) -> tuple[list[float], int, float]:
    """Fallback without wrk: `clients` keep-alive connections, each in its own task."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def one(offset: int) -> None:
            nonlocal errors
            index = offset
            while time.perf_counter() < deadline:
                body = bodies[index % len(bodies)]
                index += 1
                started = time.perf_counter()
                response = await client.post(
                    "/graphql", content=body, headers={"content-type": "application/json"}
                )
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one(offset * 7) for offset in range(clients)))
    return latencies, errors, time.perf_counter() - started


def graphql_load(
    base: str, server_pids: Sequence[int], libpq: str, bodies: Sequence[str], clients: int
) -> LoadResult:
    """The server under `clients` concurrent keep-alive connections, after a warm-up."""
    wrk = has_wrk()
    if wrk:
        run_wrk(base, bodies, clients, WARM_UP_S)
    else:
        asyncio.run(httpx_clients(base, bodies, clients, WARM_UP_S))
    before = cpu_of([*server_pids, *client_backends(libpq)])
    if wrk:
        report = run_wrk(base, bodies, clients, DURATION_S)
        after = cpu_of([*server_pids, *client_backends(libpq)])
        return LoadResult(
            p50_ms=report["p50_us"] / 1000,
            p99_ms=report["p99_us"] / 1000,
            requests=report["requests"],
            seconds=report["duration_us"] / 1e6,
            cpu_s=cpu_spent(before, after),
            errors=report["bad_status"] + report["socket_errors"],
        )
    latencies, errors, seconds = asyncio.run(httpx_clients(base, bodies, clients, DURATION_S))
    after = cpu_of([*server_pids, *client_backends(libpq)])
    return LoadResult(
        p50_ms=1000 * percentile(latencies, 0.5),
        p99_ms=1000 * percentile(latencies, 0.99),
        requests=len(latencies),
        seconds=seconds,
        cpu_s=cpu_spent(before, after),
        errors=errors,
    )


async def replay(
    pool: AsyncConnectionPool[Any],
    requests: Sequence[Sequence[Statement]],
    clients: int,
    seconds: float,
) -> tuple[list[float], float]:
    """Each client replays requests (a connection per request, as a pooled service does)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one(offset: int) -> None:
        index = offset
        while time.perf_counter() < deadline:
            statements = requests[index % len(requests)]
            index += 1
            started = time.perf_counter()
            async with pool.connection() as conn:
                for sql, params in statements:
                    cursor = await conn.execute(sql, params)
                    await cursor.fetchall()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(offset * 7) for offset in range(clients)))
    return latencies, time.perf_counter() - started


async def raw_load_async(
    libpq: str, requests: Sequence[Sequence[Statement]], clients: int
) -> LoadResult:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq,
        min_size=clients,
        max_size=clients,
        kwargs={"autocommit": True, "application_name": RAW_APPLICATION},
        open=False,
    )
    await pool.open(wait=True)
    try:
        await replay(pool, requests, clients, WARM_UP_S)
        backends = client_backends(libpq, application=RAW_APPLICATION)
        before = cpu_of(backends)
        process_before = time.process_time()
        latencies, seconds = await replay(pool, requests, clients, DURATION_S)
        database_s = cpu_spent(before, cpu_of(backends))
        process_s = time.process_time() - process_before
    finally:
        await pool.close()
    return LoadResult(
        p50_ms=1000 * percentile(latencies, 0.5),
        p99_ms=1000 * percentile(latencies, 0.99),
        requests=len(latencies),
        seconds=seconds,
        cpu_s=None if database_s is None else database_s + process_s,
    )


def raw_load(libpq: str, requests: Sequence[Sequence[Statement]], clients: int) -> LoadResult:
    """The captured statements through a psycopg pool of `clients` autocommit connections."""
    return asyncio.run(raw_load_async(libpq, requests, clients))

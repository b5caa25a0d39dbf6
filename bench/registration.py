"""One household registration, end to end over HTTP, against the raw SQL it boils down to.

The real server (`python -m api serve --no-seed`) runs on the France profile; 500 signed-in
accounts each register once, sequentially, through `registerHousehold` on one keep-alive httpx
connection, at the homes of existing households (so ~80 % land in a commune polygon, the rest in
an H3 cell, as in the profile). The raw path does the same work with psycopg and hand-written
SQL: shared boundary lock, covering-polygon SELECT (cell fallback), INSERT, account update,
COMMIT. Everything the benchmark adds (accounts, households, cells) is deleted at the end.

The EXPLAIN printed below the table shows the covering-polygon query served by the GiST index
on `neighbourhoods.boundary`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

import httpx
import psycopg
from rich.console import Console

from api.runtime import libpq_url
from api.settings import PROJECT_ROOT, Settings
from bench.results import Measure, percentile, process_cpu_s, results_table
from db.engine import create_engine
from db.queries.accounts import create_account, issue_token
from db.queries.neighbourhoods import BOUNDARY_LOCK_KEY
from geo.cells import cell_to_multipolygon, lnglat_to_cell
from geo.coords import LngLat
from geo.privacy import displace

REGISTRATIONS = 500
WARM_UP = 20
TARGET_P50_MS = 10.0
STARTUP_TIMEOUT_S = 60.0
EMAIL_DOMAIN = "bench-registration.invalid"
VERSAILLES = LngLat(lng=2.1301, lat=48.8049)

REGISTER = """
mutation Register($name: String!, $lng: Float!, $lat: Float!) {
  registerHousehold(input: {name: $name, location: {lng: $lng, lat: $lat}}) {
    __typename
    ... on RegisterHouseholdSuccess { household { id } neighbourhood { id kind } }
  }
}
"""

HOMES = "SELECT ST_X(home_location), ST_Y(home_location) FROM households WHERE id % 1009 = 0"
HIGH_WATER = "SELECT (SELECT max(id) FROM households), (SELECT max(id) FROM neighbourhoods)"
COVERING = """
SELECT id FROM neighbourhoods
 WHERE kind = 'POLYGON' AND ST_Covers(boundary, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
 ORDER BY area_m2, created_at, id LIMIT 1
"""
CELL = "SELECT id FROM neighbourhoods WHERE kind = 'H3_CELL' AND h3_cell = %s"
NEW_CELL = """
INSERT INTO neighbourhoods (name, kind, h3_cell, boundary)
VALUES ('Secteur ' || %s, 'H3_CELL', %s, ST_Multi(ST_GeomFromText(%s, 4326)))
ON CONFLICT (h3_cell) WHERE kind = 'H3_CELL' DO NOTHING
"""
INSERT = """
INSERT INTO households (name, home_location, public_location, h3_cell, neighbourhood_id)
VALUES (%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), ST_SetSRID(ST_MakePoint(%s, %s), 4326),
        %s, %s)
RETURNING id
"""
ATTACH = "UPDATE accounts SET household_id = %s WHERE id = %s"


@dataclass(frozen=True, slots=True)
class Member:
    account_id: int
    token: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Server:
    base: str
    pid: int


@contextlib.contextmanager
def running_server(
    url: str, log: IO[bytes], overrides: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """`python -m api serve` on a free port; stopped (only this process) whatever happens.

    The rate limit is raised, not switched off, so its bookkeeping stays in the measured path
    while 520 requests a minute from one address stay allowed; `overrides` replace any of
    these settings (another benchmark's server).
    """
    port = free_port()
    environment = {  # the child inherits ours, as any process started from a shell would
        **os.environ,
        "DATABASE_URL": url,
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "LOG_LEVEL": "WARNING",
        "WORKERS": "1",
        **(overrides or {}),
    }
    command = [sys.executable, "-m", "api", "serve", "--no-seed", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def wait_until_healthy(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server was not healthy within {STARTUP_TIMEOUT_S:.0f} s")


async def create_members(url: str, count: int, label: str) -> list[Member]:
    """Signed-in accounts without a household, made directly in the database (no Argon2 wait)."""
    engine = create_engine(url, pool_size=1)
    members = []
    try:
        async with engine.begin() as conn:
            for index in range(count):
                account = await create_account(
                    conn,
                    email=f"{label}-{index}-{secrets.token_hex(4)}@{EMAIL_DOMAIN}",
                    password_hash="!unusable",
                    display_name=f"Bench {label} {index}",
                )
                assert account is not None
                token = secrets.token_urlsafe(32)
                await issue_token(conn, account.id, token, lifetime=timedelta(hours=1))
                members.append(Member(account.id, token))
    finally:
        await engine.dispose()
    return members


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds per registration (warm-up excluded) and the CPU seconds spent doing them by
    the application side and its database backends together (None if /proc is unreadable)."""

    seconds: list[float]
    cpu_s: float | None


def cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each process still readable (a pooled backend may come and go)."""
    values = {pid: process_cpu_s(pid) for pid in pids}
    return {pid: value for pid, value in values.items() if value is not None}


def cpu_between(before: dict[int, float], after: dict[int, float], server: int) -> float | None:
    """Summed over the processes readable at both ends; None without the server's own."""
    if server not in before or server not in after:
        return None
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def backends_of_others(url: str) -> list[int]:
    """The server's pooled connections: every other client backend on the bench database."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(row[0]) for row in rows]


def post_registration(client: httpx.Client, index: int, member: Member, home: LngLat) -> None:
    response = client.post(
        "/graphql",
        json={
            "query": REGISTER,
            "variables": {"name": f"Foyer bench {index}", "lng": home.lng, "lat": home.lat},
        },
        headers={"authorization": f"Bearer {member.token}"},
    )
    result = response.json()["data"]["registerHousehold"]
    if result["__typename"] != "RegisterHouseholdSuccess":
        raise RuntimeError(f"registration failed: {result}")


def register_over_http(
    server: Server, url: str, members: list[Member], homes: list[LngLat]
) -> Timings:
    """Request sent to response parsed, on one keep-alive connection, after a warm-up."""
    pairs = list(zip(members, homes, strict=True))
    timings = []
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for index, (member, home) in enumerate(pairs[:WARM_UP]):
            post_registration(client, index, member, home)
        pids = [server.pid, *backends_of_others(url)]
        cpu_before = cpu_of(pids)
        for index, (member, home) in enumerate(pairs[WARM_UP:], start=WARM_UP):
            started = time.perf_counter()
            post_registration(client, index, member, home)
            timings.append(time.perf_counter() - started)
        cpu_after = cpu_of(pids)
    return Timings(timings, cpu_between(cpu_before, cpu_after, server.pid))


def bare_over_http(server: Server, url: str, members: list[Member]) -> Timings:
    """`{ __typename }` with each member's bearer token: the generic request path (HTTP,
    middleware, token lookup, GraphQL) without the mutation, to tell the two costs apart."""
    timings = []
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for member in members[:WARM_UP]:
            post_bare(client, member)
        pids = [server.pid, *backends_of_others(url)]
        cpu_before = cpu_of(pids)
        for member in members[WARM_UP:]:
            started = time.perf_counter()
            post_bare(client, member)
            timings.append(time.perf_counter() - started)
        cpu_after = cpu_of(pids)
    return Timings(timings, cpu_between(cpu_before, cpu_after, server.pid))


def post_bare(client: httpx.Client, member: Member) -> None:
    response = client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"authorization": f"Bearer {member.token}"},
    )
    if response.json().get("data") != {"__typename": "Query"}:
        raise RuntimeError(f"bare request failed: {response.text[:300]}")


def register_raw(
    conn: psycopg.Connection[Any], member: Member, home: LngLat, resolution: int
) -> None:
    """The SQL of `db.queries.households.register_household` plus the account link, by hand."""
    cell = lnglat_to_cell(home, resolution)
    public = displace(home)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (BOUNDARY_LOCK_KEY,))
        row = conn.execute(COVERING, (home.lng, home.lat)).fetchone()
        if row is None:
            row = conn.execute(CELL, (cell,)).fetchone()
        if row is None:
            conn.execute(NEW_CELL, (cell, cell, cell_to_multipolygon(cell).wkt))
            row = conn.execute(CELL, (cell,)).fetchone()
        assert row is not None
        household = conn.execute(
            INSERT, ("Foyer bench", home.lng, home.lat, public.lng, public.lat, cell, row[0])
        ).fetchone()
        assert household is not None
        conn.execute(ATTACH, (household[0], member.account_id))


def register_over_sql(
    url: str, members: list[Member], homes: list[LngLat], resolution: int
) -> Timings:
    """The same registrations from this process, whose CPU time then counts as the app's."""
    pairs = list(zip(members, homes, strict=True))
    timings = []
    with psycopg.connect(libpq_url(url)) as conn:
        for member, home in pairs[:WARM_UP]:
            register_raw(conn, member, home, resolution)
        backend_row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert backend_row is not None
        backend = int(backend_row[0])
        backend_before, app_before = process_cpu_s(backend), time.process_time()
        for member, home in pairs[WARM_UP:]:
            started = time.perf_counter()
            register_raw(conn, member, home, resolution)
            timings.append(time.perf_counter() - started)
        backend_after, app_after = process_cpu_s(backend), time.process_time()
    if backend_before is None or backend_after is None:
        return Timings(timings, None)
    return Timings(timings, backend_after - backend_before + app_after - app_before)


def explain_covering(url: str) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        plan = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + COVERING, (VERSAILLES.lng, VERSAILLES.lat)
        ).fetchall()
    return "\n".join(str(line[0]) for line in plan)


def clean_up(url: str, households_before: int, neighbourhoods_before: int) -> None:
    """Leave the profile's row counts as they were, so the next run can reuse it.

    Every foreign key towards accounts and households is indexed (migration 0010), so these
    deletes find the rows pointing at the bench's accounts and households through indexes
    instead of scanning the 2M posts and 1M comments once per deleted row.
    """
    with psycopg.connect(libpq_url(url)) as conn:
        pattern = (f"%@{EMAIL_DOMAIN}",)
        conn.execute(
            "DELETE FROM access_tokens WHERE account_id IN "
            "(SELECT id FROM accounts WHERE email LIKE %s)",
            pattern,
        )
        conn.execute("UPDATE accounts SET household_id = NULL WHERE email LIKE %s", pattern)
        conn.execute("DELETE FROM accounts WHERE email LIKE %s", pattern)
        conn.execute("DELETE FROM households WHERE id > %s", (households_before,))
        conn.execute(
            "DELETE FROM neighbourhoods WHERE id > %s AND kind = 'H3_CELL'",
            (neighbourhoods_before,),
        )


def milliseconds(values: list[float], share: float) -> float:
    return 1000 * percentile(values, share)


def run(url: str, console: Console, settings: Settings) -> None:
    total = WARM_UP + REGISTRATIONS
    with psycopg.connect(libpq_url(url)) as conn:
        homes = [LngLat(lng=x, lat=y) for x, y in conn.execute(HOMES).fetchall()[:total]]
        households_before, neighbourhoods_before = conn.execute(HIGH_WATER).fetchone() or (0, 0)
    with tempfile.TemporaryFile() as log:
        try:
            http_members = asyncio.run(create_members(url, total, "http"))
            raw_members = asyncio.run(create_members(url, total, "raw"))
            console.print(f"{REGISTRATIONS} registrations over HTTP (GraphQL)…")
            with running_server(url, log) as server:
                bare = bare_over_http(server, url, http_members)
                http = register_over_http(server, url, http_members, homes)
            console.print(f"{REGISTRATIONS} registrations in raw SQL…")
            raw = register_over_sql(url, raw_members, homes, settings.h3_resolution)
        except Exception:
            log.seek(0)
            console.print(log.read().decode(errors="replace")[-3000:], markup=False)
            raise
        finally:
            clean_up(url, int(households_before), int(neighbourhoods_before))
    console.print(
        results_table("One registration: GraphQL over HTTP vs raw SQL", measures(http, raw, bare))
    )
    console.print("EXPLAIN of the covering-polygon query (a home in Versailles):")
    console.print(explain_covering(url), markup=False, highlight=False)


def measures(http: Timings, raw: Timings, bare: Timings) -> list[Measure]:
    p50, raw_p50 = milliseconds(http.seconds, 0.5), milliseconds(raw.seconds, 0.5)
    p99, raw_p99 = milliseconds(http.seconds, 0.99), milliseconds(raw.seconds, 0.99)
    rows = [
        Measure(
            name=f"registerHousehold p50 (n={len(http.seconds)})",
            ours=f"{p50:.2f} ms",
            raw=f"{raw_p50:.2f} ms",
            ratio=p50 / raw_p50,
            target=f"≤ {TARGET_P50_MS:.0f} ms",
            met=p50 <= TARGET_P50_MS,
        ),
        Measure(
            name="registerHousehold p99",
            ours=f"{p99:.2f} ms",
            raw=f"{raw_p99:.2f} ms",
            ratio=p99 / raw_p99,
        ),
    ]
    if http.cpu_s is not None and raw.cpu_s is not None:
        cpu_ms = 1000 * http.cpu_s / len(http.seconds)
        raw_cpu_ms = 1000 * raw.cpu_s / len(raw.seconds)
        rows.append(
            Measure(
                name="  CPU per registration (app + database)",
                ours=f"{cpu_ms:.2f} ms",
                raw=f"{raw_cpu_ms:.2f} ms",
                ratio=cpu_ms / raw_cpu_ms,
            )
        )
    bare_cpu = "n/a" if bare.cpu_s is None else f"{1000 * bare.cpu_s / len(bare.seconds):.2f} ms"
    rows.append(
        Measure(
            name="  of which generic path: { __typename } + bearer, p50 / CPU",
            ours=f"{milliseconds(bare.seconds, 0.5):.2f} ms / {bare_cpu}",
            raw="",
            ratio=None,
        )
    )
    return rows

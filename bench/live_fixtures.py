"""Everything the live-posts benchmark stands on: its own database, members, a server process.

The database is dedicated (`voisinage_bench_live`, recreated at each run) so the figures never
depend on what tests or a `make run` left behind, and so dropping it cannot hurt anyone.
Members are written with the project's own queries rather than through `signUp`: 109 Argon2
hashes would cost seconds and measure nothing the benchmark is about.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from strawberry import relay

from api.auth import new_token
from api.runtime import libpq_url
from api.settings import PROJECT_ROOT, Settings
from db.embedded import EmbeddedPostgres
from db.engine import create_engine
from db.migrate import upgrade
from db.passwords import hash_password
from db.queries import accounts
from db.queries.households import register_household
from geo.coords import LngLat

DATABASE = "voisinage_bench_live"
CHAVENAY = LngLat(lng=1.99, lat=48.85)
GRID_SPACING_M = 3_000.0
"""Well above the ~1.2 km edge of an H3 resolution-7 cell: one neighbourhood per grid point."""
METRES_PER_DEGREE = 111_320.0
TOKEN_LIFETIME = timedelta(hours=2)
STARTUP_TIMEOUT_S = 60.0
SETTINGS_VARIABLES = ("DATABASE_URL", "HOST", "PORT", "WORKERS", "SEED_DEMO", "VOISINAGE_DATA_DIR")


@dataclass(frozen=True, slots=True)
class Member:
    """An account with a household, and the bearer token the benchmark acts with."""

    token: str
    neighbourhood_id: int

    @property
    def neighbourhood_gid(self) -> str:
        """The Relay global ID clients pass as `neighbourhoodId`."""
        return str(relay.GlobalID("Neighbourhood", str(self.neighbourhood_id)))


@dataclass(frozen=True, slots=True)
class Population:
    """`crowd`: several members of the Chavenay neighbourhood; `grid`: one member per cell."""

    crowd: list[Member]
    grid: list[Member]


def grid_points(count: int, spacing_m: float = GRID_SPACING_M) -> list[LngLat]:
    """A square grid of `count` points `spacing_m` apart, Chavenay first (lng/lat degrees)."""
    side = math.ceil(math.sqrt(count))
    dlat = spacing_m / METRES_PER_DEGREE
    dlng = spacing_m / (METRES_PER_DEGREE * math.cos(math.radians(CHAVENAY.lat)))
    half = side // 2
    offsets = [(i - half, j - half) for i in range(side) for j in range(side)]
    offsets.sort(key=lambda offset: offset != (0, 0))  # stable: Chavenay first, then the rest
    return [
        LngLat(lng=CHAVENAY.lng + di * dlng, lat=CHAVENAY.lat + dj * dlat)
        for di, dj in offsets[:count]
    ]


@contextlib.contextmanager
def database_server(settings: Settings) -> Iterator[str]:
    """A server-level URL: DATABASE_URL's server when set, else the embedded cluster.

    The embedded cluster is stopped only if this run started it and nobody else (tests, a
    `make run`) is connected to it.
    """
    if settings.database_url:
        yield (
            make_url(settings.database_url)
            .set(database="postgres")
            .render_as_string(hide_password=False)
        )
        return
    cluster = EmbeddedPostgres(data_dir=settings.data_dir / "postgres")
    cluster.start()
    url = cluster.url("postgres")
    try:
        yield url
    finally:
        if cluster.started_here and not other_clients(url):
            cluster.stop()


def other_clients(server_url: str) -> int:
    with psycopg.connect(libpq_url(server_url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


@contextlib.contextmanager
def bench_database(server_url: str) -> Iterator[str]:
    """A freshly created and migrated `voisinage_bench_live`, dropped afterwards."""
    name = sql.Identifier(DATABASE)
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    url = make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


async def populate(url: str, *, crowd: int, neighbourhoods: int, resolution: int) -> Population:
    """`crowd` members in Chavenay and one member in each of `neighbourhoods` grid cells.

    The grid's first member is also the crowd's first: the crowd's neighbourhood is the grid's
    first. Every member gets a fresh token; one Argon2 hash serves all (nobody logs in).
    """
    password_hash = hash_password("bench-only password, never used to log in")
    engine = create_engine(url, pool_size=1)
    homes = grid_points(neighbourhoods) + [CHAVENAY] * max(crowd - 1, 0)
    members: list[Member] = []
    try:
        async with engine.begin() as conn:
            for number, home in enumerate(homes):
                account = await accounts.create_account(
                    conn,
                    email=f"bench-{number}@example.org",
                    password_hash=password_hash,
                    display_name=f"Voisin {number}",
                )
                assert account is not None
                household = await register_household(
                    conn, name=f"Foyer {number}", home=home, resolution=resolution
                )
                await accounts.attach_household(conn, account.id, household.id)
                token = new_token()
                await accounts.issue_token(conn, account.id, token, lifetime=TOKEN_LIFETIME)
                members.append(Member(token=token, neighbourhood_id=household.neighbourhood_id))
    finally:
        await engine.dispose()
    grid = members[:neighbourhoods]
    if len({member.neighbourhood_id for member in grid}) != neighbourhoods:
        raise RuntimeError("grid points share a neighbourhood: increase GRID_SPACING_M")
    return Population(crowd=[grid[0], *members[neighbourhoods:]], grid=grid)


def raise_open_file_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; the server and workers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


def spawn_server(url: str, log: Path, settings: dict[str, str]) -> ServerProcess:
    """`python -m api serve --no-seed` on a free port with one worker (so its pid is the server)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(DATABASE_URL=url, HOST="127.0.0.1", WORKERS="1", **settings)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(port), "--no-seed"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(process=process, port=port, log=log)


def stop_server(server: ServerProcess) -> None:
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.asynccontextmanager
async def running_server(url: str, log: Path, **settings: str) -> AsyncIterator[ServerProcess]:
    """A healthy server process, stopped on exit whatever happens."""
    server = spawn_server(url, log, settings)
    try:
        await wait_until_healthy(server)
        yield server
    finally:
        stop_server(server)


async def wait_until_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {server.process.returncode}; see {server.log}"
                )
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"http://127.0.0.1:{server.port}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server was not healthy within {STARTUP_TIMEOUT_S:.0f} s: {server.log}")


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def run_queue_wait_s(pid: int) -> float:
    """Time the process's main thread (the event loop) spent runnable but waiting for a CPU, in
    seconds (second field of /proc/<pid>/schedstat): what other load on the machine cost it."""
    fields = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(fields[1]) / 1e9

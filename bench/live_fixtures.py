"""Everything the live-posts benchmark stands on: members of the France profile, a server process.

It runs in `voisinage_bench` (the France profile, see `bench.france_profile`), like every other
benchmark: the one-neighbourhood scenario follows the profile's most populous network, the spread
scenario its 100 most populous. Subscribers are accounts attached to households of the profile
that are already there (the profile has households but no accounts), written with the project's
own queries rather than through `signUp`: 110 Argon2 hashes would cost seconds and measure
nothing the benchmark is about.

What it leaves behind: the posts it created and the tokens it issued are deleted at the end (and
at the start, after a run that crashed), so the profile's counts that `has_profile` checks are
unchanged. The accounts themselves (`@bench-live.voisinage.fr`) are kept and reused by the next
run: deleting an account costs ~1.5 s of foreign-key scans over the profile's 2M posts and 1M
comments (their `account_id` columns carry no index), i.e. minutes for 110 of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import relay

from api.auth import new_token
from api.settings import PROJECT_ROOT
from db.engine import create_engine
from db.passwords import hash_password
from db.queries import accounts

EMAIL_DOMAIN = "bench-live.voisinage.fr"
TOKEN_LIFETIME = timedelta(hours=2)
STARTUP_TIMEOUT_S = 60.0
SETTINGS_VARIABLES = ("DATABASE_URL", "HOST", "PORT", "WORKERS", "SEED_DEMO", "VOISINAGE_DATA_DIR")

POPULOUS_NETWORKS = text(
    """
    SELECT h.neighbourhood_id
      FROM households h
      JOIN neighbourhoods n ON n.id = h.neighbourhood_id
     WHERE n.kind = 'POLYGON'
     GROUP BY h.neighbourhood_id
     ORDER BY count(*) DESC, h.neighbourhood_id
     LIMIT :count
    """
)
FIRST_HOUSEHOLDS = text(
    "SELECT id FROM households WHERE neighbourhood_id = :nid ORDER BY id LIMIT :count"
)
BENCH_ACCOUNTS = "SELECT id FROM accounts WHERE email LIKE '%@' || :domain"
DELETE_POSTS = text(f"DELETE FROM posts WHERE account_id IN ({BENCH_ACCOUNTS})")
DELETE_TOKENS = text(f"DELETE FROM access_tokens WHERE account_id IN ({BENCH_ACCOUNTS})")


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
    """`crowd`: members of the most populous network; `grid`: one member per network, the most
    populous first (the crowd's first member is also the grid's first)."""

    crowd: list[Member]
    grid: list[Member]


async def populate(url: str, *, crowd: int, neighbourhoods: int) -> Population:
    """`crowd` members in the profile's most populous network, one in each of the
    `neighbourhoods` most populous; every member gets a fresh token (one Argon2 hash serves
    all: nobody logs in)."""
    password_hash = hash_password("bench-only password, never used to log in")
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await forget_runs(conn)
            networks = [
                int(nid)
                for nid in (
                    await conn.execute(POPULOUS_NETWORKS, {"count": neighbourhoods})
                ).scalars()
            ]
            if len(networks) < neighbourhoods:
                raise RuntimeError(f"the profile has only {len(networks)} polygon networks")
            homes = [
                (networks[0], household)
                for household in await first_households(conn, networks[0], crowd)
            ]
            for nid in networks[1:]:
                homes += [(nid, household) for household in await first_households(conn, nid, 1)]
            members = [
                Member(await member_token(conn, nid, household, password_hash), nid)
                for nid, household in homes
            ]
    finally:
        await engine.dispose()
    return Population(crowd=members[:crowd], grid=[members[0], *members[crowd:]])


async def first_households(conn: AsyncConnection, nid: int, count: int) -> list[int]:
    rows = await conn.execute(FIRST_HOUSEHOLDS, {"nid": nid, "count": count})
    return [int(household) for household in rows.scalars()]


async def member_token(conn: AsyncConnection, nid: int, household: int, password_hash: str) -> str:
    """A token for the bench account of `household`, created on first use, reused after."""
    email = f"foyer-{household}@{EMAIL_DOMAIN}"
    account = await accounts.create_account(
        conn, email=email, password_hash=password_hash, display_name=f"Voisin {household}"
    ) or await accounts.account_by_email(conn, email)
    assert account is not None
    await accounts.attach_household(conn, account.id, household)
    token = new_token()
    await accounts.issue_token(conn, account.id, token, lifetime=TOKEN_LIFETIME)
    return token


async def forget_runs(conn: AsyncConnection) -> None:
    """Delete the posts and tokens of the bench accounts (one scan of posts: ~0.5 s)."""
    parameters = {"domain": EMAIL_DOMAIN}
    await conn.execute(DELETE_POSTS.bindparams(bindparam("domain")), parameters)
    await conn.execute(DELETE_TOKENS.bindparams(bindparam("domain")), parameters)


async def clean_up(url: str) -> None:
    """Leave the profile's counts as they were found (see the module docstring)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await forget_runs(conn)
    finally:
        await engine.dispose()


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

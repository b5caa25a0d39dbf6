"""A primary cluster of the tests' own with a hot standby streaming from it (`replicated`).

The project's shared cluster is left alone: the primary is initdb'd into a temporary directory
of this run (0755, so that the unprivileged `postgres` user reaches it), with
`pg_stat_statements` preloaded so that each server counts the statements it ran; the standby is
its `pg_basebackup -R` (db.standby). Both are stopped and the directory removed at the end of the
session, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from api.runtime import libpq_url
from db.embedded import SOCKET_PATH_MAX, EmbeddedPostgres, EmbeddedPostgresError
from db.migrate import upgrade
from db.standby import EmbeddedStandby, standby_of

DATABASE = "replicated"
SEARCH_STATEMENTS = "%<->%"
"""The nearest-first searches' statements: KNN ordering (`<->`) appears in no other."""


@dataclass
class Replicated:
    primary: EmbeddedPostgres
    standby: EmbeddedStandby
    standby_port: int

    @property
    def primary_url(self) -> str:
        return self.primary.url(DATABASE)

    @property
    def standby_url(self) -> str:
        """Over TCP on its fixed port: the same URL stays right across `pause`/`resume`."""
        return self.standby.url(DATABASE)

    def pause(self) -> None:
        """Fast shutdown of the standby (sessions cut, as when a machine goes down)."""
        data_dir = str(self.standby.resolved_data_dir)
        result = self.standby._pg_ctl(["stop", "-D", data_dir, "-m", "fast", "-w"])
        assert result.returncode == 0, result.stderr

    def resume(self) -> None:
        """The standby again, on the same port: it catches up from the primary by itself."""
        data_dir = str(self.standby.resolved_data_dir)
        socket_dir = data_dir if len(f"{data_dir}/.s.PGSQL.65535") <= SOCKET_PATH_MAX else ""
        options = (
            f"-p {self.standby_port} -c listen_addresses=127.0.0.1 -k {shlex.quote(socket_dir)} "
            "-c max_connections=100"
        )
        log = str(self.standby.log_file)
        result = self.standby._pg_ctl(["start", "-D", data_dir, "-l", log, "-w", "-o", options])
        assert result.returncode == 0, result.stderr

    def search_calls(self, server: EmbeddedPostgres) -> int:
        """How many nearest-first search statements `server` has run (pg_stat_statements)."""
        with psycopg.connect(libpq_url(server.url(DATABASE)), autocommit=True) as conn:
            row = conn.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE %s",
                (SEARCH_STATEMENTS,),
            ).fetchone()
        return int(row[0]) if row else 0

    def replayed(self, timeout_s: float = 30.0) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(libpq_url(self.primary.url(DATABASE)), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(libpq_url(self.standby.url(DATABASE)), autocommit=True) as conn:
            while time.monotonic() < deadline:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()
                if done and done[0]:
                    return
                time.sleep(0.05)
        pytest.fail(f"the standby did not replay {target} within {timeout_s:.0f} s")


@contextlib.contextmanager
def replicated_cluster() -> Iterator[Replicated]:
    root = Path(tempfile.mkdtemp(prefix="voisinage-replicas-"))
    os.chmod(root, 0o755)
    primary = EmbeddedPostgres(data_dir=root / "primary" / "postgres")
    standby = standby_of(primary, root / "standby" / "postgres")
    try:
        primary.start()
        with psycopg.connect(libpq_url(primary.url()), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        primary.restart()
        with psycopg.connect(libpq_url(primary.url()), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        upgrade(primary.url(DATABASE))
        with psycopg.connect(libpq_url(primary.url(DATABASE)), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        standby.start()
        replicated = Replicated(primary=primary, standby=standby, standby_port=standby.port)
        replicated.replayed()
        yield replicated
    finally:
        try:
            with contextlib.suppress(EmbeddedPostgresError):
                standby.stop()
            # A standby paused and resumed by hand was not started by `standby`: stop it too.
            data_dir = root / "standby" / "postgres"
            if (data_dir / "postmaster.pid").exists():
                standby._pg_ctl(["stop", "-D", str(data_dir), "-m", "immediate", "-w"])
            primary.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def replicated() -> Iterator[Replicated]:
    """A primary and its hot standby, for the whole session (about 15 s to make)."""
    with replicated_cluster() as cluster:
        yield cluster

"""The embedded cluster behind `make run` and the test suite when DATABASE_URL is unset.

One cluster serves the module (initdb costs about a second); tests that stop it start it again
before they return, and the fixture stops it and removes its files whatever happens.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import secrets
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import db.embedded
from api.runtime import libpq_url
from db.embedded import EmbeddedPostgres, EmbeddedPostgresError, find_pg_bindir

IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason="the service-user logic applies to root only")


def _connect(
    pg: EmbeddedPostgres, database: str = "postgres"
) -> psycopg.Connection[tuple[object, ...]]:
    """psycopg wants a libpq URL; the public one is SQLAlchemy's `postgresql+psycopg://`."""
    url = pg.url(database).replace("postgresql+psycopg://", "postgresql://", 1)
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _cleanup(pg: EmbeddedPostgres, project: Path) -> None:
    pg.stop()
    if pg.resolved_data_dir.parent.name.startswith("voisinage-"):
        shutil.rmtree(pg.resolved_data_dir.parent, ignore_errors=True)  # /var/tmp fallback
    shutil.rmtree(project, ignore_errors=True)


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """A project directory the service user can traverse (pytest's tmp root is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="voisinage-embedded-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(project: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(project / ".data" / "postgres")
    try:
        pg.start()
        yield pg
    finally:
        _cleanup(pg, project)


def test_finds_server_binaries_of_version_15_or_later() -> None:
    bindir = find_pg_bindir()

    assert (bindir / "initdb").is_file()
    assert (bindir / "pg_ctl").is_file()


def test_port_before_start_raises_a_one_line_error(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "postgres")

    with pytest.raises(EmbeddedPostgresError, match="call start") as raised:
        _ = pg.port

    assert "\n" not in str(raised.value)


def test_started_cluster_accepts_the_generated_password(cluster: EmbeddedPostgres) -> None:
    with _connect(cluster) as conn:
        row = conn.execute("SELECT 1, current_user, current_setting('port')::int").fetchone()

    assert row == (1, "voisinage", cluster.port)
    assert cluster.started_here is True
    assert cluster.url().startswith("postgresql+psycopg://voisinage:")
    socket_dir = cluster.socket_dir()
    assert socket_dir == cluster.resolved_data_dir  # reached through its Unix socket
    assert cluster.url("other_db").endswith(f"@/other_db?host={socket_dir}&port={cluster.port}")


def test_keeps_the_cluster_in_the_requested_directory_when_reachable(
    cluster: EmbeddedPostgres, project: Path
) -> None:
    with _connect(cluster) as conn:
        row = conn.execute("SELECT current_setting('data_directory')").fetchone()

    assert row is not None
    assert Path(str(row[0])) == (project / ".data" / "postgres").resolve()
    assert cluster.resolved_data_dir == (project / ".data" / "postgres").resolve()


def test_postgis_extension_can_be_created_in_a_new_database(cluster: EmbeddedPostgres) -> None:
    name = f"test_embedded_{secrets.token_hex(4)}"
    with _connect(cluster) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    with _connect(cluster, name) as conn:
        conn.execute("CREATE EXTENSION postgis")
        row = conn.execute("SELECT ST_AsText(ST_MakePoint(1.99, 48.85))").fetchone()

    assert row == ("POINT(1.99 48.85)",)


def test_server_encoding_is_utf8(cluster: EmbeddedPostgres) -> None:
    with _connect(cluster) as conn:
        row = conn.execute("SELECT current_setting('server_encoding')").fetchone()

    assert row == ("UTF8",)


@root_only
def test_runs_as_an_unprivileged_user_when_invoked_as_root(cluster: EmbeddedPostgres) -> None:
    with _connect(cluster) as conn:
        row = conn.execute("SELECT current_setting('data_directory'), pg_backend_pid()").fetchone()
        assert row is not None
        backend_owner = os.stat(f"/proc/{row[1]}").st_uid  # while the backend is alive

    data_owner = os.stat(str(row[0])).st_uid
    assert data_owner != 0
    assert backend_owner == data_owner
    assert pwd.getpwuid(data_owner).pw_name in {"postgres", "voisinage"}


def test_password_file_is_private_to_the_invoking_user(
    cluster: EmbeddedPostgres, project: Path
) -> None:
    password_file = project / ".data" / "postgres-password"
    mode = stat.S_IMODE(password_file.stat().st_mode)

    assert cluster.password_file == password_file.resolve()
    assert mode == 0o600
    assert password_file.stat().st_uid == os.geteuid()
    assert password_file.read_text().strip() in cluster.url()


def test_second_instance_reuses_the_running_cluster_and_does_not_stop_it(
    cluster: EmbeddedPostgres,
) -> None:
    second = EmbeddedPostgres(cluster.data_dir)

    second.start()
    second.stop()

    assert second.started_here is False
    assert second.port == cluster.port
    assert second.url() == cluster.url()
    with _connect(cluster) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_start_is_idempotent(cluster: EmbeddedPostgres) -> None:
    port = cluster.port

    cluster.start()

    assert cluster.port == port
    assert cluster.started_here is True


def test_restart_keeps_data_and_password_and_retries_a_taken_port(
    cluster: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _connect(cluster) as conn:
        conn.execute("CREATE TABLE survives_restart (id int)")
        conn.execute("INSERT INTO survives_restart VALUES (42)")
    url_before = cluster.url()
    port_before = cluster.port

    cluster.stop()

    assert cluster.started_here is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url_before.replace("+psycopg", ""), connect_timeout=2)

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, db.embedded._free_port()])
        monkeypatch.setattr(db.embedded, "_free_port", lambda: next(ports))
        cluster.start()

    assert cluster.started_here is True
    assert next(ports, None) is None  # the taken port was tried first, then a fresh one
    assert cluster.port != taken
    assert cluster.url() == url_before.replace(f"port={port_before}", f"port={cluster.port}")
    with _connect(cluster) as conn:
        assert conn.execute("SELECT id FROM survives_restart").fetchall() == [(42,)]


def test_initdb_failure_names_the_cause_and_the_log(project: Path) -> None:
    data_dir = project / "not-a-cluster" / "postgres"
    data_dir.mkdir(parents=True)
    (data_dir / "stray-file").write_text("not a cluster\n")
    pg = EmbeddedPostgres(data_dir)

    with pytest.raises(EmbeddedPostgresError) as raised:
        pg.start()

    message = str(raised.value)
    assert "\n" not in message
    assert "initdb failed" in message
    assert "exists but is not empty" in message
    assert str(pg.log_file) in message
    assert pg.started_here is False


@root_only
def test_falls_back_to_var_tmp_when_the_service_user_cannot_reach_the_project(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project = tmp_path / "private-project"
    project.mkdir()
    project.chmod(0o700)
    requested = project / ".data" / "postgres"
    digest = hashlib.sha1(str(requested.resolve()).encode()).hexdigest()[:12]
    pg = EmbeddedPostgres(requested)
    try:
        with caplog.at_level(logging.WARNING, logger="db.embedded"):
            pg.start()

        with _connect(pg) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert pg.resolved_data_dir == Path(f"/var/tmp/voisinage-{digest}/postgres")
        assert any("/var/tmp/voisinage-" in record.getMessage() for record in caplog.records)
    finally:
        _cleanup(pg, project)


@pytest.mark.parametrize(
    ("limit_bytes", "expected_mb"),
    [(2 * 2**30, 512), (256 * 2**20, 128), (64 * 2**30, 1024)],
)
def test_shared_buffers_are_a_quarter_of_the_memory_allowed_within_bounds(
    monkeypatch: pytest.MonkeyPatch, limit_bytes: int, expected_mb: int
) -> None:
    """A container's limit counts, not the host's memory; never below PostgreSQL's 128 MB
    default nor above 1 GB. (This machine has more than 4 GiB, so the limit decides.)"""
    monkeypatch.setattr(db.embedded, "cgroup_memory_limit", lambda: limit_bytes)
    assert db.embedded.shared_buffers_mb() == expected_mb


def test_without_a_reachable_socket_the_url_is_tcp(
    cluster: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "socket_dir", lambda: None)  # e.g. a data path too long
    assert cluster.url("other_db").endswith(f"@127.0.0.1:{cluster.port}/other_db")
    with _connect(cluster) as conn:
        assert conn.execute("SELECT inet_server_port()").fetchone() == (cluster.port,)


def test_a_socket_directory_with_a_space_reaches_libpq_intact() -> None:
    """SQLAlchemy writes a space in a query value as `+`, which libpq keeps as a plus."""
    url = "postgresql+psycopg://voisinage:p%40ss@/voisinage?host=/home/a%20b%2Bc/pg&port=5433"
    parts = conninfo_to_dict(libpq_url(url))
    assert parts["host"] == "/home/a b+c/pg"
    assert (parts["password"], parts["port"], parts["dbname"]) == ("p@ss", "5433", "voisinage")

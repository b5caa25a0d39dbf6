"""Resolve which database the service uses, and turn bad configuration into one clear line.

With DATABASE_URL unset the private embedded cluster under the data dir is started (and stopped
on exit if this process started it); with it set, that server is used and nothing is started.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import quote

import psycopg
from sqlalchemy.engine import make_url

from api.settings import Settings
from db.embedded import EmbeddedPostgres, EmbeddedPostgresError

APP_DATABASE = "voisinage"


class ConfigurationError(RuntimeError):
    """Bad configuration: the message is one line saying what is wrong and what to do."""


def libpq_url(url: str) -> str:
    """The same URL without SQLAlchemy's `+driver` suffix, for psycopg.

    Query values are percent-encoded (`%20`), not form-encoded: SQLAlchemy writes a space as
    `+`, which libpq keeps as a plus (a socket directory `?host=/home/a b/...` would break).
    """
    parsed = make_url(url).set(drivername="postgresql")
    base = parsed.set(query={}).render_as_string(hide_password=False)
    pairs = [
        f"{quote(name, safe='')}={quote(value, safe='/')}"
        for name, values in parsed.query.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]
    return f"{base}?{'&'.join(pairs)}" if pairs else base


def ensure_database(server_url: str, database: str) -> None:
    """Create `database` on the server if missing (the embedded default's application database)."""
    with psycopg.connect(libpq_url(server_url), autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database))
            )


def check_database(url: str) -> None:
    """Fail early and clearly: unreachable server, or PostGIS not installed on it."""
    target = make_url(url)
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
            available = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
    except psycopg.OperationalError:
        raise ConfigurationError(
            f"Cannot connect to PostgreSQL at {target.host}:{target.port or 5432}/"
            f"{target.database}: check DATABASE_URL (or unset it to use the embedded database)."
        ) from None
    if not available:
        raise ConfigurationError(
            "PostGIS is not installed on the database server: run "
            "`apt-get install -y postgresql-15-postgis-3` there (or use the postgis/postgis image)."
        )


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigurationError(
                f"Port {port} on {host} is already in use: stop the other server or set PORT=..."
            ) from None


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Settings whose `database_url` is usable, starting the embedded cluster if needed."""
    if settings.database_url:
        check_database(settings.database_url)
        yield settings
        return
    cluster = EmbeddedPostgres(data_dir=settings.data_dir / "postgres")
    try:
        cluster.start()
        ensure_database(cluster.url(), APP_DATABASE)
    except EmbeddedPostgresError as error:
        raise ConfigurationError(str(error)) from None
    try:
        url = cluster.url(APP_DATABASE)
        check_database(url)
        yield replace(settings, database_url=url)
    finally:
        cluster.stop()

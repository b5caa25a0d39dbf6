"""A private PostgreSQL cluster for development and tests when DATABASE_URL is unset.

`make run` and the test suite both need a PostGIS server, and asking every contributor to set
one up (roles, passwords, pg_hba) is the main cause of "works on my machine". Instead the project
keeps its own cluster under `<project>/.data/postgres`, listening only on 127.0.0.1 on a free
port, with a random password stored beside it. A second process (tests while `make run` is up)
reuses the running cluster rather than starting another, and only the process that started the
server stops it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import psycopg

logger = logging.getLogger(__name__)

SUPERUSER = "voisinage"
"""Role created by initdb; also the name of the system user created when `postgres` is absent."""

MIN_MAJOR = 15
DEFAULT_BINDIR = Path("/usr/lib/postgresql/15/bin")
INSTALL_HINT = (
    "PostgreSQL 15 is not installed: run "
    "`apt-get install -y postgresql-15 postgresql-15-postgis-3` (as root) and retry"
)
START_ATTEMPTS = 3
READY_TIMEOUT_S = 30.0
SOCKET_PATH_MAX = 107
"""sun_path is 108 bytes on Linux; a longer socket path makes the postmaster refuse to start."""


class EmbeddedPostgresError(RuntimeError):
    """The embedded cluster cannot be used; str() is one line: what is wrong, what to do."""


@dataclass(frozen=True)
class _ServiceUser:
    """The unprivileged account that owns the cluster, because initdb and postgres refuse root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    @classmethod
    def lookup(cls, name: str) -> _ServiceUser:
        entry = pwd.getpwnam(name)
        groups = tuple(os.getgrouplist(name, entry.pw_gid))
        return cls(name=name, uid=entry.pw_uid, gid=entry.pw_gid, groups=groups)

    def can_traverse(self, directory: Path) -> bool:
        """Ask the kernel (as this user) so that ACLs and every ancestor's mode are honoured."""
        result = _run(["test", "-x", str(directory)], service=self, timeout=10)
        return result.returncode == 0


@dataclass(frozen=True)
class _Layout:
    """Where the cluster really lives: the requested directory, or the /var/tmp fallback."""

    data_dir: Path
    service: _ServiceUser | None

    @property
    def root(self) -> Path:
        return self.data_dir.parent

    @property
    def password_file(self) -> Path:
        return self.root / "postgres-password"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def lock_file(self) -> Path:
        return self.root / "postgres.lock"


@dataclass
class EmbeddedPostgres:
    """A project-local PostgreSQL cluster; use as a context manager or call start()/stop()."""

    data_dir: Path
    started_here: bool = field(default=False, init=False)
    _layout_cache: _Layout | None = field(default=None, init=False, repr=False)
    _port: int | None = field(default=None, init=False, repr=False)
    _password: str | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedPostgresError("embedded PostgreSQL is not started: call start() first")
        return self._port

    @property
    def resolved_data_dir(self) -> Path:
        """The directory the cluster really uses (differs from data_dir after the fallback)."""
        return self._layout().data_dir

    @property
    def password_file(self) -> Path:
        return self._layout().password_file

    @property
    def log_file(self) -> Path:
        return self._layout().log_file

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL; the password is quoted so that any generated character survives.

        Through the cluster's Unix socket when it has one (a private, local cluster needs no
        TCP hop: a nearest-first search costs ~5 % less CPU, client and server together), else
        over TCP on 127.0.0.1.
        """
        if self._password is None:
            raise EmbeddedPostgresError("embedded PostgreSQL is not started: call start() first")
        password = quote(self._password, safe="")
        name = quote(database, safe="")
        socket_dir = self.socket_dir()
        if socket_dir is not None:
            return (
                f"postgresql+psycopg://{SUPERUSER}:{password}@/{name}"
                f"?host={quote(str(socket_dir), safe='/')}&port={self.port}"
            )
        return f"postgresql+psycopg://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{name}"

    def socket_dir(self) -> Path | None:
        """The directory of the running server's Unix socket, or None (path too long for a
        socket, or not reachable by this user)."""
        data_dir = self._layout().data_dir
        try:
            return data_dir if (data_dir / f".s.PGSQL.{self.port}").is_socket() else None
        except OSError:
            return None

    def start(self) -> None:
        """Initialise if needed, start unless already running, and return once it accepts logins.

        The lock serialises concurrent processes so that only one runs initdb or pg_ctl start;
        the others then find the server running and reuse it.
        """
        find_pg_bindir()  # fail with the install hint before creating any directory
        if self._port is not None and self._is_running():
            return
        try:
            layout = self._layout()
            with _locked(layout.lock_file):
                initialised = (layout.data_dir / "PG_VERSION").exists()
                self._password = _read_or_create_password(layout, initialised=initialised)
                if not initialised:
                    self._initdb(layout, self._password)
                if self._is_running():
                    self._port = _port_from_pidfile(layout.data_dir)
                    self.started_here = False
                else:
                    self._port = self._start_server(layout)
                    self.started_here = True
        except PermissionError as error:
            raise EmbeddedPostgresError(
                f"cannot access {error.filename}: run as the user who created {self.data_dir} "
                "(or as root), or set DATABASE_URL"
            ) from None
        self._wait_until_accepting(layout)

    def stop(self) -> None:
        """Fast shutdown (rolls back open transactions), only if this object started the server."""
        if not self.started_here:
            return
        layout = self._layout()
        with _locked(layout.lock_file):
            result = self._pg_ctl(["stop", "-D", str(layout.data_dir), "-m", "fast", "-w"])
            if result.returncode != 0 and self._is_running():
                raise EmbeddedPostgresError(
                    f"could not stop PostgreSQL in {layout.data_dir}: {_last_line(result)}; "
                    f"stop it with `pg_ctl stop -D {layout.data_dir}`"
                )
        self.started_here = False
        self._port = None

    def restart(self) -> None:
        """Fast restart on the same port (tests of clients that must reconnect by themselves).

        `pg_ctl restart` reuses the options of the previous start (postmaster.opts), port included.
        """
        if not self.started_here:
            raise EmbeddedPostgresError("only the process that started the cluster may restart it")
        layout = self._layout()
        with _locked(layout.lock_file):
            result = self._pg_ctl(
                [
                    "restart",
                    "-D",
                    str(layout.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(layout.log_file),
                ]
            )
            if result.returncode != 0:
                raise EmbeddedPostgresError(f"could not restart PostgreSQL: {_last_line(result)}")
        self._wait_until_accepting(layout)

    def _layout(self) -> _Layout:
        if self._layout_cache is None:
            self._layout_cache = _resolve_layout(self.data_dir)
        return self._layout_cache

    def _pg_ctl(self, args: Sequence[str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
        pg_ctl = find_pg_bindir() / "pg_ctl"
        return _run([str(pg_ctl), *args], service=self._layout().service, timeout=timeout)

    def _is_running(self) -> bool:
        data_dir = self._layout().data_dir
        if not (data_dir / "postmaster.pid").exists():
            return False
        return self._pg_ctl(["status", "-D", str(data_dir)], timeout=10).returncode == 0

    def _initdb(self, layout: _Layout, password: str) -> None:
        layout.data_dir.mkdir(mode=0o700, exist_ok=True)
        _give_to_service(layout.data_dir, layout.service)
        _ensure_log_file(layout)
        for locale in ("C.UTF-8", "C"):
            result = self._run_initdb(layout, password, locale)
            with layout.log_file.open("a") as log:
                log.write(result.stdout + result.stderr)
            if result.returncode == 0:
                return
            if "locale" not in (result.stdout + result.stderr).lower():
                break
        raise EmbeddedPostgresError(
            f"initdb failed for {layout.data_dir}: {_last_line(result)}; see {layout.log_file}"
        )

    def _run_initdb(
        self, layout: _Layout, password: str, locale: str
    ) -> subprocess.CompletedProcess[str]:
        """initdb runs as the service user, which cannot read our 0600 password file: hand it a
        private copy it owns, removed as soon as initdb has read it."""
        fd, pwfile = tempfile.mkstemp(prefix=".pwfile-", dir=layout.root)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            _give_to_service(Path(pwfile), layout.service)
            initdb = find_pg_bindir() / "initdb"
            args = [
                str(initdb), "-D", str(layout.data_dir), "-U", SUPERUSER,
                "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                f"--locale={locale}", "--no-instructions",
            ]  # fmt: skip
            return _run(args, service=layout.service, timeout=300)
        finally:
            Path(pwfile).unlink(missing_ok=True)

    def _start_server(self, layout: _Layout) -> int:
        """Start on a fresh free port, retrying when another process grabs it first."""
        _ensure_log_file(layout)
        socket_dir = str(layout.data_dir)
        if len(f"{socket_dir}/.s.PGSQL.65535") > SOCKET_PATH_MAX:
            socket_dir = ""  # disables Unix sockets; clients use TCP anyway
        for attempt in range(1, START_ATTEMPTS + 1):
            port = _free_port()
            options = (
                f"-p {port} -c listen_addresses=127.0.0.1 "
                f"-k {shlex.quote(socket_dir)} "
                "-c max_connections=100 -c fsync=on "
                f"-c shared_buffers={shared_buffers_mb()}MB -c max_wal_size=4GB"
            )
            log_offset = layout.log_file.stat().st_size
            args = ["start", "-D", str(layout.data_dir), "-l", str(layout.log_file)]
            result = self._pg_ctl([*args, "-w", "-t", "60", "-o", options])
            if result.returncode == 0:
                return port
            new_log = _read_from(layout.log_file, log_offset)
            if "Address already in use" in new_log and attempt < START_ATTEMPTS:
                logger.info("port %d was taken before PostgreSQL bound it; retrying", port)
                continue
            last = _summary_line(new_log) or _last_line(result)
            raise EmbeddedPostgresError(
                f"PostgreSQL did not start in {layout.data_dir}: {last}; see {layout.log_file}"
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_until_accepting(self, layout: _Layout) -> None:
        """pg_ctl -w trusts postmaster.pid; a real login also proves the password file matches."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                conn = psycopg.connect(
                    host="127.0.0.1", port=self.port, user=SUPERUSER, password=self._password,
                    dbname="postgres", connect_timeout=5,
                )  # fmt: skip
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline or "password" in str(error):
                    raise EmbeddedPostgresError(
                        f"cannot log in to PostgreSQL on 127.0.0.1:{self.port}: "
                        f"{_single_line(str(error))}; check {layout.password_file} "
                        f"and {layout.log_file}"
                    ) from error
                time.sleep(0.1)
            else:
                conn.close()
                return


def shared_buffers_mb() -> int:
    """A quarter of the memory this process may use, between PostgreSQL's default 128 MB and 1 GB.

    The default holds 128 MB of pages: a million households with their indexes (~400 MB)
    do not fit, and reassigning them all evicts dirty pages while it writes. With 1 GB the
    reassignment of the 34,871-commune benchmark went from 19.1 s to 17.9 s. Shared memory
    is touched only as it is used, so a small test database costs no more. In a container the
    cgroup's memory limit counts, not the host's memory.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 128
    limit = cgroup_memory_limit()
    if limit is not None:
        total = min(total, limit)
    return max(128, min(1024, total // 2**20 // 4))


def cgroup_memory_limit() -> int | None:
    """The cgroup v2 (or v1) memory limit in bytes, None where there is none or no cgroup."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        return int(value) if value.isdigit() else None
    return None


@functools.cache
def find_pg_bindir() -> Path:
    """The server binaries: pg_config's when it is 15+, else Debian's PostgreSQL 15 location.

    Cached because every pg_ctl call needs it; a failure is not cached, so installing PostgreSQL
    and retrying in the same process works.
    """
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        version = subprocess.run(
            [pg_config, "--version"], capture_output=True, text=True, check=False
        ).stdout
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        match = re.search(r"PostgreSQL (\d+)", version)
        if match and int(match.group(1)) >= MIN_MAJOR and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    if (DEFAULT_BINDIR / "initdb").exists():
        return DEFAULT_BINDIR
    raise EmbeddedPostgresError(INSTALL_HINT)


def _resolve_layout(requested: Path) -> _Layout:
    """Pick the service user and a data directory that user can reach.

    A project under /root (mode 0700) is unreachable for `postgres`; rather than loosening the
    home directory's permissions we move the cluster to a per-project directory in /var/tmp.
    """
    data_dir = requested.resolve()
    if os.geteuid() != 0:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        return _Layout(data_dir=data_dir, service=None)
    service = _service_user()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if service.can_traverse(data_dir.parent):
        return _Layout(data_dir=data_dir, service=service)
    digest = hashlib.sha1(str(data_dir).encode(), usedforsecurity=False).hexdigest()[:12]
    # /var/tmp is world-writable: the ownership check below refuses a directory planted by others.
    fallback = Path(f"/var/tmp/voisinage-{digest}/postgres")  # noqa: S108
    logger.warning(
        "user %s cannot reach %s; keeping the embedded PostgreSQL cluster in %s instead",
        service.name, data_dir, fallback,
    )  # fmt: skip
    fallback.parent.mkdir(mode=0o755, exist_ok=True)
    owner = fallback.parent.lstat()
    if not stat.S_ISDIR(owner.st_mode) or owner.st_uid != os.geteuid():
        raise EmbeddedPostgresError(
            f"{fallback.parent} belongs to another user: remove it and retry"
        )
    fallback.parent.chmod(0o755)
    return _Layout(data_dir=fallback, service=service)


def _service_user() -> _ServiceUser:
    for name in ("postgres", SUPERUSER):
        try:
            return _ServiceUser.lookup(name)
        except KeyError:
            continue
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SUPERUSER],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        return _ServiceUser.lookup(SUPERUSER)
    except KeyError:
        raise EmbeddedPostgresError(
            f"cannot create system user {SUPERUSER}: {_last_line(result)}; "
            f"create it with `useradd --system {SUPERUSER}` or set DATABASE_URL"
        ) from None


def _run(
    args: Sequence[str], *, service: _ServiceUser | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool, as the service user when we are root (they refuse to run as root).

    cwd is / because the tools fail to stat a working directory the service user cannot reach.
    """
    try:
        return subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, cwd="/", check=False,
            user=service.uid if service else None,
            group=service.gid if service else None,
            extra_groups=service.groups if service else None,
        )  # fmt: skip
    except FileNotFoundError:
        raise EmbeddedPostgresError(INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise EmbeddedPostgresError(
            f"`{shlex.join(args)}` took more than {timeout:.0f} s: see the PostgreSQL log"
        ) from None


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_or_create_password(layout: _Layout, *, initialised: bool) -> str:
    """The password lives beside the data (mode 0600, invoking user) so later runs can log in."""
    path = layout.password_file
    if path.exists():
        return path.read_text().strip()
    if initialised:
        raise EmbeddedPostgresError(
            f"{path} is missing for the existing cluster {layout.data_dir}: "
            "remove that directory to re-create the cluster"
        )
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def _give_to_service(path: Path, service: _ServiceUser | None) -> None:
    if service is not None:
        os.chown(path, service.uid, service.gid)


def _ensure_log_file(layout: _Layout) -> None:
    """Created by us and handed over, because the service user may not write in its parent."""
    if not layout.log_file.exists():
        layout.log_file.touch(mode=0o640)
        _give_to_service(layout.log_file, layout.service)


def _port_from_pidfile(data_dir: Path) -> int:
    lines = (data_dir / "postmaster.pid").read_text().splitlines()
    try:
        return int(lines[3])
    except (IndexError, ValueError):
        raise EmbeddedPostgresError(
            f"cannot read the port from {data_dir / 'postmaster.pid'}: "
            "the server is still starting or the file is damaged; retry in a moment"
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _read_from(path: Path, offset: int) -> str:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def _summary_line(text: str) -> str:
    """The last error line, else the last line: the tools end with hints and shutdown notices
    that hide the actual cause ("FATAL: could not create any TCP/IP sockets")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"FATAL|PANIC|ERROR|error:", line)]
    return (errors or lines or [""])[-1]


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    return _summary_line(result.stderr) or _summary_line(result.stdout) or "no output"


def _single_line(text: str) -> str:
    return " ".join(text.split())


__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "find_pg_bindir"]

"""What a test run leaves behind — processes, clusters, temporary files — found, removed, reported.

A full run once left two uvicorn workers serving on their port minutes after pytest had exited
(their parent killed alone, they were reparented to init), and a restart test left its private
cluster's directory in /tmp. Neither failed anything, so both went unnoticed. Now every run:

- marks its processes: `MARKER` in pytest's environment, which every child inherits (servers,
  their workers, `pg_ctl` and the clusters it starts), so a process that escaped the process tree
  (new session, parent gone) is still recognisable as this run's;
- keeps its temporary files in one directory of its own (`TMPDIR` and `tempfile.tempdir` point
  there, pytest's `tmp_path` included), so a file a test forgot is this run's, not another's;
- at the end, after every fixture is torn down, looks for descendants of pytest, processes with
  its marker and members of the server process groups `tests.servers` started; stops them
  (clusters with a fast shutdown, the rest with SIGKILL); removes its temporary directory and the
  `/var/tmp/voisinage-*` cluster directories it created; and fails the run when anything was left.

The project's shared cluster (`.data/postgres`, or its /var/tmp fallback) is not a leftover: the
session fixture stops it unless another process still uses it, and its data is kept for the next
run, as `make run` keeps it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

MARKER = "VOISINAGE_TEST_RUN"
"""Environment variable holding this run's token; children inherit it."""
TEMP_PREFIX = "vtest-"
"""Short on purpose: a cluster made inside must keep its Unix socket path under 107 bytes."""
VAR_TMP = Path("/var/tmp")  # where db.embedded falls back; only listed and cleaned here
CLUSTER_FALLBACK_GLOB = "voisinage-*"
STOP_TIMEOUT_S = 15.0
SETTLE_S = 2.0
"""How long a new /var/tmp cluster directory must outlive our cleanup to count as ours: another
run's test creates and removes its own within a test, and runs one inside it meanwhile."""
HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
"""Children of pytest that live as long as it does by design and end with it."""


@dataclass(frozen=True)
class Run:
    token: str
    temp_root: Path
    previous_tempdir: str | None
    var_tmp_before: frozenset[Path]


def begin() -> Run:
    """Mark this process's environment and move its temporary files into a directory of its own.

    The directory is 0755: the embedded cluster's unprivileged user must traverse it when a test
    puts a cluster inside. Its name holds pytest's pid and the run's token, so that what a run
    killed before its end (SIGKILL, a timeout) left is cleaned by the next one (`reap_dead_runs`).
    """
    reap_dead_runs()
    token = uuid.uuid4().hex[:12]
    os.environ[MARKER] = token
    temp_root = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-{token}-"))
    temp_root.chmod(0o755)
    previous = tempfile.tempdir
    os.environ["TMPDIR"] = str(temp_root)
    tempfile.tempdir = str(temp_root)
    return Run(
        token=token,
        temp_root=temp_root,
        previous_tempdir=previous,
        var_tmp_before=frozenset(_cluster_fallbacks()),
    )


def finish(run: Run, *, server_groups: Iterable[int], keep: Iterable[Path] = ()) -> list[str]:
    """Stop and remove what the run left; one line per leftover (empty: nothing was left).

    `keep`: data directories whose clusters are not leftovers (the project's shared cluster).
    """
    kept = {path.resolve() for path in keep}
    problems: list[str] = []
    processes = _leftover_processes(run.token, server_groups, kept)
    if processes:
        problems += [f"process still running: {_describe(process)}" for process in processes]
        _stop(processes)
    problems += _remove_temporary_files(run)
    problems += _remove_cluster_fallbacks(run, kept)
    return problems


def reap_dead_runs() -> list[Path]:
    """Stop the processes and remove the directory of earlier runs whose pytest is gone.

    A run's end hook cannot run when pytest is killed; its servers and files would otherwise stay
    until the machine restarts. A live pytest with the same pid that started after the directory
    was made is not its owner (the pid was reused).
    """
    reaped = []
    for root in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*-*"):
        pid, token = _owner(root)
        if pid is None or token is None or _owner_alive(pid, root):
            continue
        _stop(_leftover_processes(token, (), set(), descendants=False))
        _stop_clusters_in(root)
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


def _owner(root: Path) -> tuple[int | None, str | None]:
    parts = root.name.removeprefix(TEMP_PREFIX).split("-")
    if len(parts) < 3 or not parts[0].isdigit() or len(parts[1]) != 32:
        return None, None
    return int(parts[0]), parts[1]


def _owner_alive(pid: int, root: Path) -> bool:
    try:
        return psutil.Process(pid).create_time() <= root.stat().st_mtime
    except psutil.NoSuchProcess:
        return False
    except (psutil.Error, OSError):
        return True  # cannot tell: leave it


def _leftover_processes(
    token: str, server_groups: Iterable[int], kept: set[Path], *, descendants: bool = True
) -> list[psutil.Process]:
    me = psutil.Process()
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        for child in me.children(recursive=True) if descendants else ():
            if not _is_helper(child, me.pid):
                found[child.pid] = child
    groups = set(server_groups)
    for process in psutil.process_iter():
        if process.pid == me.pid or process.pid in found:
            continue
        try:
            if os.getpgid(process.pid) in groups or process.environ().get(MARKER) == token:
                found[process.pid] = process
        except (psutil.Error, OSError):  # ended meanwhile, or another user's
            continue
    return [process for process in found.values() if _alive(process) and not _kept(process, kept)]


def _is_helper(process: psutil.Process, parent: int) -> bool:
    try:
        cmdline = " ".join(process.cmdline())
        return process.ppid() == parent and any(helper in cmdline for helper in HELPERS)
    except psutil.Error:
        return False


def _alive(process: psutil.Process) -> bool:
    try:
        status: str = process.status()
        return process.is_running() and status != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _kept(process: psutil.Process, kept: set[Path]) -> bool:
    """PostgreSQL processes work in their data directory: its cwd says which cluster they are."""
    try:
        return Path(process.cwd()).resolve() in kept
    except (psutil.Error, OSError):
        return False


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid} (group {os.getpgid(process.pid)}): {' '.join(process.cmdline())}"
    except (psutil.Error, OSError):
        return f"pid {process.pid}"


def _stop(processes: list[psutil.Process]) -> None:
    """Postmasters get a fast shutdown (SIGINT), so they remove their socket and pid file and
    their backends end with them; whatever is left then gets SIGKILL."""
    postmasters = [process for process in processes if _is_postmaster(process)]
    _signal(postmasters, signal.SIGINT)
    psutil.wait_procs(postmasters, timeout=STOP_TIMEOUT_S)
    survivors = [process for process in processes if _alive(process)]
    _signal(survivors, signal.SIGKILL)
    psutil.wait_procs(survivors, timeout=STOP_TIMEOUT_S)


def _is_postmaster(process: psutil.Process) -> bool:
    try:
        parent = process.parent()
        return process.name() == "postgres" and (parent is None or parent.name() != "postgres")
    except psutil.Error:
        return False


def _signal(processes: Iterable[psutil.Process], signum: int) -> None:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signum)


def _remove_temporary_files(run: Run) -> list[str]:
    """Everything in the run's directory but pytest's own `tmp_path` tree is a leftover."""
    tempfile.tempdir = run.previous_tempdir
    problems = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(run.temp_root.iterdir()):
            if not entry.name.startswith("pytest-of-"):
                problems.append(f"temporary file left: {entry}")
                _stop_clusters_in(entry)
    shutil.rmtree(run.temp_root, ignore_errors=True)
    return problems


def _remove_cluster_fallbacks(run: Run, kept: set[Path]) -> list[str]:
    """Cluster directories this run created in /var/tmp (db.embedded's fallback) and left.

    Another run on the machine may be using one of its own right now: only a directory that
    is still there a moment after ours were stopped, with no server running in it and nobody
    holding its lock (db.embedded holds it through initdb and start), counts.
    """
    kept_roots = {path.parent for path in kept}
    new = [path for path in _cluster_fallbacks() - run.var_tmp_before if path not in kept_roots]
    if not new:
        return []
    time.sleep(SETTLE_S)
    problems = []
    for path in new:
        with _unless_locked(path / "postgres.lock") as free:
            if free and path.exists() and not _running_postmaster(path / "postgres"):
                problems.append(f"cluster directory left: {path}")
                shutil.rmtree(path, ignore_errors=True)
    return problems


@contextlib.contextmanager
def _unless_locked(lock_file: Path) -> Iterator[bool]:
    """Whether db.embedded's lock on a cluster directory is free; held meanwhile if so."""
    try:
        handle = lock_file.open("rb")
    except FileNotFoundError:
        yield True
        return
    except OSError:
        yield False
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cluster_fallbacks() -> set[Path]:
    try:
        return {path.resolve() for path in VAR_TMP.glob(CLUSTER_FALLBACK_GLOB) if path.is_dir()}
    except OSError:
        return set()


def _stop_clusters_in(directory: Path) -> None:
    """A cluster started without this run's marker (a scrubbed environment) still dies here."""
    for pid_file in directory.rglob("postmaster.pid") if directory.is_dir() else ():
        postmaster = _running_postmaster(pid_file.parent)
        if postmaster is not None:
            with contextlib.suppress(psutil.Error):
                _stop([postmaster, *postmaster.children(recursive=True)])


def _running_postmaster(data_dir: Path) -> psutil.Process | None:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        process = psutil.Process(pid)
        return process if _is_postmaster(process) else None
    except (OSError, ValueError, IndexError, psutil.Error):
        return None

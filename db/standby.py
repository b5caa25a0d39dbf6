"""A hot standby of an embedded cluster, for `serve --replica` and the replica tests.

`pg_basebackup -R` copies the running primary over a replication connection on 127.0.0.1
(PostgreSQL 15's defaults already allow it: `wal_level=replica`, `max_wal_senders=10`, and
initdb's pg_hba has `host replication all 127.0.0.1/32`) and writes `standby.signal` and the
`primary_conninfo` it used; the copy then starts like any embedded cluster, on a free port of its
own, and streams the primary's WAL from then on. The superuser and its password are the
primary's (the copy includes pg_authid), so the standby reuses the primary's password file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from db.embedded import (
    SUPERUSER,
    EmbeddedPostgres,
    EmbeddedPostgresError,
    _give_to_service,
    _Layout,
    find_pg_bindir,
)

BASEBACKUP_TIMEOUT_S = 600.0
PORT_IN_CONNINFO = re.compile(r"(primary_conninfo = '[^\n]*?\bport=)\d+")


@dataclass
class EmbeddedStandby(EmbeddedPostgres):
    """A streaming standby of `primary`, kept in `data_dir` (its files beside it as for any
    embedded cluster: password, log, lock). Started, it follows the primary wherever the
    primary's current port is (`primary_conninfo` is rewritten before each start)."""

    primary: EmbeddedPostgres | None = None

    def start(self) -> None:
        primary = self.require_primary()
        layout = self._layout()
        if not self.password_file.exists():  # the primary's superuser, copied with pg_authid
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(primary.password_file.read_text())
        if (layout.data_dir / "PG_VERSION").exists():
            self.follow(primary.port)
        super().start()

    def require_primary(self) -> EmbeddedPostgres:
        if self.primary is None:
            raise EmbeddedPostgresError("a standby needs its primary: EmbeddedStandby(primary=…)")
        self.primary.port  # noqa: B018 - raises unless the primary is started
        return self.primary

    def _initdb(self, layout: _Layout, password: str) -> None:
        """Instead of initdb: a base backup of the primary, configured as its standby (-R)."""
        primary = self.require_primary()
        layout.data_dir.mkdir(mode=0o700, exist_ok=True)
        _give_to_service(layout.data_dir, layout.service)
        args = [
            str(find_pg_bindir() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", SUPERUSER, "-D", str(layout.data_dir), "-R", "-X", "stream",
            "-c", "fast", "--no-password",
        ]  # fmt: skip
        service = layout.service
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=BASEBACKUP_TIMEOUT_S, cwd="/",
            check=False, env={"PGPASSWORD": password, "LC_ALL": "C"},  # the password alone
            user=service.uid if service else None,
            group=service.gid if service else None,
            extra_groups=service.groups if service else None,
        )  # fmt: skip
        if result.returncode != 0:
            shutil.rmtree(layout.data_dir, ignore_errors=True)
            raise EmbeddedPostgresError(
                f"pg_basebackup of 127.0.0.1:{primary.port} failed: "
                f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}"
            )
        # Vacuum on the primary then spares the rows a search on the standby is reading, rather
        # than the standby cancelling the search (it would be run again on the primary).
        with (layout.data_dir / "postgresql.auto.conf").open("a") as auto_conf:
            auto_conf.write("hot_standby_feedback = on\n")

    def follow(self, port: int) -> None:
        """Point `primary_conninfo` at the primary's port of today (it takes a free port at
        each start)."""
        auto_conf = self._layout().data_dir / "postgresql.auto.conf"
        text = auto_conf.read_text()
        updated = PORT_IN_CONNINFO.sub(rf"\g<1>{port}", text)
        if updated != text:
            auto_conf.write_text(updated)

    def set_apply_delay(self, delay_ms: int) -> None:
        """`recovery_min_apply_delay` (a reloadable setting): a standby that replays each commit
        only after `delay_ms`, so that tests can watch reads wait for it or avoid it."""
        layout = self._layout()
        conf = layout.data_dir / "postgresql.conf"
        lines = [
            line
            for line in conf.read_text().splitlines()
            if not line.startswith("recovery_min_apply_delay")
        ]
        lines.append(f"recovery_min_apply_delay = '{delay_ms}ms'")
        conf.write_text("\n".join(lines) + "\n")
        result = self._pg_ctl(["reload", "-D", str(layout.data_dir)])
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"could not reload the standby: {result.stderr.strip()}")

    def remove(self) -> None:
        """Stop (if started here) and delete the standby and its files."""
        self.stop()
        root = self._layout().root
        shutil.rmtree(root, ignore_errors=True)


def standby_of(primary: EmbeddedPostgres, data_dir: Path) -> EmbeddedStandby:
    """The standby of `primary` kept in `data_dir` (made by the first `start()`)."""
    return EmbeddedStandby(data_dir=data_dir, primary=primary)


__all__ = ["EmbeddedStandby", "standby_of"]

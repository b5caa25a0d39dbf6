"""`serve` ends on SIGTERM (docker stop, systemd) through its clean-up, as on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from api.settings import PROJECT_ROOT
from tests.servers import running_server


def test_sigterm_stops_the_server_and_removes_its_rate_limit_table(
    database_url: str, tmp_path: Path
) -> None:
    with running_server(database_url, tmp_path / "term.log") as server:
        table = PROJECT_ROOT / ".data" / f"rate-limits-{server.process.pid}.bin"
        assert table.exists()  # created by this server process at start
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = None
    assert code == 128 + signal.SIGTERM
    assert not table.exists()
    assert "Application shutdown complete" in server.output()

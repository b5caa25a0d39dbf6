"""`serve` ends on SIGTERM (docker stop, systemd) through its clean-up, as on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.servers import running_server


def test_sigterm_stops_the_server_through_its_clean_up(database_url: str, tmp_path: Path) -> None:
    with running_server(database_url, tmp_path / "term.log") as server:
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = None
    assert code == 128 + signal.SIGTERM
    assert "Application shutdown complete" in server.output()

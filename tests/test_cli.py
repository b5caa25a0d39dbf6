"""`python -m api` as an operator runs it: help, and bad configuration as one line, exit code 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from api.settings import PROJECT_ROOT, Settings
from db.migrate import head_revision

COMMANDS = ("serve", "migrate", "seed", "export-schema")
SETTINGS_VARIABLES = {spec.metadata["env"] for spec in fields(Settings)}


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with only the given settings variables (the caller's are left out)."""
    base = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        cwd=PROJECT_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port: int = holder.getsockname()[1]
        yield port


def assert_one_line_error(result: subprocess.CompletedProcess[str], *mentions: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for mention in mentions:
        assert mention in lines[0]


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")

    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str) -> None:
    result = run_cli(command, "--help")

    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_unreachable_database_url_is_one_clear_line() -> None:
    port = free_port()

    result = run_cli("migrate", DATABASE_URL=f"postgresql://x@127.0.0.1:{port}/x")

    assert_one_line_error(result, "DATABASE_URL", f"127.0.0.1:{port}")


def test_port_in_use_is_one_clear_line(taken_port: int, database_url: str) -> None:
    result = run_cli(
        "serve", "--port", str(taken_port), DATABASE_URL=database_url, HOST="127.0.0.1"
    )

    assert_one_line_error(result, "already in use", str(taken_port))


def test_invalid_setting_is_one_clear_line_naming_it() -> None:
    result = run_cli("migrate", PORT="abc")

    assert_one_line_error(result, "PORT", "abc")


def test_migrate_with_database_url_starts_no_embedded_cluster(
    database_url: str, tmp_path: Path
) -> None:
    result = run_cli("migrate", DATABASE_URL=database_url, VOISINAGE_DATA_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert f"database at revision {head_revision()}" in result.stderr
    assert not (tmp_path / "postgres").exists()

"""End-to-end fixtures for the web client: a real server on the demo seed serving web/dist, and
Debian's Chromium driven headless by Playwright (never a downloaded browser).

`make test` builds web/dist and installs Chromium first (scripts/bootstrap-web.sh); without
them these tests are skipped with the command to run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy.engine import make_url

from api.runtime import libpq_url
from api.settings import PROJECT_ROOT
from tests.servers import Server, running_server
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, OUTPUT

WEB_DIST = PROJECT_ROOT / "web" / "dist"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = []
    if not (WEB_DIST / "index.html").is_file():
        missing.append("web/dist (run `make web`)")
    if not Path(CHROMIUM).is_file():
        missing.append(f"{CHROMIUM} (run `scripts/bootstrap-web.sh` as root)")
    if not missing:
        return
    skip = pytest.mark.skip(reason="web client e2e needs " + " and ".join(missing))
    for item in items:
        if "tests/web/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_database_url(server_url: str) -> Iterator[str]:
    """A database of its own with the demo seed: the suite's shared one must stay empty."""
    name = f"voisinage_web_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        env = {**os.environ, "DATABASE_URL": url, "PASSWORD_HASHING": "fast"}
        seeded = subprocess.run(
            [sys.executable, "-m", "api", "seed"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if seeded.returncode != 0:
            pytest.fail(f"python -m api seed failed:\n{seeded.stdout}\n{seeded.stderr}")
        yield url
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


@pytest.fixture(scope="session")
def web_server(demo_database_url: str) -> Iterator[Server]:
    """The API serving web/dist. Rate limits off: every browser here is 127.0.0.1."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with running_server(
        demo_database_url,
        OUTPUT / "server.log",
        RATE_LIMIT_PER_MINUTE="0",
        PROXIMITY_RATE_LIMIT_PER_MINUTE="0",
    ) as server:
        yield server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with a short TMPDIR of its own: its singleton socket lives there, and a Unix
    socket path may not exceed 107 bytes (the run's temporary directory is longer)."""
    short_tmp = tempfile.mkdtemp(prefix="vw-", dir="/tmp")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, env={**os.environ, "TMPDIR": short_tmp}
    )
    try:
        yield browser
    finally:
        browser.close()
        shutil.rmtree(short_tmp, ignore_errors=True)

"""Helpers for the web client's end-to-end tests: pages that record what they do, log-in, axe."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, ViewportSize, expect

from api.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = PROJECT_ROOT / ".data" / "test-output" / "web"
AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
DEMO_PASSWORD = "voisinage-demo"  # the documented demo credential
MEMBER = "membre@demo.voisinage.fr"
AMBASSADOR = "ambassadrice@demo.voisinage.fr"
BLOCKING = ("serious", "critical")


@dataclass
class Tab:
    """A browser context and its page, with what left the origin and what went wrong."""

    page: Page
    name: str
    origin: str
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    step: int = 0

    def shot(self, label: str) -> None:
        self.step += 1
        folder = OUTPUT / self.name
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=folder / f"{self.step:02d}-{label}.png", full_page=True)

    def goto(self, path: str) -> None:
        self.page.goto(self.origin + path)


@contextmanager
def tab(browser: Browser, origin: str, name: str, *, mobile: bool = False) -> Iterator[Tab]:
    viewport: ViewportSize = (
        {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
    )
    context = browser.new_context(base_url=origin, viewport=viewport, locale="fr-FR")
    context.set_default_timeout(10_000)
    # Init scripts run through the DevTools protocol, so axe is there without loosening the CSP.
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    current = Tab(page=page, name=name, origin=origin)
    page.on("request", lambda request: _record_origin(current, request.url))
    page.on("pageerror", lambda error: current.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            current.problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    try:
        yield current
    finally:
        context.close()
    assert current.outside == [], f"requests left the origin: {current.outside}"
    assert current.problems == [], "\n".join(current.problems)


def _record_origin(current: Tab, url: str) -> None:
    if url.startswith(("data:", "blob:")):
        return
    parts = urlsplit(url)
    if f"{parts.scheme.replace('ws', 'http')}://{parts.netloc}" != current.origin:
        current.outside.append(url)


def log_in(current: Tab, email: str) -> None:
    page = current.page
    current.goto("/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name=re.compile("Mon quartier"))).to_be_visible()


def axe(current: Tab, screen: str) -> list[dict[str, object]]:
    """Runs axe-core (WCAG 2.x A/AA rules) on the page; returns the serious/critical violations
    and prints every violation's id and impact, for the record."""
    result = current.page.evaluate(
        """async () => {
          const r = await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
          });
          return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                          targets: v.nodes.slice(0, 3).map(n => n.target)}));
        }"""
    )
    violations: list[dict[str, object]] = list(result)
    summary = ", ".join(f"{v['id']}({v['impact']})" for v in violations) or "none"
    print(f"axe {screen}: {summary}")
    (OUTPUT / "axe").mkdir(parents=True, exist_ok=True)
    (OUTPUT / "axe" / f"{screen}.json").write_text(json.dumps(violations, indent=2))
    return [v for v in violations if v["impact"] in BLOCKING]


def output_path(*parts: str) -> Path:
    path = OUTPUT.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path

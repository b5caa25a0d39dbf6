"""Where the db layer reaches past SQLAlchemy: the nearest-first searches' psycopg read pool.

CONVENTIONS.md, "Fast paths": code that replaces or reaches inside a library lives here, says what
it replaces and the figure that justified it, names the library versions it was tested with
(`TESTED_WITH`, checked against what is installed by `version_drift`), and is switched off by
one setting, FAST_PATHS (api/settings.py; `api.fastpaths.enabled` decides, and gives the app
either `reads.ReadPool` or the stock `db.searches.EngineReads`).

This package imports nothing from above the db layer: the decision is taken in `api.fastpaths`.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Mapping

log = logging.getLogger("voisinage.fastpaths")

TESTED_WITH: Mapping[str, str] = {
    "sqlalchemy": "2.1.9",
    "psycopg": "3.3.9",
    "psycopg-pool": "3.3.3",
}
"""The versions `db.fastpaths.reads` was tested with (the pins of pyproject.toml: a test keeps
them equal, so bumping a pin means running the suite in both modes and updating this)."""


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_drift(tested: Mapping[str, str]) -> dict[str, tuple[str, str | None]]:
    """{distribution: (tested, installed)} for each library whose installed version is not the
    one tested (None: not installed)."""
    drift: dict[str, tuple[str, str | None]] = {}
    for distribution, version in tested.items():
        installed = installed_version(distribution)
        if installed != version:
            drift[distribution] = (version, installed)
    return drift


def warn_of_drift(module: str, tested: Mapping[str, str]) -> dict[str, tuple[str, str | None]]:
    """`version_drift`, logged as one warning naming the module (called at its import): a soft
    assertion, since FAST_PATHS=auto then falls back to the stock paths and `on` keeps going."""
    drift = version_drift(tested)
    if drift:
        found = ", ".join(f"{name} {have} (tested {want})" for name, (want, have) in drift.items())
        log.warning("%s was tested with other library versions: %s", module, found)
    return drift


DRIFT = warn_of_drift(__name__, TESTED_WITH)

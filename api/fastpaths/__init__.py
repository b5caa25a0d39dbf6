"""The fast paths: code that replaces or reaches inside a library, in one room, with a switch.

CONVENTIONS.md, "Fast paths". Each module here opens with what stock path it replaces, why, the
figure that justified it and the library versions it was tested with:

| module | replaces (stock path when FAST_PATHS=off) |
| --- | --- |
| `execution` | graphql-core's per-field execution (Strawberry's default execution context) |
| `fanout` | per-subscriber rendering of live events (Strawberry's graphql-transport-ws) |
| `ws_protocol`, `inbox` | uvicorn's own sans-I/O WebSocket protocol (`ws="websockets-sansio"`) |
| `document_cache` | Strawberry's `ValidationCache`; no cache of operation measures |
| `db.fastpaths.reads` | SQLAlchemy's async engine for the searches (`db.searches.EngineReads`) |

`enabled(settings)` is the one place that decides; every call site asks it. The setting
(FAST_PATHS, api/settings.py) is `on` (default), `off`, or `auto`: on, unless an installed
library is not the version the fast paths were tested with (`TESTED_WITH`, checked at import
and logged as a warning), then off. `make test` runs the parity suite
(tests/test_fast_paths_parity.py: two apps, one per mode, same requests, same bytes) and a
share of tests/api with `--fast-paths=off`.

The two modules that import names outside their library's public API, `execution`
(graphql-core's executor internals) and `ws_protocol` (uvicorn's protocol class), are imported
only once `enabled` said yes, so a library upgrade that breaks their imports leaves `off` and
`auto` working. `fanout`, `inbox`, `document_cache` and `db.fastpaths.reads` are imported in
both modes: `fanout` shares nothing when off, `inbox` also serves `api.pubsub`'s subscribers in
both modes, and the searches' statements are compiled by `reads.ReadStatement` in both (the
stock path executes the `Select` it keeps).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping

from api.settings import Settings
from db import fastpaths as db_fastpaths

log = logging.getLogger("voisinage.fastpaths")

TESTED_WITH: Mapping[str, str] = {
    "strawberry-graphql": "0.341.3",
    "graphql-core": "3.3.2",
    "uvicorn": "0.55.0",
    "starlette": "1.10.0",
    **db_fastpaths.TESTED_WITH,
}
"""The library versions every fast path was tested with (pyproject.toml's `==` pins; a test
keeps them equal). Bump a pin on purpose: run `make test` (both modes), then update this."""

DRIFT = db_fastpaths.warn_of_drift(__name__, TESTED_WITH)
"""{distribution: (tested, installed)} for the libraries installed at another version."""

MODES = ("on", "off", "auto")


def enabled(settings: Settings) -> bool:
    """Whether the fast paths run: FAST_PATHS=on (even on drifted libraries, with the warning
    logged at import), off, or auto (on unless `DRIFT`)."""
    if settings.fast_paths == "off":
        return False
    if settings.fast_paths == "auto" and DRIFT:
        warn_fallback()
        return False
    return True


@functools.cache
def warn_fallback() -> None:
    found = ", ".join(f"{name} {have} (tested {want})" for name, (want, have) in DRIFT.items())
    log.warning("FAST_PATHS=auto: running the stock library paths, since %s", found)


def websocket_protocol(settings: Settings) -> type | str:
    """uvicorn's `ws` option: the trimmed protocol (`ws_protocol`), or uvicorn's own sans-I/O
    one, which it subclasses."""
    if not enabled(settings):
        return "websockets-sansio"
    from api.fastpaths.ws_protocol import LeanWebSocketsProtocol

    return LeanWebSocketsProtocol

"""The uvicorn entry point: `uvicorn --factory api.asgi:create_app_from_env`.

Worker processes build their settings from the environment here, the only place besides the CLI
that calls `Settings.from_env`.
"""

from __future__ import annotations

from starlette.applications import Starlette

from api.app import create_app
from api.observability import configure_logging
from api.settings import Settings


def create_app_from_env() -> Starlette:
    settings = Settings.from_env()
    configure_logging(json_lines=settings.log_json, level=settings.log_level)
    return create_app(settings)

"""`python -m api` / `voisinage`: serve, migrate, seed, export the schema, bulk geography tools.

Every command resolves the database the same way (DATABASE_URL, or the embedded cluster) and
reports bad configuration as one line on stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from api.runtime import ConfigurationError, check_port_free, database
from api.settings import PROJECT_ROOT, Settings, SettingsError

app = typer.Typer(
    help="Voisinage: GraphQL API over PostGIS for neighbourhood sharing networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)  # one message = one line, whatever the width
F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(command: F) -> F:
    """Bad configuration ends with one clear line, not a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigurationError, SettingsError) as error:
            err.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def load_settings() -> Settings:
    return Settings.from_env()


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (docker stop, systemd, kill) ends `serve` like Ctrl-C does: through its
    `finally` blocks, which stop the embedded cluster.

    uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the handler it
    found installed; with Python's default one the process would die on the spot and leave the
    embedded PostgreSQL running.
    """
    del frame
    raise SystemExit(128 + signum)


@app.command()
@clear_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default: PORT)")] = None,
    seed: Annotated[bool | None, typer.Option(help="Load the demo seed first")] = None,
    replica: Annotated[
        bool,
        typer.Option(
            help="Also run a hot standby of the embedded cluster (in <data dir>/standby) and "
            "serve queries' reads from it (docs/scale.md)"
        ),
    ] = False,
) -> None:
    """Migrate, load the demo seed and serve the API (Ctrl-C or SIGTERM stops it and the embedded database)."""
    import uvicorn

    from api.fastpaths import websocket_protocol
    from api.replica_routing import embedded_standby
    from db.migrate import upgrade

    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    check_port_free(host, port)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    with (
        database(settings) as resolved,
        embedded_standby(settings, enabled=replica) as replica_url,
    ):
        assert resolved.database_url
        if replica_url is not None:  # workers rebuild settings from env
            os.environ["DATABASE_REPLICA_URLS"] = replica_url
            err.print("reads of queries from a hot standby of the embedded cluster")
        upgrade(resolved.database_url)
        if settings.seed_demo if seed is None else seed:
            from seeds.demo import load_demo

            summary = asyncio.run(load_demo(resolved.database_url))
            err.print(f"demo seed: {summary}", highlight=False)
        os.environ["DATABASE_URL"] = resolved.database_url  # workers rebuild settings from env
        if settings.workers > 1 and settings.redis_url is None:
            err.print(
                f"[yellow]warning:[/] WORKERS={settings.workers} without REDIS_URL: each worker "
                "counts rate limits and failed sign-ins alone (up to "
                f"{settings.workers} times the limits); set REDIS_URL to share them.",
                highlight=False,
            )
        if (settings.database_replica_urls or replica_url) and (
            settings.workers > 1 and settings.redis_url is None
        ):
            err.print(
                "[yellow]warning:[/] standbys and several workers without REDIS_URL: each "
                "worker knows only the writes it served, so a viewer may miss their own write "
                "on a standby; set REDIS_URL (docs/scale.md).",
                highlight=False,
            )
        err.print(f"[green]Voisinage[/] on http://{host}:{port}/graphql", highlight=False)
        uvicorn.run(
            "api.asgi:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            loop="uvloop",
            http="httptools",
            ws=websocket_protocol(settings),  # uvicorn's sans-I/O protocol, or ours (leaner)
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=5,
            ws_max_size=settings.max_ws_message_bytes,
            # Messages are small (~1 kB); per-connection deflate state costs ~40 KiB per socket.
            ws_per_message_deflate=False,
            # graphql-transport-ws has no server ping of its own: WebSocket ping frames keep
            # idle subscriptions open through proxies and find dead peers.
            ws_ping_interval=settings.ws_ping_interval_seconds,
            ws_ping_timeout=20,
            # The client's address is the socket's peer, unless that peer is a trusted proxy:
            # then its X-Forwarded-For. uvicorn would otherwise believe 127.0.0.1 by default.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=list(settings.forwarded_allow_ips),
        )


@app.command()
@clear_errors
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    down: Annotated[bool, typer.Option(help="Downgrade to the revision instead")] = False,
) -> None:
    """Apply (or revert) database migrations."""
    from db.migrate import current_revision, downgrade, upgrade

    with database(load_settings()) as resolved:
        assert resolved.database_url
        (downgrade if down else upgrade)(resolved.database_url, revision)
        err.print(f"database at revision {current_revision(resolved.database_url)}")


class SeedProfile(StrEnum):
    demo = "demo"
    france = "france"


@app.command()
@clear_errors
def seed(
    reset: Annotated[bool, typer.Option(help="Empty the tables first and start over")] = False,
    profile: Annotated[
        SeedProfile,
        typer.Option(help="demo: Yvelines, idempotent; france: replaces everything, by COPY"),
    ] = SeedProfile.demo,
    households: Annotated[
        int, typer.Option(min=0, help="France profile: number of households")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option(help="France profile: random seed")] = 1,
) -> None:
    """Load the demo seed (idempotent: loading it twice changes nothing), or the France profile."""
    from db.migrate import upgrade
    from seeds.demo import load_demo

    settings = load_settings()
    with database(settings) as resolved:
        assert resolved.database_url
        upgrade(resolved.database_url)
        if profile is SeedProfile.france:
            from seeds.france import load_france

            asyncio.run(
                load_france(
                    resolved.database_url,
                    households=households,
                    seed=seed,
                    resolution=settings.h3_resolution,
                )
            )
            return
        summary = asyncio.run(load_demo(resolved.database_url, reset=reset))
        err.print(f"demo seed: {summary}", highlight=False)


@app.command("export-schema")
def export_schema(
    output: Annotated[Path, typer.Option(help="Where to write the SDL")] = PROJECT_ROOT
    / "schema.graphql",
) -> None:
    """Write the GraphQL SDL of the running schema (the committed `schema.graphql`)."""
    from api.schema import export_sdl

    output.write_text(export_sdl(), encoding="utf-8")
    err.print(f"wrote {output}")


@app.command("import-neighbourhoods")
@clear_errors
def import_neighbourhoods(
    path: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection (.geojson or .gz)")],
    name_property: Annotated[str, typer.Option(help="Feature property with the name")] = "nom",
    code_property: Annotated[
        str | None, typer.Option(help="Feature property with the INSEE code")
    ] = "code",
) -> None:
    """Import neighbourhood polygons, then reassign every household."""
    from db.bulk import import_neighbourhoods as run_import

    with database(load_settings()) as resolved:
        assert resolved.database_url
        counts = asyncio.run(
            run_import(
                resolved.database_url,
                path,
                name_property=name_property,
                code_property=code_property,
                max_area_m2=resolved.max_neighbourhood_area_m2,
            )
        )
        err.print(f"imported: {counts}", highlight=False)


@app.command()
@clear_errors
def reassign() -> None:
    """Re-run the assignment rule for every household (after bulk boundary changes)."""
    from db.bulk import reassign_all

    settings = load_settings()
    with database(settings) as resolved:
        assert resolved.database_url
        counts = asyncio.run(reassign_all(resolved.database_url, resolution=settings.h3_resolution))
        err.print(f"reassigned: {counts}", highlight=False)


@app.command()
@clear_errors
def digest(
    send: Annotated[
        bool, typer.Option(help="Send the e-mails (without it: only list who would get one)")
    ] = False,
) -> None:
    """The weekly digest: e-mail each subscribed account what is new in its network this week
    (run once a week by cron; a second run the same week sends nobody anything twice)."""
    run = asyncio.run(run_digest(load_settings(), send=send))
    verb = "sent" if send else "would send"
    err.print(
        f"digest: {verb} {len(run.sent)}, nothing new for {run.nothing_new}, failed {run.failed}",
        highlight=False,
    )
    if run.failed:
        raise typer.Exit(1)


async def run_digest(settings: Settings, *, send: bool) -> Any:
    from datetime import UTC, datetime

    from api.mailer import mailer_for_settings
    from api.unsubscribe import digest_secret
    from db.engine import create_engine
    from services.digest import send_digests

    with database(settings) as resolved:
        assert resolved.database_url
        engine = create_engine(resolved.database_url, pool_size=2)
        try:
            return await send_digests(
                engine,
                mailer_for_settings(resolved),
                digest_secret(resolved),
                send=send,
                now=datetime.now(UTC),
            )
        finally:
            await engine.dispose()


def main() -> None:
    app(prog_name="voisinage")


if __name__ == "__main__":
    main()

"""The one settings object of the service.

It is read from the environment once, in `Settings.from_env`, and passed down explicitly
(`create_app(settings)`, the CLI). Nothing else in the project reads `os.environ`, so a test can
build any configuration without touching the process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production")


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


def _bool(raw: str, name: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false")


def _int(raw: str, name: str, *, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _float(raw: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _list(raw: str, _name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every knob of the service; the README's settings table mirrors the `env` metadata here."""

    database_url: str | None = field(
        default=None,
        metadata={"env": "DATABASE_URL", "doc": "PostgreSQL URL; unset = private embedded cluster"},
    )
    data_dir: Path = field(
        default=PROJECT_ROOT / ".data",
        metadata={"env": "VOISINAGE_DATA_DIR", "doc": "where the embedded cluster keeps its files"},
    )
    host: str = field(default="127.0.0.1", metadata={"env": "HOST", "doc": "address to bind"})
    port: int = field(default=8000, metadata={"min": 1, "env": "PORT", "doc": "TCP port to bind"})
    workers: int = field(
        default=1, metadata={"min": 1, "env": "WORKERS", "doc": "uvicorn worker processes"}
    )
    db_pool_size: int = field(
        default=8,
        metadata={
            "min": 1,
            "env": "DB_POOL_SIZE",
            "doc": "database connections per process (≤ 10 on 2 cores)",
        },
    )
    db_read_pool_size: int = field(
        default=4,
        metadata={
            "min": 1,
            "env": "DB_READ_POOL_SIZE",
            "doc": "read-only connections per process for the nearest-first searches",
        },
    )
    fast_paths: str = field(
        default="on",
        metadata={
            "env": "FAST_PATHS",
            "doc": "on: the code that replaces library internals (api/fastpaths, db/fastpaths); "
            "off: the libraries' stock paths; auto: on unless a library is not the version they "
            "were tested with (docs/limits.md)",
        },
    )
    database_replica_urls: tuple[str, ...] = field(
        default=(),
        metadata={
            "env": "DATABASE_REPLICA_URLS",
            "doc": "comma-separated URLs of hot standbys of DATABASE_URL that serve the reads of "
            "queries (docs/scale.md); empty: every read on the primary",
        },
    )
    replica_max_lag_s: float = field(
        default=5.0,
        metadata={
            "env": "REPLICA_MAX_LAG_SECONDS",
            "doc": "a standby further behind the primary than this is skipped until it catches up",
        },
    )
    log_json: bool = field(
        default=False, metadata={"env": "LOG_JSON", "doc": "one JSON object per log line"}
    )
    log_level: str = field(default="INFO", metadata={"env": "LOG_LEVEL", "doc": "log level"})
    h3_resolution: int = field(
        default=7,
        metadata={"env": "H3_RESOLUTION", "doc": "H3 resolution of fallback neighbourhoods"},
    )
    service_area: str = field(
        default="france",
        metadata={
            "env": "SERVICE_AREA",
            "doc": "france: locations outside metropolitan France and the overseas départements "
            "are refused (OUTSIDE_SERVICE_AREA); world: every valid coordinate is accepted",
        },
    )
    max_neighbourhood_area_km2: float = field(
        default=500.0,
        metadata={
            "env": "MAX_NEIGHBOURHOOD_AREA_KM2",
            "doc": "largest boundary a neighbourhood may have",
        },
    )
    min_neighbourhood_area_km2: float = field(
        default=0.5,
        metadata={
            "env": "MIN_NEIGHBOURHOOD_AREA_KM2",
            "doc": "smallest area of each part of a boundary drawn through the API (privacy)",
        },
    )
    max_drawn_neighbourhoods: int = field(
        default=3,
        metadata={
            "min": 1,
            "env": "MAX_DRAWN_NEIGHBOURHOODS",
            "doc": "networks one account (not an admin) may draw in 30 days",
        },
    )
    proximity_floor_m: int = field(
        default=500,
        metadata={
            "env": "PROXIMITY_FLOOR_METERS",
            "doc": "smallest `maxDistanceMeters` a proximity search accepts (privacy)",
        },
    )
    search_ceiling_m: int = field(
        default=50_000,
        metadata={
            "env": "SEARCH_CEILING_METERS",
            "doc": "farthest a proximity search looks, in metres",
        },
    )
    introspection: bool = field(
        default=True,
        metadata={"env": "GRAPHQL_INTROSPECTION", "doc": "allow schema introspection"},
    )
    graphiql: bool = field(
        default=True, metadata={"env": "GRAPHIQL", "doc": "serve GraphiQL on GET /graphql"}
    )
    max_page_size: int = field(
        default=100,
        metadata={"min": 1, "env": "MAX_PAGE_SIZE", "doc": "largest `first` of a connection"},
    )
    max_query_depth: int = field(
        default=12,
        metadata={"min": 1, "env": "MAX_QUERY_DEPTH", "doc": "deepest selection allowed"},
    )
    max_aliases: int = field(
        default=30, metadata={"env": "MAX_ALIASES", "doc": "most aliases in one document"}
    )
    max_tokens: int = field(
        default=2000, metadata={"min": 1, "env": "MAX_TOKENS", "doc": "most tokens in one document"}
    )
    max_body_bytes: int = field(
        default=100_000,
        metadata={"min": 1, "env": "MAX_BODY_BYTES", "doc": "largest HTTP request body accepted"},
    )
    max_ws_message_bytes: int = field(
        default=100_000,
        metadata={
            "min": 1,
            "env": "MAX_WS_MESSAGE_BYTES",
            "doc": "largest WebSocket message accepted (uvicorn `ws_max_size`)",
        },
    )
    max_query_cost: int = field(
        default=5_000,
        metadata={
            "min": 1,
            "env": "MAX_QUERY_COST",
            "doc": "highest static cost of one operation (see docs/limits.md)",
        },
    )
    proximity_search_cost: int = field(
        default=50,
        metadata={
            "env": "PROXIMITY_SEARCH_COST",
            "doc": "cost added by each proximity search field in an operation",
        },
    )
    operation_timeout_s: float = field(
        default=10.0,
        metadata={
            "env": "OPERATION_TIMEOUT_SECONDS",
            "doc": "deadline of one query or mutation; after it the work stops (TIMEOUT)",
        },
    )
    rate_limit_per_minute: int = field(
        default=600,
        metadata={
            "env": "RATE_LIMIT_PER_MINUTE",
            "doc": "operations per client address, and per account, per minute (0 = off)",
        },
    )
    proximity_rate_limit_per_minute: int = field(
        default=120,
        metadata={
            "env": "PROXIMITY_RATE_LIMIT_PER_MINUTE",
            "doc": "proximity searches per client address, and per account, per minute (0 = off)",
        },
    )
    sign_in_failures_per_account: int = field(
        default=5,
        metadata={
            "env": "SIGN_IN_FAILURES_PER_ACCOUNT",
            "doc": "failed sign-ins for one e-mail per window before TOO_MANY_ATTEMPTS (0 = off)",
        },
    )
    sign_in_failures_per_address: int = field(
        default=50,
        metadata={
            "env": "SIGN_IN_FAILURES_PER_ADDRESS",
            "doc": "failed sign-ins from one client address per window before TOO_MANY_ATTEMPTS "
            "(0 = off)",
        },
    )
    sign_in_window_minutes: int = field(
        default=15,
        metadata={
            "min": 1,
            "env": "SIGN_IN_WINDOW_MINUTES",
            "doc": "window of the failed sign-in counts, in minutes",
        },
    )
    redis_url: str | None = field(
        default=None,
        metadata={
            "env": "REDIS_URL",
            "doc": "Redis keeping the rate-limit and sign-in counters for every worker and server "
            "(e.g. redis://127.0.0.1:6379/0); unset: each process counts alone, in memory",
        },
    )
    redis_key_prefix: str = field(
        default="voisinage",
        metadata={"env": "REDIS_KEY_PREFIX", "doc": "prefix of the keys written to Redis"},
    )
    forwarded_allow_ips: tuple[str, ...] = field(
        default=(),
        metadata={
            "env": "FORWARDED_ALLOW_IPS",
            "doc": "comma-separated addresses or networks of trusted reverse proxies, whose "
            "X-Forwarded-For is believed; empty: the client is the socket's peer",
        },
    )
    environment: str = field(
        default="development",
        metadata={
            "env": "VOISINAGE_ENV",
            "doc": "development or production (production: introspection for admins only)",
        },
    )
    cors_origins: tuple[str, ...] = field(
        default=("http://localhost:5173",),
        metadata={"env": "CORS_ORIGINS", "doc": "comma-separated origins of the web client"},
    )
    ws_max_connections_per_viewer: int = field(
        default=5,
        metadata={
            "min": 1,
            "env": "WS_MAX_CONNECTIONS_PER_VIEWER",
            "doc": "WebSocket connections one account may hold per server process",
        },
    )
    ws_ping_interval_seconds: int = field(
        default=15,
        metadata={
            "min": 1,
            "env": "WS_PING_INTERVAL_SECONDS",
            "doc": "WebSocket ping frames to idle subscribers (a peer silent for 20 s more is "
            "closed)",
        },
    )
    ws_max_subscriptions_per_connection: int = field(
        default=20,
        metadata={
            "min": 1,
            "env": "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
            "doc": "subscriptions one WebSocket connection may run at once",
        },
    )
    subscription_queue_size: int = field(
        default=256,
        metadata={
            "min": 1,
            "env": "SUBSCRIPTION_QUEUE_SIZE",
            "doc": "events buffered per subscription before a slow consumer is cut off (4008)",
        },
    )
    live_cursor_secret: str = field(
        default="",
        metadata={
            "env": "LIVE_CURSOR_SECRET",
            "doc": "key signing live-post cursors and the weekly digest's unsubscribe links "
            "(docs/live.md); empty: a random key kept in the data directory (live-cursor.key), "
            "shared by the workers of one machine (set it when the `digest` cron runs on another "
            "machine)",
        },
    )
    smtp_url: str | None = field(
        default=None,
        metadata={
            "env": "SMTP_URL",
            "doc": "where e-mail is sent: smtp://[user:password@]host:port[?starttls=true], or "
            "smtps:// for TLS from the start; unset: written to <data dir>/outbox/*.eml and the "
            "link logged",
        },
    )
    mail_outbox: Path | None = field(
        default=None,
        metadata={
            "env": "MAIL_OUTBOX",
            "doc": "folder of the .eml files written when SMTP_URL is unset (default: "
            "<data dir>/outbox)",
        },
    )
    mail_from: str = field(
        default="Voisinage <ne-pas-repondre@voisinage.local>",
        metadata={"env": "MAIL_FROM", "doc": "sender of the e-mails (From header)"},
    )
    public_url: str = field(
        default="http://127.0.0.1:8000",
        metadata={
            "env": "PUBLIC_URL",
            "doc": "address of the web client that e-mailed links open (/verifier, "
            "/reinitialiser: docs/accounts.md)",
        },
    )
    password_hashing: str = field(
        default="standard",
        metadata={
            "env": "PASSWORD_HASHING",
            "doc": "Argon2 parameters: standard; fast only for test suites",
        },
    )
    seed_demo: bool = field(
        default=True,
        metadata={"env": "SEED_DEMO", "doc": "`serve` loads the demo seed before serving"},
    )

    def __post_init__(self) -> None:
        if self.service_area not in ("france", "world"):
            raise SettingsError(f"SERVICE_AREA={self.service_area!r} must be france or world")
        if not 0 < self.proximity_floor_m <= self.search_ceiling_m:
            raise SettingsError(
                f"PROXIMITY_FLOOR_METERS={self.proximity_floor_m} must be positive and at most "
                f"SEARCH_CEILING_METERS={self.search_ceiling_m}"
            )
        if self.environment not in ENVIRONMENTS:
            raise SettingsError(
                f"VOISINAGE_ENV={self.environment!r} must be one of {', '.join(ENVIRONMENTS)}"
            )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://")):
            raise SettingsError(
                f"REDIS_URL={self.redis_url!r} must start with redis:// or rediss://"
            )
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise SettingsError("SMTP_URL must start with smtp:// or smtps://")
        if not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"PUBLIC_URL={self.public_url!r} must start with http:// or https://"
            )
        if self.fast_paths not in ("on", "off", "auto"):
            raise SettingsError(f"FAST_PATHS={self.fast_paths!r} must be on, off or auto")
        if self.password_hashing not in ("standard", "fast"):
            raise SettingsError(
                f"PASSWORD_HASHING={self.password_hashing!r} must be standard or fast"
            )
        if self.password_hashing == "fast" and self.environment == "production":  # noqa: S105
            raise SettingsError("PASSWORD_HASHING=fast is for test suites, never production")
        if not 0 < self.operation_timeout_s <= 3600:
            raise SettingsError(
                f"OPERATION_TIMEOUT_SECONDS={self.operation_timeout_s} must be above 0 and at "
                "most 3600"
            )

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from an environment mapping (default: the process environment)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            name = spec.metadata["env"]
            if name not in env:
                continue
            raw = env[name]
            default = spec.default
            if spec.name in {"database_url", "redis_url", "smtp_url"}:
                values[spec.name] = raw or None
            elif spec.name == "mail_outbox":
                values[spec.name] = Path(raw) if raw else None
            elif isinstance(default, bool):
                values[spec.name] = _bool(raw, name)
            elif isinstance(default, int):
                values[spec.name] = _int(raw, name, minimum=spec.metadata.get("min", 0))
            elif isinstance(default, float):
                values[spec.name] = _float(raw, name)
            elif isinstance(default, tuple):
                values[spec.name] = _list(raw, name)
            elif isinstance(default, Path):
                values[spec.name] = Path(raw)
            else:
                values[spec.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def max_neighbourhood_area_m2(self) -> float:
        return self.max_neighbourhood_area_km2 * 1_000_000

    @property
    def min_neighbourhood_area_m2(self) -> float:
        return self.min_neighbourhood_area_km2 * 1_000_000


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows for the README, so the docs cannot drift from the code."""
    rows = []
    for spec in fields(Settings):
        default = spec.default
        if isinstance(default, tuple):
            shown = ",".join(default) or "(empty)"
        elif isinstance(default, Path):
            shown = "<project>/.data"
        elif default is None:
            shown = "(unset)"
        else:
            shown = str(default)
        rows.append((spec.metadata["env"], shown, spec.metadata["doc"]))
    return rows

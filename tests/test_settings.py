"""Settings from an environment mapping: parsing, refusal with the variable's name, README drift."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from api.settings import PROJECT_ROOT, Settings, SettingsError, settings_table

SETTINGS_HEADER = ("variable", "default", "meaning")


def test_an_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_parses_ints_floats_bools_lists_and_paths() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://app@db.example:5432/voisinage",
            "VOISINAGE_DATA_DIR": "/srv/voisinage/data",
            "HOST": "0.0.0.0",
            "PORT": "8080",
            "DB_POOL_SIZE": "4",
            "LOG_JSON": "yes",
            "GRAPHIQL": "off",
            "GRAPHQL_INTROSPECTION": "FALSE",
            "MAX_NEIGHBOURHOOD_AREA_KM2": "12.5",
            "CORS_ORIGINS": " https://voisinage.example , http://localhost:5173,,",
        }
    )

    assert settings.database_url == "postgresql://app@db.example:5432/voisinage"
    assert settings.data_dir == Path("/srv/voisinage/data")
    assert settings.host == "0.0.0.0"
    assert settings.port == 8080
    assert settings.db_pool_size == 4
    assert settings.log_json is True
    assert settings.graphiql is False
    assert settings.introspection is False
    assert settings.max_neighbourhood_area_km2 == 12.5
    assert settings.max_neighbourhood_area_m2 == 12_500_000
    assert settings.cors_origins == ("https://voisinage.example", "http://localhost:5173")


def test_an_empty_database_url_means_the_embedded_cluster() -> None:
    assert Settings.from_env({"DATABASE_URL": ""}).database_url is None


def test_unknown_variables_are_ignored() -> None:
    assert Settings.from_env({"PATH": "/usr/bin", "VOISINAGE_PORT": "x"}) == Settings()


@pytest.mark.parametrize(
    ("variable", "raw", "complaint"),
    [
        ("PORT", "abc", "is not an integer"),
        ("WORKERS", "1.5", "is not an integer"),
        ("DB_POOL_SIZE", "0", "must be at least 1"),
        ("LOG_JSON", "maybe", "is not a boolean"),
        ("MAX_NEIGHBOURHOOD_AREA_KM2", "huge", "is not a number"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    variable: str, raw: str, complaint: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: raw})

    message = str(raised.value)
    assert message.startswith(f"{variable}=")
    assert complaint in message
    assert "\n" not in message


def test_every_setting_has_a_distinct_variable_and_a_description() -> None:
    variables = [spec.metadata["env"] for spec in fields(Settings)]

    assert len(variables) == len(set(variables))
    assert all(spec.metadata["doc"] for spec in fields(Settings))
    assert [row[0] for row in settings_table()] == variables


def readme_settings_rows() -> dict[str, tuple[str, str, str]]:
    """Rows of the README table headed `| variable | default | meaning |`, by variable."""
    readme = PROJECT_ROOT / "README.md"
    assert readme.exists(), "README.md is missing: it must document the settings"
    rows: dict[str, tuple[str, str, str]] = {}
    in_table = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
        if cells == SETTINGS_HEADER:
            in_table = True
        elif in_table and len(cells) == 3 and not set(cells[0]) <= set("-: "):
            variable, default = (cell.strip("`") for cell in cells[:2])
            rows[variable] = (variable, default, cells[2])
    assert rows, "README.md has no `| variable | default | meaning |` settings table"
    return rows


def test_readme_documents_every_setting_as_the_code_defines_it() -> None:
    documented = readme_settings_rows()

    missing_or_stale = [row for row in settings_table() if documented.get(row[0]) != row]

    assert missing_or_stale == [], (
        "README.md's settings table differs from api.settings.settings_table() for these rows "
        "(variable, default, meaning)"
    )


def test_readme_documents_no_setting_the_code_ignores() -> None:
    known = {row[0] for row in settings_table()}

    assert set(readme_settings_rows()) - known == set()


def test_trusted_proxies_are_a_list_and_none_by_default() -> None:
    assert Settings().forwarded_allow_ips == ()
    parsed = Settings.from_env({"FORWARDED_ALLOW_IPS": "10.0.0.1, 10.1.0.0/16"})
    assert parsed.forwarded_allow_ips == ("10.0.0.1", "10.1.0.0/16")


def test_redis_is_optional_and_must_be_a_redis_url() -> None:
    assert Settings.from_env({"REDIS_URL": ""}).redis_url is None
    url = "redis://127.0.0.1:6379/0"
    assert Settings.from_env({"REDIS_URL": url}).redis_url == url
    with pytest.raises(SettingsError, match="REDIS_URL"):
        Settings.from_env({"REDIS_URL": "http://127.0.0.1:6379"})

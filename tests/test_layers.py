"""The layering `api → services → db → geo`, and "only api/settings.py reads the environment",
as tests.

Both rules are checked on the syntax tree of every module (imports inside functions and
`TYPE_CHECKING` blocks included), so they hold before any code path is exercised.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.settings import PROJECT_ROOT

LAYERS = ("geo", "db", "services", "api")
GEO_THIRD_PARTY = frozenset({"shapely", "h3", "pyproj"})
DB_FORBIDDEN = frozenset({"api", "services", "strawberry", "starlette", "graphql"})
SERVICES_FORBIDDEN = frozenset({"api", "strawberry", "starlette", "graphql"})
ENV_READER = "api/settings.py"
ENV_WRITER = "api/cli.py"  # sets DATABASE_URL for the uvicorn workers it spawns


@dataclass(frozen=True)
class Module:
    path: Path
    name: str
    tree: ast.Module

    @property
    def relative(self) -> str:
        return self.path.relative_to(PROJECT_ROOT).as_posix()


def load(path: Path) -> Module:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return Module(path=path, name=".".join(parts), tree=tree)


def modules(layer: str) -> list[Module]:
    return [load(path) for path in sorted((PROJECT_ROOT / layer).rglob("*.py"))]


def imported_names(module: Module) -> set[str]:
    """Absolute dotted names of everything the module imports; relative imports are resolved."""
    is_package = module.path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.name.split(".")
                keep = len(package) - node.level + (1 if is_package else 0)
                base = ".".join(package[:keep])
                names.add(f"{base}.{node.module}" if node.module else base)
            else:
                assert node.module is not None
                names.add(node.module)
    return names


def top_level(name: str) -> str:
    return name.split(".", 1)[0]


def geo_violations(module: Module) -> list[str]:
    allowed = set(sys.stdlib_module_names) | GEO_THIRD_PARTY | {"geo", "__future__"}
    return sorted(name for name in imported_names(module) if top_level(name) not in allowed)


def db_violations(module: Module) -> list[str]:
    return sorted(name for name in imported_names(module) if top_level(name) in DB_FORBIDDEN)


def services_violations(module: Module) -> list[str]:
    return sorted(name for name in imported_names(module) if top_level(name) in SERVICES_FORBIDDEN)


def environment_accesses(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, kind) of every use of the process environment; kind is "write" or "read".

    Only `os.environ[...] = value` is a write; anything else that touches `os.environ`,
    `os.environb`, `os.getenv`, `os.putenv` or `from os import environ/getenv` counts as a read.
    """
    os_aliases = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_aliases.update(alias.asname or "os" for alias in node.names if alias.name == "os")
    env_attributes = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
    writes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            target = node.value
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "environ"
                and isinstance(target.value, ast.Name)
                and target.value.id in os_aliases
            ):
                writes.add(id(target))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in env_attributes for alias in node.names):
                found.append((node.lineno, "read"))
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in env_attributes
            and isinstance(node.value, ast.Name)
            and node.value.id in os_aliases
        ):
            found.append((node.lineno, "write" if id(node) in writes else "read"))
    return sorted(found)


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_has_modules_to_check(layer: str) -> None:
    assert len(modules(layer)) >= 3


def test_relative_imports_are_resolved_to_absolute_names() -> None:
    module = Module(
        path=PROJECT_ROOT / "db" / "queries" / "households.py",
        name="db.queries.households",
        tree=ast.parse("from . import neighbourhoods\nfrom ..models import Base\nimport h3\n"),
    )

    assert imported_names(module) == {"db.queries", "db.models", "h3"}


def test_geo_checker_flags_database_and_web_imports() -> None:
    source = (
        "import math\nimport shapely\nfrom sqlalchemy import text\n"
        "def f():\n    from api.settings import Settings\n"
    )
    module = Module(path=PROJECT_ROOT / "geo" / "x.py", name="geo.x", tree=ast.parse(source))

    assert geo_violations(module) == ["api.settings", "sqlalchemy"]


def test_geo_imports_only_stdlib_shapely_h3_and_pyproj() -> None:
    violations = {m.relative: v for m in modules("geo") if (v := geo_violations(m))}

    assert violations == {}, f"geo/ must stay pure (no I/O, no web, no SQL): {violations}"


def test_db_never_imports_services_api_or_graphql_libraries() -> None:
    violations = {m.relative: v for m in modules("db") if (v := db_violations(m))}

    assert violations == {}, f"db/ must not reach up into services or the API: {violations}"


def test_services_never_import_api_or_web_libraries() -> None:
    violations = {m.relative: v for m in modules("services") if (v := services_violations(m))}

    assert violations == {}, f"services/ must not reach up into the API layer: {violations}"


def test_environment_checker_tells_writes_from_reads() -> None:
    source = (
        "import os\nimport os as system\nfrom os import getenv\n"
        "os.environ['A'] = 'x'\n"
        "b = os.environ.get('B')\n"
        "c = system.getenv('C')\n"
        "d = dict(os.environ)\n"
    )

    assert environment_accesses(ast.parse(source)) == [
        (3, "read"),
        (4, "write"),
        (5, "read"),
        (6, "read"),
        (7, "read"),
    ]


def test_only_settings_reads_the_environment() -> None:
    readers = {
        module.relative: lines
        for layer in LAYERS
        for module in modules(layer)
        if module.relative != ENV_READER
        and (
            lines := [
                line
                for line, kind in environment_accesses(module.tree)
                if kind == "read" or module.relative != ENV_WRITER
            ]
        )
    }

    assert readers == {}, (
        f"read settings through api.settings.Settings.from_env, not os.environ: {readers}"
    )


def test_settings_module_is_where_the_environment_is_read() -> None:
    kinds = {kind for _, kind in environment_accesses(load(PROJECT_ROOT / ENV_READER).tree)}

    assert kinds == {"read"}

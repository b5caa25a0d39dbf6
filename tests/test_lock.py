"""The lock (requirements/*.txt) covers what pyproject.toml asks for, with hashes, and agrees with it.

The bootstrap installs the lock and then the project with `--no-deps`: a dependency added to
pyproject.toml but not to the lock would otherwise just be missing (or whatever version happened to
be installed). `make bootstrap` runs this module too (`python -m tests.test_lock`), so a stale lock
stops `make run` and `make test` at once, naming the fix: `make lock`.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
REACHED_INSIDE = (
    "strawberry-graphql",
    "graphql-core",
    "uvicorn",
    "starlette",
    "sqlalchemy",
    "psycopg",
    "psycopg-pool",
)
"""Libraries whose internals the code touches: pinned exactly in pyproject.toml, bumped on purpose."""
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    version: str
    hashed: bool


def locked(path: Path) -> dict[str, Pin]:
    """`name==version` lines of a pip-compile output (continuations joined, comments dropped)
    that apply here, keyed by canonical name."""
    logical = re.sub(r"\\\n", " ", path.read_text())
    pins: dict[str, Pin] = {}
    for line in logical.splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        spec = re.sub(r"\s--hash=\S+", "", text).strip()
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pins[canonicalize_name(requirement.name)] = Pin(
            version=specifier.version, hashed=bool(HASH.search(text))
        )
    return pins


def declared(pyproject: Path = PYPROJECT) -> tuple[list[Requirement], list[Requirement]]:
    """pyproject.toml's runtime dependencies and its dev extra, as they apply on this platform."""
    project = tomllib.loads(pyproject.read_text())["project"]

    def applicable(specs: list[str]) -> list[Requirement]:
        requirements = [Requirement(spec) for spec in specs]
        return [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]

    dev = project.get("optional-dependencies", {}).get("dev", [])
    return applicable(project["dependencies"]), applicable(dev)


def extra_requirements(requirement: Requirement) -> list[Requirement]:
    """What the extras of `requirement` add (uvicorn[standard]: uvloop, httptools...), read from
    the installed distribution; none when it is not installed."""
    try:
        specs = importlib.metadata.requires(requirement.name) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    added = []
    for spec in map(Requirement, specs):
        for extra in requirement.extras:
            if spec.marker is not None and spec.marker.evaluate({"extra": extra}):
                added.append(spec)
                break
    return added


def problems(
    pyproject: Path = PYPROJECT, runtime_lock: Path = RUNTIME_LOCK, dev_lock: Path = DEV_LOCK
) -> list[str]:
    """One line per disagreement between pyproject.toml and the lock; none when they agree."""
    runtime_pins, dev_pins = locked(runtime_lock), locked(dev_lock)
    runtime, dev = declared(pyproject)
    found = []
    for requirements, pins, lock in (
        (runtime, runtime_pins, runtime_lock.name),
        (runtime + dev, dev_pins, dev_lock.name),
    ):
        for requirement in requirements:
            pin = pins.get(canonicalize_name(requirement.name))
            if pin is None:
                found.append(f"{requirement} is in pyproject.toml but not in {lock}")
            elif not requirement.specifier.contains(pin.version, prereleases=True):
                found.append(f"{requirement} is in pyproject.toml but {lock} has {pin.version}")
            else:
                found += [
                    f"{extra} (for {requirement}) is not in {lock}"
                    for extra in extra_requirements(requirement)
                    if canonicalize_name(extra.name) not in pins
                ]
    for name, pin in runtime_pins.items():
        in_dev = dev_pins.get(name)
        if in_dev is not None and in_dev.version != pin.version:
            found.append(f"{name}: {pin.version} in runtime.txt but {in_dev.version} in dev.txt")
    for lock, pins in ((runtime_lock.name, runtime_pins), (dev_lock.name, dev_pins)):
        found += [f"{name} has no hash in {lock}" for name, pin in pins.items() if not pin.hashed]
    return found


def test_the_lock_covers_pyproject_with_hashes_and_one_version_each() -> None:
    assert problems() == [], "run `make lock`"


def test_libraries_whose_internals_the_code_touches_are_pinned_exactly() -> None:
    runtime, _ = declared()
    by_name = {r.name.lower(): r for r in runtime}
    for name in REACHED_INSIDE:
        assert name in by_name, f"{name} is no longer a direct dependency"
        (specifier,) = by_name[name].specifier
        assert specifier.operator == "==", f"{by_name[name]}: pin it exactly"


def test_a_dependency_the_lock_lacks_or_pins_otherwise_is_named(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["orjson>=3", "not-locked>=1"]\n'
        '[project.optional-dependencies]\ndev = ["pytest<1"]\n'
    )

    assert problems(pyproject) == [
        "not-locked>=1 is in pyproject.toml but not in runtime.txt",
        "not-locked>=1 is in pyproject.toml but not in dev.txt",
        f"pytest<1 is in pyproject.toml but dev.txt has {locked(DEV_LOCK)['pytest'].version}",
    ]


def test_a_pin_without_hash_is_named(tmp_path: Path) -> None:
    lock = tmp_path / "runtime.txt"
    lock.write_text("orjson==3.13.0\n    # via voisinage (pyproject.toml)\n")

    assert problems(runtime_lock=lock)[-1] == "orjson has no hash in runtime.txt"


def main() -> int:
    found = problems()
    for problem in found:
        print(f"lock: {problem}", file=sys.stderr)
    if found:
        print("lock: requirements/ is stale: run `make lock`, then commit it", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

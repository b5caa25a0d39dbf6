# Two commands do everything: `make run` serves the API with demo data, `make test` checks it.
# Each bootstraps what is missing (system packages, virtualenv, Python dependencies) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
# The lock (pip-compile --generate-hashes, README "Tests and benchmarks"): runtime.txt for the
# image, dev.txt (runtime + dev tools, same versions) for this virtualenv.
LOCKS := requirements/runtime.txt requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCKS) 2>/dev/null | cksum | cut -d' ' -f1)
# Locks are resolved against PyPI alone, whatever mirror or wheel directory this machine's pip
# is configured with, so that their hashes hold everywhere (the Docker build included).
LOCK_INDEX ?= https://pypi.org/simple
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links --index-url $(LOCK_INDEX)

.PHONY: run test check lint typecheck pytest pytest-stock schema bootstrap clean bench bench-deps \
	lock upgrade web web-deps web-check

bootstrap: $(STAMP)

# Installs exactly the lock (every file checked against its hash), then the project itself without
# dependencies; `pip check` and tests/test_lock.py then fail loudly when pyproject.toml asks for
# something the lock lacks or pins otherwise (run `make lock`), rather than letting it drift.
$(STAMP): pyproject.toml $(LOCKS) scripts/bootstrap-system.sh
	@scripts/bootstrap-system.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --require-hashes -r requirements/dev.txt
	@$(PIP) install -q --no-deps --no-build-isolation -e .
	@$(PIP) check >/dev/null || { $(PIP) check; echo "bootstrap: pyproject.toml and requirements/ disagree: run make lock" >&2; exit 1; }
	@$(BIN)/python -m tests.test_lock
	@rm -f $(VENV)/.installed-*
	@touch $@

# Recompiles the lock after a change to pyproject.toml's dependencies, keeping every other pin.
lock: $(BIN)/pip-compile
	$(PIP_COMPILE) $(LOCK_FLAGS) --build-deps-for wheel -o requirements/runtime.txt pyproject.toml
	$(PIP_COMPILE) $(LOCK_FLAGS) --build-deps-for editable --extra dev -c requirements/runtime.txt \
		-o requirements/dev.txt pyproject.toml

# Every dependency to its newest release pyproject.toml allows, then every check on the result.
upgrade: $(BIN)/pip-compile
	$(MAKE) lock LOCK_FLAGS=--upgrade
	$(MAKE) test

# pip-tools as locked, for a clone whose lock is too stale to bootstrap.
$(BIN)/pip-compile:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install -q "$$(grep -o '^pip-tools==[^ ]*' requirements/dev.txt || echo pip-tools)"

# REPLICA=1 make run: also a hot standby of the embedded cluster, serving queries' reads
# (python -m api serve --replica; docs/scale.md).
run: bootstrap web
	$(BIN)/python -m api serve $(if $(REPLICA),--replica)

# The web client (web/, docs/web.md), which `python -m api serve` serves at /: Chromium for its
# end-to-end tests and its npm packages as locked (scripts/bootstrap-web.sh), then web/dist.
WEB_STAMP := web/node_modules/.installed-$(shell cat web/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)

web-deps: $(WEB_STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json scripts/bootstrap-web.sh
	@scripts/bootstrap-web.sh
	@rm -f web/node_modules/.installed-*
	@touch $@

web: web-deps
	@cd web && npm run --silent build -- --logLevel warn

# Operations checked against ../schema.graphql (gql.tada), Svelte and TypeScript, unit tests.
web-check: web-deps
	@cd web && npm run --silent check && npx vitest run --silent

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: bootstrap
	$(BIN)/mypy api db geo seeds bench tests services

pytest: bootstrap web
	$(BIN)/pytest

# The API on the libraries' stock paths (FAST_PATHS=off: no api/fastpaths, no db/fastpaths): the
# searches, nested fields, errors, cost refusals and statement counts of tests/api. Every other
# resolver shape is compared byte for byte between both modes by tests/test_fast_paths_parity.py,
# which `pytest` runs. Under half a minute; `make pytest-stock STOCK_TESTS=tests/api` runs all
# of tests/api that way.
STOCK_TESTS := tests/api/test_bad_input.py tests/api/test_search_statements.py

pytest-stock: bootstrap
	$(BIN)/pytest --fast-paths=off $(STOCK_TESTS)

# The static checks run side by side (ruff, mypy and the web checks each use one core), after
# the installs they share; then the suites.
test: bootstrap web-deps
	@$(MAKE) --no-print-directory -j3 lint typecheck web-check
	@$(MAKE) --no-print-directory pytest pytest-stock

schema: bootstrap
	$(BIN)/python -m api export-schema

# Load generator (wrk, Debian) and sampling profiler for `python -m bench proximity`; without
# them it falls back to httpx and cProfile, with a warning.
bench-deps: bootstrap
	@command -v wrk >/dev/null || { [ "$$(id -u)" -eq 0 ] && { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }; } || echo "bench: no wrk (apt-get install wrk), using httpx" >&2
	@$(BIN)/python -c 'import pyinstrument' 2>/dev/null || $(BIN)/python -m pip install -q --disable-pip-version-check pyinstrument || echo "bench: no pyinstrument, using cProfile" >&2

bench: bench-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

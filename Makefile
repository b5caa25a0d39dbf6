# Two commands do everything: `make run` serves the API with demo data, `make test` checks it.
# Each bootstraps what is missing (system packages, virtualenv, Python dependencies) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test check lint typecheck pytest schema bootstrap clean bench bench-deps

bootstrap: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap-system.sh
	@scripts/bootstrap-system.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: bootstrap
	$(BIN)/python -m api serve

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: bootstrap
	$(BIN)/mypy api db geo seeds bench tests

pytest: bootstrap
	$(BIN)/pytest

test: lint typecheck pytest

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

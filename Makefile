# Two commands do everything: `make run` serves the API with demo data, `make test` checks it.
# Each bootstraps what is missing (system packages, virtualenv, Python dependencies) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test check lint typecheck pytest schema bootstrap clean bench

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

bench: bootstrap
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The two commands the README promises: `make run` and `make test`. Each sets itself up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install bytecode run lint types check test test-deps bench clean

$(STAMP): pyproject.toml
	ICU_ONLY=1 sh scripts/install-test-deps.sh
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	$(MAKE) -s bytecode
	touch $(STAMP)

# What `pip install` does for a package that is not editable: every module compiled once, so no command
# compiles ~30 modules on each start (0.08 s of CPU a command here, where PYTHONDONTWRITEBYTECODE is set).
# Python still compiles a module whose source is newer than its .pyc, in memory.
bytecode:
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m compileall -q src > /dev/null

install: $(STAMP)

run: install
	$(BIN)/pledgegraph build

# Lint and format (ruff, configured in pyproject.toml) and types (mypy, its `files` in pyproject.toml).
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: install
	$(BIN)/mypy

# The fast tier, for every edit: no root, no services, no browser (tiers are decided in tests/conftest.py),
# in two processes (pytest-xdist): one per core of the 2-core machine it is measured on.
check: lint types
	$(BIN)/python -m pytest -n 2 -m "not slow and not service and not browser"

# System packages for the integration tests (Virtuoso, Chromium); installs only what is missing.
test-deps:
	sh scripts/install-test-deps.sh

# The whole suite, in two processes; a test module stays in one (--dist loadfile: its fixtures, such as
# a module's Virtuoso or server, start once).
test: install test-deps lint types
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The benchmark (long: ~30-40 min; not part of `make test`). Results: bench/results/, docs/performance.md.
# LinkML is an optional extra: when it does not install, the bench runs without the comparison.
bench: install bytecode
	$(BIN)/python -m pip install -q -e ".[test,bench]" || echo "LinkML did not install: no LinkML comparison"
	$(BIN)/python -m bench --readme

clean:
	rm -rf dist $(VENV) .pytest_cache
